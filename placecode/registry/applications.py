"""A venue operator applies for a code; the venue's district approves (the venue is made and
its code issued) or refuses with a reason. Both decisions are audit-logged, and only a pending
application can be decided, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from placecode.auth.audit import record
from placecode.auth.policy import Viewer, require_district
from placecode.db import schema as t
from placecode.i18n import UserError
from placecode.ingest.validate import text_problem
from placecode.registry.codes import LETTERS, MOBILE, locate, next_code, subdistricts

PHONE = re.compile(r"^\+?\d[\d -]{5,18}\d$")
REASON_MIN = 4
LIMITS = {"name": 128, "address": 200, "contact_name": 32, "contact_phone": 20}


class ApplicationError(UserError):
    """A form field is missing or wrong, or the application cannot be decided (any more)."""

    def __init__(self, key: str, /, field: str = "", **params):
        super().__init__(key, **params)
        self.field = field


@dataclass(frozen=True)
class Application:
    name: str
    kind: str
    address: str
    lon: float
    lat: float
    contact_name: str
    contact_phone: str


def read_form(form: dict[str, Any]) -> Application:
    """The application from a submitted form, or an ApplicationError naming the first bad field."""
    values: dict[str, Any] = {}
    for name, limit in LIMITS.items():
        text = str(form.get(name) or "").strip()
        if not text:
            raise ApplicationError(f"apply_missing_{name}", field=name)
        if len(text) > limit or text_problem(text):
            raise ApplicationError("apply_too_long", field=name, n=limit)
        values[name] = text
    if not PHONE.match(values["contact_phone"]):
        raise ApplicationError("apply_bad_phone", field="contact_phone")
    kind = str(form.get("kind") or "")
    if kind not in LETTERS:
        raise ApplicationError("apply_bad_kind", field="kind")
    try:
        lon, lat = float(form.get("lon")), float(form.get("lat"))
    except (TypeError, ValueError):
        raise ApplicationError("apply_no_point", field="lon") from None
    if not (np.isfinite(lon) and np.isfinite(lat)):
        raise ApplicationError("apply_no_point", field="lon")
    return Application(kind=kind, lon=round(lon, 6), lat=round(lat, 6), **values)


def submit(engine: Engine, application: Application, now: datetime) -> int:
    """Store a pending application in the district its point lies in; returns its number."""
    with engine.begin() as conn:
        district, subdistrict = locate(subdistricts(conn), np.array([application.lon]),
                                       np.array([application.lat]))
        if district[0] < 0:
            raise ApplicationError("apply_outside_city", field="lon")
        return conn.execute(insert(t.venue_applications).values(
            **application.__dict__, district_id=int(district[0]),
            subdistrict_id=int(subdistrict[0]), state="pending", reason="",
            submitted_at=now)).inserted_primary_key[0]


def _pending(conn, viewer: Viewer, application_id: int):
    a = t.venue_applications
    row = conn.execute(select(a).where(a.c.id == application_id)).first()
    if row is None:
        raise ApplicationError("apply_unknown", n=application_id)
    require_district(viewer, "register_venues", row.district_id)
    if row.state != "pending":
        raise ApplicationError("apply_decided", n=application_id, state=row.state)
    return row


def _decide(conn, application_id: int, values: dict) -> None:
    a = t.venue_applications
    done = conn.execute(update(a).where(a.c.id == application_id, a.c.state == "pending")
                        .values(**values)).rowcount
    if not done:  # another reviewer decided it meanwhile
        raise ApplicationError("apply_decided", n=application_id, state="decided")


def approve(engine: Engine, viewer: Viewer, application_id: int, *, username: str,
            user_id: int | None, now: datetime) -> str:
    """Make the venue and issue its code (the next free one of its district and kind)."""
    for _attempt in range(3):  # two approvals racing for the same next number: the loser retries
        try:
            with engine.begin() as conn:
                row = _pending(conn, viewer, application_id)
                code = next_code(conn, row.district_id, row.kind)
                venue_id = conn.execute(insert(t.venues).values(
                    code=code, name=row.name, kind=row.kind, district_id=row.district_id,
                    subdistrict_id=row.subdistrict_id, lon=row.lon, lat=row.lat,
                    mobile=row.kind in MOBILE)).inserted_primary_key[0]
                _decide(conn, application_id, {"state": "approved", "venue_id": venue_id,
                                               "decided_at": now, "decided_by": username})
                record(conn, "venue_approved", user_id=user_id, username=username,
                       subject=f"application {application_id} venue {code}",
                       detail=row.name[:100], now=now)
                return code
        except IntegrityError:
            continue
    raise ApplicationError("apply_busy", n=application_id)


def refuse(engine: Engine, viewer: Viewer, application_id: int, reason: str, *, username: str,
           user_id: int | None, now: datetime) -> None:
    """Refuse with a reason the operator is told."""
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN or text_problem(reason):
        raise ApplicationError("apply_reason_short", field="reason", n=REASON_MIN)
    with engine.begin() as conn:
        row = _pending(conn, viewer, application_id)
        _decide(conn, application_id, {"state": "refused", "reason": reason[:300],
                                       "decided_at": now, "decided_by": username})
        record(conn, "venue_refused", user_id=user_id, username=username,
               subject=f"application {application_id}", reason=reason[:300],
               detail=row.name[:100], now=now)
