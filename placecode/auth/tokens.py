"""API tokens for machines: scanning devices, feed senders, partners and wall displays.

A token is shown once when issued; only its SHA-256 is stored. (A fast hash is right here: the
token is 256 random bits, not a guessable password, and the scan path checks one per request.)
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from placecode.db.schema import api_tokens, districts

KINDS = ("device", "feed", "partner", "wall")


class TokenError(ValueError):
    """A token cannot be issued or revoked as asked; the message says why."""


@dataclass(frozen=True)
class Token:
    id: int
    kind: str
    name: str
    district_id: int | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(conn: Connection, kind: str, name: str, district_id: int | None,
                now: datetime) -> tuple[Token, str]:
    """Store a new token; returns it and its secret text (shown once, never stored)."""
    if kind not in KINDS:
        raise TokenError(f"unknown token kind {kind!r}; use one of {', '.join(KINDS)}")
    if district_id is not None and conn.execute(
            select(districts.c.id).where(districts.c.id == district_id)).first() is None:
        raise TokenError(f"district {district_id} does not exist")
    secret = f"pc_{kind}_{secrets.token_urlsafe(32)}"
    token_id = conn.execute(insert(api_tokens).values(
        kind=kind, name=name, district_id=district_id, token_hash=digest(secret),
        created_at=now)).inserted_primary_key[0]
    return Token(token_id, kind, name, district_id), secret


def revoke_token(conn: Connection, token_id: int, now: datetime) -> None:
    done = conn.execute(update(api_tokens)
                        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                        .values(revoked_at=now)).rowcount
    if not done:
        raise TokenError(f"no active token with id {token_id}")


def _active(conn: Connection, condition) -> Token | None:
    row = conn.execute(select(api_tokens).where(
        condition, api_tokens.c.revoked_at.is_(None))).first()
    return Token(row.id, row.kind, row.name, row.district_id) if row else None


def verify_token(conn: Connection, secret: str) -> Token | None:
    """The active token with this secret, or None (unknown and revoked look the same)."""
    return _active(conn, api_tokens.c.token_hash == digest(secret))


def load_token(conn: Connection, token_id: int) -> Token | None:
    """The token with this id while it is active (a wall's session ends when it is revoked)."""
    return _active(conn, api_tokens.c.id == token_id)
