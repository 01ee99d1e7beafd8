"""The audit log: who did or looked at what, when and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert

from placecode.clock import city_now
from placecode.db.schema import audit_log


def record(
    conn: Connection,
    action: str,
    *,
    user_id: int | None = None,
    username: str = "",
    subject: str = "",
    reason: str = "",
    detail: str = "",
    now: datetime | None = None,
) -> None:
    """Append one audit row in the caller's transaction (it commits or rolls back with the act)."""
    conn.execute(insert(audit_log).values(
        ts=now or city_now(), user_id=user_id, username=username or "-", action=action,
        subject=subject, reason=reason, detail=detail,
    ))
