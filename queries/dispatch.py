"""Reads and acts behind the dispatch board: open incidents by state with their timers, units,
the day's events, and the steps (through placecode.dispatch.board, which checks and stores them).

Viewer: city roles see every district; district commanders, duty officers and field staff their
own; planners and wall tokens are refused (incidents name venues and persons)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import Engine, func, select, update

from placecode.auth.audit import record
from placecode.auth.policy import Refused, Viewer, district_for, require, require_district
from placecode.db import schema as t
from placecode.dispatch import board, rollcall
from placecode.dispatch.incidents import DEFAULT_SLA_MINUTES, FINAL, Transition, due_at
from queries.alerts import mask_key


def _district(scope: Viewer) -> int | None:
    """The district the viewer is bound to (None: the whole city); incidents name persons."""
    return district_for(scope, "persons")


def open_incidents(engine: Engine, scope: Viewer, now: datetime,
                   sla: dict[str, int] | None = None) -> pd.DataFrame:
    """Incidents not yet finished, plus those finished today. Columns: incident_id, state,
    state_since, opened_at, version, venue_code, venue_name, lon, lat, district_id, unit_code,
    person (masked), due_at, overdue, minutes (in this state)."""
    return _open(engine, _district(scope), now, sla)


FIELD_TASKS = ("notified", "dispatched")  # the person waits to be held, the unit is on its way


def field_tasks(engine: Engine, scope: Viewer, now: datetime,
                sla: dict[str, int] | None = None) -> pd.DataFrame:
    """What field staff act on from the phone: their district's incidents waiting for a field
    step (the columns of open_incidents); the desk's board stays with the desk roles."""
    frame = _open(engine, district_for(scope, "field_step"), now, sla)
    return frame[frame["state"].isin(FIELD_TASKS)].reset_index(drop=True)


def _open(engine: Engine, district: int | None, now: datetime,
          sla: dict[str, int] | None) -> pd.DataFrame:
    i, v, u, p = t.incidents, t.venues, t.units, t.persons
    start = datetime.combine(now.date(), time())
    query = (select(i.c.id, i.c.state, i.c.state_since, i.c.opened_at, i.c.version, v.c.code,
                    v.c.name, v.c.lon, v.c.lat, i.c.district_id, u.c.code, p.c.person_key,
                    i.c.outcome)
             .join(v, v.c.id == i.c.venue_id).join(p, p.c.id == i.c.person_id)
             .outerjoin(u, u.c.id == i.c.unit_id)
             .where(i.c.state.not_in(FINAL) | (i.c.state_since >= start))
             .order_by(i.c.opened_at))
    if district is not None:
        query = query.where(i.c.district_id == district)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(), columns=[
            "incident_id", "state", "state_since", "opened_at", "version", "venue_code",
            "venue_name", "lon", "lat", "district_id", "unit_code", "person_key", "outcome"])
    frame["state_since"] = pd.to_datetime(frame["state_since"])
    frame["opened_at"] = pd.to_datetime(frame["opened_at"])
    frame["person"] = frame.pop("person_key").map(mask_key)
    sla = sla or DEFAULT_SLA_MINUTES
    frame["due_at"] = [due_at(s, since, sla) for s, since in
                       zip(frame["state"], frame["state_since"], strict=True)]
    frame["overdue"] = [d is not None and now > d for d in frame["due_at"]]
    frame["minutes"] = ((now - frame["state_since"]).dt.total_seconds() // 60).astype(int) \
        if len(frame) else pd.Series(dtype=int)
    return frame


def units(engine: Engine, scope: Viewer) -> pd.DataFrame:
    """Columns: unit_id, code, name, kind, status, subdistrict_id, lon, lat, incident_id."""
    district = _district(scope)
    u = t.units
    query = select(u.c.id, u.c.code, u.c.name, u.c.kind, u.c.status, u.c.subdistrict_id,
                   u.c.lon, u.c.lat, u.c.incident_id).order_by(u.c.code)
    if district is not None:
        query = query.where(u.c.district_id == district)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).all(), columns=[
            "unit_id", "code", "name", "kind", "status", "subdistrict_id", "lon", "lat",
            "incident_id"])


def timeline(engine: Engine, scope: Viewer, day: date, limit: int = 200) -> pd.DataFrame:
    """The day's incident events, newest first. Columns: ts, incident_id, username, from_state,
    to_state, note, venue_name."""
    district = _district(scope)
    e, i, v = t.incident_events, t.incidents, t.venues
    start = datetime.combine(day, time())
    query = (select(e.c.ts, e.c.incident_id, e.c.username, e.c.from_state, e.c.to_state,
                    e.c.note, v.c.name)
             .join(i, i.c.id == e.c.incident_id).join(v, v.c.id == i.c.venue_id)
             .where(e.c.ts >= start, e.c.ts < start + timedelta(days=1))
             .order_by(e.c.ts.desc(), e.c.id.desc()).limit(limit))
    if district is not None:
        query = query.where(i.c.district_id == district)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(), columns=[
            "ts", "incident_id", "username", "from_state", "to_state", "note", "venue_name"])
    frame["ts"] = pd.to_datetime(frame["ts"])
    return frame


def suggestions(engine: Engine, scope: Viewer, incident_id: int, limit: int = 5) -> pd.DataFrame:
    """The nearest available units of the incident's district (see board.nearest_units)."""
    district = _district(scope)
    with engine.connect() as conn:
        owner = conn.execute(select(t.incidents.c.district_id)
                             .where(t.incidents.c.id == incident_id)).scalar()
        if owner is None or (district is not None and owner != district):
            raise Refused("refused_incident_district")
        return board.nearest_units(conn, incident_id, limit)


def act(engine: Engine, scope: Viewer, incident_id: int, step: Transition, who: str,
        now: datetime, version: int | None) -> board.Step:
    """One step on an incident, in its own transaction (refusals raise with a message)."""
    with engine.begin() as conn:
        return board.transition(conn, scope, incident_id, step, who, now, version)


def districts(engine: Engine, scope: Viewer) -> pd.DataFrame:
    """The districts the viewer may run a roll-call for: id, name_zh, name_en."""
    district = district_for(scope, "roll_call")
    d = t.districts.c
    query = select(d.id, d.name_zh, d.name_en).order_by(d.id)
    if district is not None:
        query = query.where(d.id == district)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).all(), columns=["id", "name_zh", "name_en"])


def _roll_district(scope: Viewer, district_id: int) -> None:
    require_district(scope, "roll_call", district_id)


def export_roll_call(engine: Engine, scope: Viewer, district_id: int, day: date,
                     username: str, now: datetime) -> pd.DataFrame:
    """`day`'s roll-call of one district for download (it names staff): audited."""
    _roll_district(scope, district_id)
    with engine.begin() as conn:
        frame = rollcall.summary(conn, district_id, day)
        record(conn, "export_roll_call", username=username, subject=f"district {district_id}",
               detail=f"{day} · {len(frame)} rows", now=now)
    return frame


def roll_call_board(engine: Engine, scope: Viewer, district_id: int, day: date
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per sub-district summary of `day`, the last 14 days' totals) of one district."""
    _roll_district(scope, district_id)
    with engine.connect() as conn:
        return rollcall.summary(conn, district_id, day), rollcall.history(conn, district_id)


def open_roll_call(engine: Engine, scope: Viewer, district_id: int, day: date, who: str,
                   now: datetime) -> int:
    _roll_district(scope, district_id)
    with engine.begin() as conn:
        return rollcall.open_roll_call(conn, district_id, day, who, now)


def answer_roll_call(engine: Engine, username: str, present: bool, now: datetime,
                     reason: str = "", lon: float | None = None,
                     lat: float | None = None) -> str:
    """A field login answers for its own staff row (present with a position also moves its unit
    there); returns the staff member's name."""
    with engine.begin() as conn:
        me = rollcall.staff_of(conn, username)
        if me is None:
            raise rollcall.RollCallError("roll_not_staff")
        rollcall.answer(conn, me.id, now.date(), present, now, reason, lon, lat)
        if present and lon is not None and lat is not None and me.unit_id is not None:
            # the unit is where its member reported from: distances for dispatch start there
            conn.execute(update(t.units).where(t.units.c.id == me.unit_id)
                         .values(lon=lon, lat=lat))
    return me.name


def my_day(engine: Engine, username: str, now: datetime) -> dict | None:
    """What the field page shows: the staff member, their unit and status, and their answer."""
    u, a, r = t.units.c, t.roll_call_answers, t.roll_calls
    with engine.connect() as conn:
        me = rollcall.staff_of(conn, username)
        if me is None:
            return None
        unit = conn.execute(select(u.id, u.code, u.name, u.status)
                            .where(u.id == me.unit_id)).first()
        answered = conn.execute(
            select(a.c.present, a.c.reason).join(r, r.c.id == a.c.roll_call_id)
            .where(a.c.staff_id == me.id, r.c.day == now.date())).first()
        is_open = conn.execute(select(r.c.id).where(r.c.district_id == me.district_id,
                                                    r.c.day == now.date())).first()
    return {"name": me.name, "district_id": me.district_id, "unit": unit,
            "answered": answered, "open": is_open is not None}


UNIT_STATUSES = ("available", "committed", "responding", "on_scene", "out_of_service")


def set_unit_status(engine: Engine, scope: Viewer, username: str, status: str,
                    now: datetime) -> None:
    """A unit lead (its staff) changes its status from the phone."""
    require(scope, "field_step")
    if status not in UNIT_STATUSES:
        raise Refused("unit_status_unknown", status=str(status)[:32])
    with engine.begin() as conn:
        me = rollcall.staff_of(conn, username)
        if me is None or me.unit_id is None:
            raise Refused("refused_no_unit")
        conn.execute(update(t.units).where(t.units.c.id == me.unit_id)
                     .values(status=status, status_since=now))


def wall_summary(engine: Engine, scope: Viewer, now: datetime,
                 sla: dict[str, int] | None = None) -> dict:
    """The wall's dispatch panel, no persons: open incidents per state, the overdue ones
    (venue, state, minutes), units per status, and today's roll-call per district (city) or
    per sub-district (a district's wall)."""
    district = scope.home_district
    i, v, u = t.incidents, t.venues, t.units
    live = select(i.c.state, i.c.state_since, v.c.name).join(v, v.c.id == i.c.venue_id).where(
        i.c.state.not_in(FINAL))
    units_q = select(u.c.status, func.count()).group_by(u.c.status)
    if district is not None:
        live = live.where(i.c.district_id == district)
        units_q = units_q.where(u.c.district_id == district)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(live).all(), columns=["state", "since", "venue"])
        by_status = dict(conn.execute(units_q).all())
        if district is None:
            areas = [(int(d), name) for d, name in conn.execute(
                select(t.districts.c.id, t.districts.c.name_zh).order_by(t.districts.c.id))]
            roll = [(name, rollcall.summary(conn, d, now.date())) for d, name in areas]
            roll = [(name, None, None) if s.empty else  # not opened today
                    (name, int(s["present"].sum()), int(s["expected"].sum()))
                    for name, s in roll]
        else:
            s = rollcall.summary(conn, district, now.date())
            roll = [(r.subdistrict, int(r.present), int(r.expected)) for r in s.itertuples()]
    frame["since"] = pd.to_datetime(frame["since"])
    frame["minutes"] = ((now - frame["since"]).dt.total_seconds() // 60).astype(int) \
        if len(frame) else pd.Series(dtype=int)
    sla = sla or DEFAULT_SLA_MINUTES
    limit = frame["state"].map(sla)  # NaN for states without a timer
    late = frame[limit.notna() & (frame["minutes"] > limit)]
    return {"states": frame["state"].value_counts().to_dict(),
            "overdue": late.sort_values("minutes", ascending=False).head(8)[
                ["venue", "state", "minutes"]].to_dict("records"),
            "units": {k: int(n) for k, n in by_status.items()}, "roll_call": roll}
