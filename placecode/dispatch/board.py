"""The incident loop in the database: an alert opens an incident, its delivered pushes make it
notified, people move it on (each step stored in incident_events with who, when and a note, and
pushed to the alert's receivers through the outbox), a unit is assigned so that two officers
cannot commit the same unit, and the nearest available units are suggested.

Concurrency: each step updates the incident only at the version it read (optimistic lock), and
a unit is taken only while it is still available, in the same transaction; the loser gets
ConflictError with a message that says what happened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select, update

from placecode.auth.policy import FIELD_STEPS, Refused, Viewer, require_district
from placecode.db import schema as t
from placecode.dispatch.incidents import FINAL, Transition, TransitionError, check
from placecode.i18n import Term, UserError
from placecode.i18n import t as text

SYSTEM = "system"
UNIT_STATUS_FOR = {"dispatched": "committed", "picked_up": "responding"}


class IncidentUnknown(UserError, LookupError):
    """No incident has this id."""


class ConflictError(UserError, RuntimeError):
    """Someone else changed the incident or took the unit first; reload and decide again."""


@dataclass(frozen=True)
class Step:
    incident_id: int
    state: str
    version: int


def open_incident(conn: Connection, alert_id: int, venue_id: int, person_id: int,
                  district_id: int, now: datetime) -> int:
    """A new incident for an alert, in the alert's transaction."""
    incident_id = conn.execute(insert(t.incidents).values(
        alert_id=alert_id, venue_id=venue_id, person_id=person_id, district_id=district_id,
        state="new", state_since=now, opened_at=now, version=1)).inserted_primary_key[0]
    conn.execute(insert(t.incident_events).values(
        incident_id=incident_id, ts=now, username=SYSTEM, from_state=None, to_state="new",
        note=text("inc_note_opened", "en")))
    return incident_id


def _may_act(scope: Viewer, district_id: int, to: str) -> None:
    """Field staff confirm the field steps of their district; the desk roles do every step."""
    require_district(scope, "field_step" if to in FIELD_STEPS else "act", district_id)


def _push(conn: Connection, alert_id: int, incident_id: int, state: str, now: datetime,
          note: str) -> None:
    """The state change to the alert's receivers (district HQ, home community), once each."""
    o = t.outbox
    targets = conn.execute(select(o.c.receiver, o.c.url).where(o.c.alert_id == alert_id)
                           .group_by(o.c.receiver, o.c.url)).all()
    rows = []
    for receiver, url in targets:
        key = f"incident-{incident_id}-{state}-{receiver}"
        body = {"incident_id": incident_id, "alert_id": alert_id, "state": state,
                "ts": now.isoformat(), "note": note, "receiver": receiver,
                "idempotency_key": key}
        rows.append({"alert_id": alert_id, "receiver": receiver, "url": url,
                     "idempotency_key": key, "payload": json.dumps(body, ensure_ascii=False),
                     "state": "pending", "attempts": 0, "next_attempt_at": now,
                     "last_error": "", "created_at": now})
    if rows:
        conn.execute(insert(o), rows)


def transition(conn: Connection, scope: Viewer, incident_id: int, step: Transition,
               who: str, now: datetime, version: int | None = None, push: bool = True) -> Step:
    """Move an incident on (checked by the state machine), store the event, take or release its
    unit, push the change. `version`: the one the user saw (None: the current one)."""
    i = t.incidents
    row = conn.execute(select(i.c.state, i.c.version, i.c.district_id, i.c.alert_id,
                              i.c.unit_id).where(i.c.id == incident_id)).first()
    if row is None:
        raise IncidentUnknown("inc_unknown", incident=incident_id)
    if who != SYSTEM:
        _may_act(scope, row.district_id, step.to)
    if version is not None and version != row.version:
        raise ConflictError("inc_stale", state=Term.keyed(row.state, f"col_state_{row.state}"))
    check(row.state, step)
    unit_id = row.unit_id
    if step.to == "dispatched":
        unit_id = step.unit_id
        home = conn.execute(select(t.units.c.district_id).where(t.units.c.id == unit_id)).first()
        if home is None:
            raise Refused("unit_unknown", unit=unit_id)
        if who != SYSTEM:  # a district sends its own units; the city may lend one across
            require_district(scope, "act", home.district_id)
        taken = conn.execute(update(t.units).where(
            t.units.c.id == unit_id, t.units.c.status == "available").values(
            status="committed", incident_id=incident_id, status_since=now)).rowcount
        if not taken:
            raise ConflictError("inc_unit_taken", unit=unit_id)
    elif step.to in UNIT_STATUS_FOR and unit_id is not None:
        conn.execute(update(t.units).where(t.units.c.id == unit_id).values(
            status=UNIT_STATUS_FOR[step.to], status_since=now))
    if step.to in FINAL and unit_id is not None:
        conn.execute(update(t.units).where(t.units.c.id == unit_id,
                                           t.units.c.incident_id == incident_id).values(
            status="available", incident_id=None, status_since=now))
    moved = conn.execute(update(i).where(i.c.id == incident_id, i.c.version == row.version)
                         .values(state=step.to, state_since=now, version=row.version + 1,
                                 unit_id=unit_id, outcome=step.outcome)).rowcount
    if not moved:
        raise ConflictError("inc_changed")
    conn.execute(insert(t.incident_events).values(
        incident_id=incident_id, ts=now, username=who, from_state=row.state, to_state=step.to,
        unit_id=unit_id if step.to == "dispatched" else None, note=step.note[:300]))
    if push:
        _push(conn, row.alert_id, incident_id, step.to, now, step.note)
    return Step(incident_id, step.to, row.version + 1)


def mark_notified(engine: Engine, alert_id: int, now: datetime) -> bool:
    """After a push was delivered: a new incident whose alert reached every receiver is
    notified. Returns whether it moved."""
    o, i = t.outbox, t.incidents
    with engine.begin() as conn:
        pending = conn.execute(select(func.count()).select_from(o).where(
            o.c.alert_id == alert_id, o.c.idempotency_key.like("alert-%"),
            o.c.state != "delivered")).scalar()
        found = conn.execute(select(i.c.id).where(i.c.alert_id == alert_id,
                                                  i.c.state == "new")).scalar()
        if pending or found is None:
            return False
        try:
            transition(conn, Viewer("admin"), found, Transition(
                "notified", note=text("inc_note_notified", "en")), SYSTEM, now,
                push=False)  # the receivers have just got the alert itself
        except (ConflictError, TransitionError):
            return False
    return True


def nearest_units(conn: Connection, incident_id: int, limit: int = 5) -> pd.DataFrame:
    """Available units of the incident's district by straight-line distance to the venue.
    Columns: unit_id, code, name, kind, km."""
    i, v, u = t.incidents, t.venues, t.units
    lon, lat, district = conn.execute(select(v.c.lon, v.c.lat, i.c.district_id)
                                      .join(v, v.c.id == i.c.venue_id)
                                      .where(i.c.id == incident_id)).one()
    frame = pd.DataFrame(conn.execute(select(u.c.id, u.c.code, u.c.name, u.c.kind, u.c.lon,
                                             u.c.lat).where(u.c.district_id == district,
                                                            u.c.status == "available")).all(),
                         columns=["unit_id", "code", "name", "kind", "lon", "lat"])
    frame["km"] = haversine_km(lon, lat, frame["lon"].to_numpy(float),
                               frame["lat"].to_numpy(float))
    return frame.sort_values(["km", "unit_id"]).head(limit)[
        ["unit_id", "code", "name", "kind", "km"]].reset_index(drop=True)


def haversine_km(lon0: float, lat0: float, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    p0, p1 = np.radians(lat0), np.radians(lat)
    a = (np.sin((p1 - p0) / 2) ** 2
         + np.cos(p0) * np.cos(p1) * np.sin(np.radians(lon - lon0) / 2) ** 2)
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))
