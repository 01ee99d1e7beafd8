"""The morning roll-call of a district's field forces (seed 000: the operations center checks the
forces of its sub-districts every day): open it once per district and day, each staff member
answers present (with a position) or absent (with a reason) from a phone, and the board counts
per sub-district who is expected, present, absent and not yet answered."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy import Connection, insert, select, update

from placecode.db import schema as t
from placecode.i18n import UserError

REASON_MIN = 2  # "病假" is a reason


class RollCallError(UserError, ValueError):
    """A refused answer or opening; the message says what to do."""


def open_roll_call(conn: Connection, district_id: int, day: date, who: str,
                   now: datetime) -> int:
    """Today's roll-call of the district (opened once; opening again returns the same)."""
    r = t.roll_calls
    found = conn.execute(select(r.c.id).where(r.c.district_id == district_id,
                                              r.c.day == day)).scalar()
    if found is not None:
        return found
    return conn.execute(insert(r).values(district_id=district_id, day=day, opened_at=now,
                                         opened_by=who)).inserted_primary_key[0]


def staff_of(conn: Connection, username: str):
    """The staff row a field login answers for, or None."""
    s = t.staff.c
    return conn.execute(select(s.id, s.district_id, s.subdistrict_id, s.name, s.unit_id)
                        .where(s.username == username, s.active.is_(True))).first()


def answer(conn: Connection, staff_id: int, day: date, present: bool, now: datetime,
           reason: str = "", lon: float | None = None, lat: float | None = None) -> None:
    """A staff member's answer for `day` (answering again replaces it)."""
    s, r, a = t.staff.c, t.roll_calls, t.roll_call_answers
    district = conn.execute(select(s.district_id).where(s.id == staff_id)).scalar()
    call = conn.execute(select(r.c.id).where(r.c.district_id == district,
                                             r.c.day == day)).scalar()
    if call is None:
        raise RollCallError("roll_not_open")
    reason = (reason or "").strip()
    if not present and len(reason) < REASON_MIN:
        raise RollCallError("roll_absent_reason")
    values = {"present": present, "reason": "" if present else reason[:120],
              "lon": lon if present else None, "lat": lat if present else None,
              "answered_at": now}
    done = conn.execute(update(a).where(a.c.roll_call_id == call, a.c.staff_id == staff_id)
                        .values(**values)).rowcount
    if not done:
        conn.execute(insert(a).values(roll_call_id=call, staff_id=staff_id, **values))


def summary(conn: Connection, district_id: int, day: date) -> pd.DataFrame:
    """Per sub-district: expected, present, absent, waiting, and the names of the absent (with
    reasons) and of those not answered yet. Empty when the roll-call is not open."""
    s, sub, r, a = t.staff, t.subdistricts, t.roll_calls, t.roll_call_answers
    call = conn.execute(select(r.c.id).where(r.c.district_id == district_id,
                                             r.c.day == day)).scalar()
    columns = ["subdistrict_id", "subdistrict", "expected", "present", "absent", "waiting",
               "absent_names", "waiting_names"]
    if call is None:
        return pd.DataFrame(columns=columns)
    rows = pd.DataFrame(conn.execute(
        select(s.c.subdistrict_id, sub.c.name_zh, s.c.name, a.c.present, a.c.reason)
        .join(sub, sub.c.id == s.c.subdistrict_id)
        .outerjoin(a, (a.c.staff_id == s.c.id) & (a.c.roll_call_id == call))
        .where(s.c.district_id == district_id, s.c.active.is_(True))
        .order_by(s.c.subdistrict_id, s.c.id)).all(),
        columns=["subdistrict_id", "subdistrict", "name", "present", "reason"])
    out = []
    for (area, name), g in rows.groupby(["subdistrict_id", "subdistrict"], sort=True):
        here = g["present"].eq(True) | g["present"].eq(1)
        away = g["present"].eq(False) | g["present"].eq(0)
        waiting = g["present"].isna()
        out.append({"subdistrict_id": int(area), "subdistrict": name, "expected": len(g),
                    "present": int(here.sum()), "absent": int(away.sum()),
                    "waiting": int(waiting.sum()),
                    "absent_names": "、".join(f"{n}（{w}）" for n, w in
                                             zip(g["name"][away], g["reason"][away],
                                                 strict=True)),
                    "waiting_names": "、".join(g["name"][waiting])})
    return pd.DataFrame(out, columns=columns)


def history(conn: Connection, district_id: int, days: int = 14) -> pd.DataFrame:
    """Roll-calls of the district, newest first: day, expected, present, absent, waiting."""
    r = t.roll_calls
    found = conn.execute(select(r.c.day).where(r.c.district_id == district_id)
                         .order_by(r.c.day.desc()).limit(days)).scalars().all()
    out = []
    for day in found:
        totals = summary(conn, district_id, day)[["expected", "present", "absent",
                                                  "waiting"]].sum()
        out.append({"day": day, **{k: int(v) for k, v in totals.items()}})
    return pd.DataFrame(out, columns=["day", "expected", "present", "absent", "waiting"])
