"""Login lockout from the audit log's own failed-login rows.

Reading the audit log (not process memory) makes the count hold across gunicorn workers and
restarts. A username locks after `max_failures` failures within the window since its last good
login; an address after four times as many (one client guessing many usernames). A locked
login is refused even with the right password, so guessing learns nothing while it lasts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from placecode.db.schema import audit_log

ADDRESS_FACTOR = 4


def locked_until(conn: Connection, username: str, address: str, now: datetime,
                 max_failures: int, window_minutes: int) -> datetime | None:
    """When this username or address may try again, or None if it may now."""
    window = timedelta(minutes=window_minutes)
    a = audit_log.c
    since = now - window
    last_login = conn.execute(select(func.max(a.ts)).where(
        a.ts > since, a.action == "login", a.username == username[:64])).scalar()
    user_since = max(since, datetime.fromisoformat(str(last_login))) if last_login else since
    checks = [(a.username == username[:64], user_since, max_failures)]
    if address:
        checks.append((a.detail == address, since, max_failures * ADDRESS_FACTOR))
    until = None
    for who, start, limit in checks:
        failures = conn.execute(select(a.ts).where(a.ts > start, a.action == "login_failed", who)
                                .order_by(a.ts.desc()).limit(limit)).scalars().all()
        if len(failures) >= limit:
            opens = datetime.fromisoformat(str(failures[-1])) + window
            until = opens if until is None else max(until, opens)
    return until
