"""Reads and the one write behind the trace page: find the index person, their trajectory, their
close and secondary contacts, exports, and putting contacts under management.

Viewer: tracing names persons, so planners, wall displays and field staff are refused; city roles
trace anyone; district commanders and duty officers trace persons who live in their district or
scanned at one of its venues in the window (their contacts may be anywhere: exposure does not stop
at a district line). Every look is audited in the transaction that reads it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, exists, insert, select

from placecode.auth.audit import record
from placecode.auth.policy import Refused, Viewer, district_for, require
from placecode.db.fast import raw_rows
from placecode.db.schema import alerts, districts, key_persons, persons, scans, venues
from placecode.i18n import UserError
from placecode.pseudonym import person_key
from placecode.rules.status import reevaluate_persons
from placecode.tracing.contacts import (
    TraceParams,
    person_keys,
    person_visits,
    trace_contacts,
)

TIERS = {1: "close", 2: "secondary"}
REASON_MIN = 4  # characters: "密接管控" is a reason, "x" is not
MAX_DAYS = 366  # a trace window longer than a year is a forged request
KEYS_NOW = 20_000  # contacts whose keys are read with the trace (the graph's node limit)


class UnknownPerson(UserError, LookupError):
    """No person matches; the message says what to check."""


class ManageError(UserError, ValueError):
    """Contacts cannot be put under management as asked."""


class TraceWindowError(UserError, ValueError):
    """The days asked for are not a whole number within the retention."""


@dataclass(frozen=True)
class Person:
    id: int
    key: str
    district_id: int | None


def _check_person(conn: Connection, scope: Viewer, person: Person, start: datetime,
                  until: datetime) -> None:
    own = district_for(scope, "trace")
    if own is None or person.district_id == own:
        return
    visited = conn.execute(select(exists().where(
        scans.c.person_id == person.id, scans.c.ts >= start, scans.c.ts < until,
        venues.c.id == scans.c.venue_id, venues.c.district_id == own))).scalar()
    if not visited:
        raise Refused("refused_trace_person")


def find_person(engine: Engine, scope: Viewer, *, raw_id: str | None = None,
                key: str | None = None, alert_id: int | None = None, secret: str = "") -> Person:
    """The person with this ID number (matched through the instance's secret key), this
    pseudonymous key, or the person an alert was raised for. The role is checked first: who may
    not trace does not learn whether an ID number is known."""
    require(scope, "trace")
    p = persons.c
    query = select(p.id, p.person_key, p.district_id)
    if raw_id is not None:
        raw_id = raw_id.strip()
        if not raw_id:
            raise UnknownPerson("trace_enter_id")
        query = query.where(p.person_key == person_key(raw_id, secret))
    elif key is not None:
        query = query.where(p.person_key == key)
    elif alert_id is not None:
        query = query.join(alerts, alerts.c.person_id == p.id).where(alerts.c.id == alert_id)
    else:
        raise UnknownPerson("trace_enter_id")
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise UnknownPerson("trace_unknown_id" if raw_id is not None else "trace_unknown_alert"
                            if alert_id is not None else "trace_unknown_key")
    return Person(int(row[0]), row[1], row[2])


def trajectories(conn: Connection, person_ids: list[int], start: datetime, until: datetime,
                 params: TraceParams) -> pd.DataFrame:
    """Visits in time order with where they were. Columns: person_id, venue_id, kind, start,
    end, code, name, lon, lat, district_zh, district_en."""
    visits = person_visits(conn, person_ids, start, until, params)
    ids = sorted(int(v) for v in visits["venue_id"].unique())
    v = venues.c
    places = pd.DataFrame(raw_rows(conn, select(
        v.id, v.code, v.name, v.lon, v.lat, districts.c.name_zh, districts.c.name_en)
        .join(districts, districts.c.id == v.district_id).where(v.id.in_(ids))),
        columns=["venue_id", "code", "name", "lon", "lat", "district_zh", "district_en"])
    return visits.merge(places, on="venue_id", how="left")


def with_keys(engine: Engine, contacts: pd.DataFrame) -> pd.DataFrame:
    """The rows with every person_key filled in (a big trace reads only the close contacts'
    keys up front)."""
    missing = contacts["person_key"].isna()
    if not missing.any():
        return contacts
    with engine.connect() as conn:
        keys = person_keys(conn, contacts.loc[missing, "person_id"].to_numpy(np.int64))
    return contacts.assign(person_key=contacts["person_key"].fillna(
        contacts["person_id"].map(keys)))


@dataclass
class TraceResult:
    person: Person
    start: datetime
    until: datetime
    visits: pd.DataFrame    # the index person's, see trajectories()
    contacts: pd.DataFrame  # person_id, tier, venue_id, contact_at, via_person_id, person_key,
    #                         via_key, code, name, lon, lat
    seconds: float


def trace(engine: Engine, scope: Viewer, person: Person, until: datetime, who: str,
          params: TraceParams | None = None, max_days: int = MAX_DAYS) -> TraceResult:
    """The index person's trajectory and contacts, audited as one look at a named person.
    `max_days`: the longest window (the retention; nothing older is kept)."""
    require(scope, "trace")
    params = params or TraceParams()
    if type(params.days) is not int or not 1 <= params.days <= max_days:
        raise TraceWindowError("trace_days_bad", n=max_days)
    start = until - timedelta(days=params.days)
    began = time.perf_counter()
    with engine.begin() as conn:
        _check_person(conn, scope, person, start, until)
        visits = trajectories(conn, [person.id], start, until, params)
        contacts = trace_contacts(conn, person.id, until, params)
        # keys now for the close contacts (the vias) or, for a list the graph draws person by
        # person, everyone; the rest when a block, an export or an action needs them
        named = contacts if len(contacts) <= KEYS_NOW else contacts[contacts["tier"] == 1]
        keys = person_keys(conn, np.append(named["person_id"].to_numpy(np.int64), person.id))
        v = venues.c
        places = pd.DataFrame(raw_rows(conn, select(v.id, v.code, v.name, v.lon, v.lat).where(
            v.id.in_(sorted(int(x) for x in contacts["venue_id"].unique())))),
            columns=["venue_id", "code", "name", "lon", "lat"])
        record(conn, "trace", username=who, subject=f"person {person.key}",
               detail=f"{len(visits)} visits, {len(contacts)} contacts, {params.days} days to "
                      f"{until:%Y-%m-%d %H:%M}")
    contacts = contacts.assign(person_key=contacts["person_id"].map(keys),
                               via_key=contacts["via_person_id"].map(keys))
    contacts = contacts.merge(places, on="venue_id", how="left").sort_values(
        ["tier", "contact_at"], ignore_index=True)
    return TraceResult(person, start, until, visits, contacts, time.perf_counter() - began)


def contact_trajectories(engine: Engine, scope: Viewer, result: TraceResult,
                         person_ids: list[int], who: str) -> pd.DataFrame:
    """Trajectories of some of the listed contacts (shown with the case on the map); only
    persons in the result may be asked for, and the look is audited."""
    require(scope, "trace")
    listed = set(result.contacts["person_id"].astype(int))
    wanted = [int(p) for p in person_ids if int(p) in listed]
    if not wanted:
        return trajectories_empty()
    with engine.begin() as conn:
        frame = trajectories(conn, wanted, result.start, result.until, TraceParams())
        listed_rows = result.contacts[result.contacts["person_id"].isin(wanted)]
        keys = with_keys(engine, listed_rows).set_index("person_id")["person_key"]
        record(conn, "trace_contacts_shown", username=who,
               subject=f"contacts of {result.person.key}",
               detail=",".join(keys[p] for p in wanted))
    return frame


def trajectories_empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["person_id", "venue_id", "kind", "start", "end", "code", "name",
                                 "lon", "lat", "district_zh", "district_en"])


def export_frame(engine: Engine, scope: Viewer, result: TraceResult, fmt: str,
                 who: str) -> pd.DataFrame:
    """The contact list as handed on (pseudonymous keys, venue codes), audited as an export."""
    require(scope, "trace")
    contacts = with_keys(engine, result.contacts)
    frame = pd.DataFrame({
        "tier": contacts["tier"].map(TIERS),
        "person_key": contacts["person_key"],
        "venue_code": result.contacts["code"],
        "venue_name": result.contacts["name"],
        "contact_at": pd.to_datetime(result.contacts["contact_at"]),
        "via": result.contacts["via_key"].fillna(result.person.key),
    })
    with engine.begin() as conn:
        record(conn, "export_contacts", username=who, subject=f"person {result.person.key}",
               detail=f"{len(frame)} rows as {fmt}")
    return frame


def put_under_management(engine: Engine, scope: Viewer, result: TraceResult, tiers: set[int],
                         reason: str, who: str, now: datetime) -> int:
    """Put the listed contacts of these tiers on the management list (rule `managed`: red at
    their next scan), re-evaluate them, and audit it as one action naming every person.
    Persons already under management stay as they are (no duplicate rows). Returns how many
    were added."""
    require(scope, "trace")
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN:
        raise ManageError("reason_short", n=REASON_MIN)
    chosen = with_keys(engine, result.contacts[result.contacts["tier"].isin(tiers)])
    ids = np.unique(chosen["person_id"].to_numpy(np.int64))
    if not len(ids):
        raise ManageError("manage_none")
    k = key_persons.c
    with engine.begin() as conn:
        managed = set()
        for i in range(0, len(ids), 5000):
            managed.update(r[0] for r in raw_rows(conn, select(k.person_id).where(
                k.category == "managed", k.person_id.in_(ids[i:i + 5000].tolist()),
                (k.until.is_(None)) | (k.until > now))))
        new = [int(p) for p in ids if int(p) not in managed]
        if new:
            conn.execute(insert(key_persons), [{
                "person_id": p, "category": "managed", "since": now, "until": None,
                "reason": reason[:200], "added_by": who} for p in new])
            reevaluate_persons(conn, new, np.datetime64(now, "s"))
        keys = chosen.drop_duplicates("person_id").set_index("person_id")["person_key"]
        record(conn, "put_under_management", username=who,
               subject=f"contacts of {result.person.key}", reason=reason,
               detail=f"{len(new)} added, {len(ids) - len(new)} already managed: "
                      + ",".join(keys[p] for p in new))
    return len(new)

