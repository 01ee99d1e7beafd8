"""Logins kept in the database: the signed session cookie carries a random session id, and a
request is logged in only while that id's row exists and has not expired. Logout deletes the
row; a password change deletes every row of the user, and a deactivated user is not loaded at
all. Only a hash of the id is stored, so a read of the table gives no usable session."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select

from placecode.db.schema import login_sessions

s = login_sessions.c


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start(conn: Connection, user_id: int, now: datetime, hours: int) -> str:
    """A new session id for `user_id`, valid for `hours`; expired rows go at the same time."""
    conn.execute(delete(login_sessions).where(s.expires_at <= now))
    sid = secrets.token_urlsafe(32)
    conn.execute(insert(login_sessions).values(
        sid_hash=_hash(sid), user_id=user_id, created_at=now,
        expires_at=now + timedelta(hours=hours)))
    return sid


def alive(conn: Connection, sid: object, user_id: int, now: datetime) -> bool:
    """Whether `sid` is a live session of `user_id`."""
    if not isinstance(sid, str) or not sid:
        return False
    return conn.execute(select(s.user_id).where(
        s.sid_hash == _hash(sid), s.user_id == user_id, s.expires_at > now)).first() is not None


def end(conn: Connection, sid: object) -> None:
    if isinstance(sid, str) and sid:
        conn.execute(delete(login_sessions).where(s.sid_hash == _hash(sid)))


def end_all(conn: Connection, user_id: int) -> int:
    """End every session of a user (password changed, account deactivated); how many ended."""
    return conn.execute(delete(login_sessions).where(s.user_id == user_id)).rowcount
