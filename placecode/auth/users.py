"""Users with argon2 password hashes and roles from DESIGN.md."""

from __future__ import annotations

import os
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, func, insert, select, update
from zxcvbn import zxcvbn

from placecode.clock import city_now
from placecode.db.schema import ROLES, districts, users

MIN_PASSWORD_LENGTH = 10
MIN_PASSWORD_SCORE = 3  # zxcvbn's 0–4: 3 is 'safely unguessable' (10^8+ guesses)
_hasher = PasswordHasher()


class UserError(ValueError):
    """A user cannot be created as asked; the message names the field."""


@dataclass(frozen=True)
class User:
    """The logged-in user as flask-login and the scope checks see it."""

    id: int
    username: str
    role: str
    district_id: int | None

    # flask-login protocol
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


@dataclass(frozen=True)
class WallUser(User):
    """A wall display logged in by a wall token: read-only, the wall only, scoped like the token.
    Its session id names the token, so revoking the token ends the session."""

    def get_id(self) -> str:
        return f"wall:{self.id}"


def normalise_username(name: str) -> str:
    """The one form a username is stored, looked up and locked out under: NFKC (full-width
    letters and spaces, NBSP → plain), trimmed of every kind of space, case-folded. Without it
    `victim ` or `ｖｉｃｔｉｍ` would be fresh guesses on a locked account, and `Admin` could be
    created beside `admin`."""
    return unicodedata.normalize("NFKC", name[:256]).strip().casefold()


def check_password_policy(password: str) -> None:
    """At least MIN_PASSWORD_LENGTH characters that zxcvbn (dictionaries of common passwords,
    names, keyboard walks, repeats) rates hard to guess: `password12` or ten spaces and a digit
    are long enough and still fall in seconds."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if password.isdigit() or password.isalpha():
        raise UserError("password: mix letters with digits or symbols")
    rating = zxcvbn(password[:100])  # its cost grows with length; 100 characters decide
    if rating["score"] < MIN_PASSWORD_SCORE:
        why = rating["feedback"].get("warning") or "it is easy to guess"
        raise UserError(f"password: too easy to guess ({why.rstrip('.')}); use a few "
                        "unrelated words with digits or symbols")


def create_user(
    conn: Connection,
    username: str,
    role: str,
    password: str,
    district_id: int | None = None,
    now: datetime | None = None,
) -> User:
    """Store a new user; raises UserError naming the field that is wrong."""
    username = normalise_username(username)
    plain = username.replace("_", "").replace("-", "")
    if not username or len(username) > 64 or not plain.isalnum():
        raise UserError("username: 1–64 letters, digits, '-' or '_'")
    if role not in ROLES:
        raise UserError(f"role {role!r}: choose one of {', '.join(ROLES)}")
    if role == "district_commander" and district_id is None:
        raise UserError("district: a district_commander needs --district ID")
    if district_id is not None:
        known = conn.execute(select(districts.c.id).where(districts.c.id == district_id)).first()
        if known is None:
            raise UserError(f"district {district_id}: no such district in this database")
    check_password_policy(password)
    taken = conn.execute(select(users.c.id).where(
        func.lower(users.c.username) == username)).first()  # rows from before normalising
    if taken:
        raise UserError(f"username {username!r} exists already")
    uid = conn.execute(insert(users).values(
        username=username, password_hash=_hasher.hash(password), role=role,
        district_id=district_id, active=True, created_at=now or city_now(),
    )).inserted_primary_key[0]
    return User(uid, username, role, district_id)


def set_password(conn: Connection, username: str, password: str) -> int:
    """Give a user a new password and end every session of theirs (a stolen session dies with
    the old password). Returns how many sessions ended; raises UserError."""
    from placecode.auth.sessions import end_all

    name = normalise_username(username)
    row = conn.execute(select(users.c.id).where(func.lower(users.c.username) == name)).first()
    if row is None:
        raise UserError(f"username {name!r}: no such user")
    check_password_policy(password)
    conn.execute(update(users).where(users.c.id == row.id)
                 .values(password_hash=_hasher.hash(password)))
    return end_all(conn, row.id)


def authenticate(
    conn: Connection, username: str, password: str, now: datetime | None = None
) -> User | None:
    """The user if the password matches an active account, else None (same answer for both)."""
    row = conn.execute(select(users).where(
        func.lower(users.c.username) == normalise_username(username))).first()
    if row is None or not row.active:
        _hasher.hash(password)  # same cost whether or not the user exists
        return None
    try:
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    conn.execute(update(users).where(users.c.id == row.id).values(last_login_at=now or city_now()))
    return User(row.id, row.username, row.role, row.district_id)


def load_user(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None or not row.active:
        return None
    return User(row.id, row.username, row.role, row.district_id)


def random_password() -> str:
    return secrets.token_urlsafe(12) + "-7"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (0600), replacing any old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def ensure_admin(engine: Engine, instance: Path) -> str | None:
    """On first run create `admin` with a random password, written to a 0600 file in `instance`.

    Returns the message to print, or None when any user exists already.
    """
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(users)).scalar_one():
            return None
        password = random_password()
        create_user(conn, "admin", "admin", password)
    path = instance / "admin-password.txt"
    write_private(path, f"admin {password}\n")
    return f"created user admin with password {password} (also in {path}, mode 0600)"
