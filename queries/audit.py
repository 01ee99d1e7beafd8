"""The audit log for the admin: filtered reads, counts by kind, and an export that is itself
audited. Nobody else reads it (it names who looked at whom)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import Engine, case, func, or_, select

from placecode.auth.audit import record
from placecode.auth.policy import Viewer, require
from placecode.db.schema import audit_log
from placecode.i18n import UserError

COLUMNS = ["ts", "username", "action", "subject", "reason", "detail"]
# What an auditor asks first: who looked at persons, what left the system, what was refused.
KINDS = {
    "persons": ("trace", "trace_contacts_shown", "unmask", "put_under_management"),
    "exports": None,  # every action starting with "export"
    "changes": ("rules_change", "test_plan_create", "test_batch_notify", "purge"),
    "refused": ("scope_refused", "csrf_refused", "login_failed", "login_locked",
                "wall_login_failed"),
}
MAX_EXPORT = 1_000_000


@dataclass(frozen=True)
class AuditFilter:
    since: date | None = None
    until: date | None = None  # inclusive
    username: str = ""
    action: str = ""
    text: str = ""  # in subject, reason or detail


class AuditFilterError(UserError, ValueError):
    """A filter that cannot be applied; the message says which field."""


def _check(scope: Viewer) -> None:
    require(scope, "audit")


def _where(f: AuditFilter) -> list:
    if f.since and f.until and f.until < f.since:
        raise AuditFilterError("audit_until_before")
    a = audit_log.c
    out = []
    if f.since:
        out.append(a.ts >= datetime.combine(f.since, time()))
    if f.until:
        out.append(a.ts < datetime.combine(f.until + timedelta(days=1), time()))
    if f.username.strip():
        out.append(a.username == f.username.strip())
    if f.action.strip():
        out.append(a.action == f.action.strip())
    if f.text.strip():
        like = f"%{f.text.strip()}%"
        out.append(or_(a.subject.like(like), a.reason.like(like), a.detail.like(like)))
    return out


def _kind(column, kind: str):
    names = KINDS[kind]
    return column.like("export%") if names is None else column.in_(names)


def entries(engine: Engine, scope: Viewer, f: AuditFilter, limit: int = 2000
            ) -> tuple[pd.DataFrame, int]:
    """The newest `limit` rows matching `f`, and how many match in all."""
    _check(scope)
    where = _where(f)
    a = audit_log.c
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(audit_log).where(*where)).scalar()
        rows = conn.execute(select(*(a[c] for c in COLUMNS)).where(*where)
                            .order_by(a.ts.desc(), a.id.desc()).limit(limit)).all()
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"])
    return frame, int(total)


def counts(engine: Engine, scope: Viewer, f: AuditFilter) -> dict[str, int]:
    """Rows matching `f` by kind (KINDS), one query."""
    _check(scope)
    a = audit_log.c
    query = select(*(func.coalesce(func.sum(case((_kind(a.action, k), 1), else_=0)), 0).label(k)
                     for k in KINDS)).where(*_where(f))
    with engine.connect() as conn:
        return dict(conn.execute(query).one()._mapping)


def actions(engine: Engine, scope: Viewer) -> list[str]:
    _check(scope)
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log.c.action).distinct()
                                 .order_by(audit_log.c.action)).scalars())


def export(engine: Engine, scope: Viewer, f: AuditFilter, username: str, user_id: int | None,
           now: datetime) -> pd.DataFrame:
    """Every row matching `f` (up to MAX_EXPORT), oldest first; the export is audited too."""
    _check(scope)
    a = audit_log.c
    with engine.begin() as conn:
        rows = conn.execute(select(*(a[c] for c in COLUMNS)).where(*_where(f))
                            .order_by(a.ts, a.id).limit(MAX_EXPORT)).all()
        record(conn, "export_audit", user_id=user_id, username=username,
               subject=f"{len(rows)} rows",
               detail=", ".join(f"{k}={v}" for k, v in vars(f).items() if v), now=now)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"])
    return frame
