"""Close and secondary contacts of an index person, set-based (one query per tier, not one per
person; DESIGN.md: secondary contacts fan out to thousands).

A visit is [scan time, check-out] or, without a check-out, [scan time, scan time + the venue
kind's default dwell]. A close contact's visit at the same venue overlaps an index visit widened
by the tolerance on both sides. A secondary contact is a close contact of a close contact, counted
only from the moment that person became a close contact. Each person appears once: the lower tier
wins, then the earliest contact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, select

from placecode.auth.audit import record
from placecode.db.fast import raw_rows
from placecode.db.schema import persons, scans, venues
from placecode.pseudonym import person_key

# Minutes a visit lasts when the scan has no check-out (buses and taxis: one ride).
DEFAULT_DWELL_MINUTES = {
    "shop": 20, "enterprise": 480, "restaurant": 60, "residential": 60, "government": 60,
    "supermarket": 30, "hotel": 720, "mall": 90, "bus": 30, "taxi": 20,
}
VENUE_CHUNK = 500  # venues per IN list
VISIT_COLUMNS = ["person_id", "venue_id", "kind", "start", "end"]
CONTACT_COLUMNS = ["person_id", "tier", "venue_id", "contact_at", "via_person_id"]


@dataclass(frozen=True)
class TraceParams:
    days: int = 14
    tolerance: timedelta = timedelta(minutes=30)
    dwell_minutes: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_DWELL_MINUTES))
    default_dwell_minutes: int = 30

    @property
    def longest_dwell(self) -> timedelta:
        return timedelta(minutes=max([self.default_dwell_minutes,
                                      *self.dwell_minutes.values()]))


def _intervals(rows: list[tuple], params: TraceParams) -> pd.DataFrame:
    """(person_id, venue_id, kind, ts, checkout_ts) rows -> visits with start and end."""
    frame = pd.DataFrame(rows, columns=["person_id", "venue_id", "kind", "start", "checkout"])
    frame["start"] = pd.to_datetime(frame["start"])
    checkout = pd.to_datetime(frame.pop("checkout"))
    dwell = pd.to_timedelta(frame["kind"].map(params.dwell_minutes)
                            .fillna(params.default_dwell_minutes), unit="min")
    frame["end"] = checkout.where(checkout.notna() & (checkout >= frame["start"]),
                                  frame["start"] + dwell)
    return frame[VISIT_COLUMNS]


def _scan_query():
    s = scans.c
    return (select(s.person_id, s.venue_id, venues.c.kind, s.ts, s.checkout_ts)
            .join(venues, venues.c.id == s.venue_id))


def person_visits(conn: Connection, person_ids, start: datetime, end: datetime,
                  params: TraceParams) -> pd.DataFrame:
    """Visits of the given persons with scans in [start, end), in time order."""
    ids = sorted({int(p) for p in person_ids})
    parts = []
    for i in range(0, len(ids), VENUE_CHUNK):
        query = _scan_query().where(scans.c.person_id.in_(ids[i:i + VENUE_CHUNK]),
                                    scans.c.ts >= start, scans.c.ts < end)
        parts.append(_intervals(raw_rows(conn, query), params))
    out = pd.concat(parts, ignore_index=True) if parts else _intervals([], params)
    return out.sort_values(["person_id", "start"], ignore_index=True)


def overlapping(conn: Connection, sources: pd.DataFrame, params: TraceParams,
                exclude: set[int]) -> pd.DataFrame:
    """Other persons' visits overlapping the source visits (widened by the tolerance) at the
    same venue. `sources`: venue_id, start, end, source_person_id. Returns person_id, venue_id,
    contact_at (when the overlap with the widened source visit began), via_person_id; persons in
    `exclude` left out."""
    if sources.empty:
        return pd.DataFrame(columns=["person_id", "venue_id", "contact_at", "via_person_id"])
    lo = sources["start"] - params.tolerance
    hi = sources["end"] + params.tolerance
    venue_ids = sorted(sources["venue_id"].unique().tolist())
    earliest = (lo.min() - params.longest_dwell).to_pydatetime()
    latest = hi.max().to_pydatetime()
    found = []
    for i in range(0, len(venue_ids), VENUE_CHUNK):
        query = _scan_query().where(scans.c.venue_id.in_(venue_ids[i:i + VENUE_CHUNK]),
                                    scans.c.ts >= earliest, scans.c.ts <= latest)
        found.append(_intervals(raw_rows(conn, query), params))
    candidates = pd.concat(found, ignore_index=True)
    candidates = candidates[~candidates["person_id"].isin(exclude)]
    pairs = candidates.merge(sources.assign(lo=lo, hi=hi), on="venue_id",
                             suffixes=("", "_src"))
    hit = pairs[(pairs["start"] <= pairs["hi"]) & (pairs["end"] >= pairs["lo"])
                & (pairs["person_id"] != pairs["source_person_id"])]
    return pd.DataFrame({
        "person_id": hit["person_id"].to_numpy(),
        "venue_id": hit["venue_id"].to_numpy(),
        "contact_at": np.maximum(hit["start"].to_numpy(), hit["lo"].to_numpy()),
        "via_person_id": hit["source_person_id"].to_numpy(),
    })


def _first_contact(hits: pd.DataFrame, tier: int) -> pd.DataFrame:
    """One row per person: the earliest contact of this tier."""
    first = hits.sort_values(["person_id", "contact_at"]).drop_duplicates("person_id")
    return first.assign(tier=tier)[CONTACT_COLUMNS].reset_index(drop=True)


def trace_contacts(conn: Connection, person_id: int, until: datetime,
                   params: TraceParams | None = None) -> pd.DataFrame:
    """Close (tier 1) and secondary (tier 2) contacts of `person_id` in the `params.days` days
    before `until`. Columns: person_id, tier, venue_id, contact_at (first contact), via_person_id
    (the index person, or the close contact who passed it on)."""
    params = params or TraceParams()
    start = until - timedelta(days=params.days)
    index_visits = person_visits(conn, [person_id], start, until, params)
    sources = index_visits.rename(columns={"person_id": "source_person_id"})
    close = _first_contact(overlapping(conn, sources, params, {person_id}), 1)
    if close.empty:
        return close
    later = person_visits(conn, close["person_id"], start, until, params)
    since = later["person_id"].map(close.set_index("person_id")["contact_at"])
    onward = later[later["end"] >= since].rename(columns={"person_id": "source_person_id"})
    exclude = {person_id, *close["person_id"].tolist()}
    second = overlapping(conn, onward, params, exclude)
    contact_since = second["via_person_id"].map(close.set_index("person_id")["contact_at"])
    second = second[second["contact_at"] >= contact_since]
    return pd.concat([close, _first_contact(second, 2)], ignore_index=True)


class UnknownPerson(LookupError):
    """No person has this ID number under this instance's secret."""


def trace_report(engine: Engine, raw_id: str, secret: str, until: datetime, who: str,
                 params: TraceParams | None = None) -> pd.DataFrame:
    """Contacts of the person with this ID number, as a list a duty officer hands on: tier
    (close | secondary), person_key, venue_code, contact_at, via (a person_key). Audited as
    one look at a named person, in the same transaction as the read."""
    key = person_key(raw_id, secret)
    with engine.begin() as conn:
        found = conn.execute(select(persons.c.id).where(persons.c.person_key == key)).scalar()
        if found is None:
            raise UnknownPerson("no person with this ID number: check it (it is matched "
                                "through this instance's secret key)")
        contacts = trace_contacts(conn, found, until, params)
        ids = {found, *contacts["person_id"].tolist(), *contacts["via_person_id"].tolist()}
        keys = dict(raw_rows(conn, select(persons.c.id, persons.c.person_key)
                             .where(persons.c.id.in_(sorted(int(i) for i in ids)))))
        codes = dict(raw_rows(conn, select(venues.c.id, venues.c.code).where(
            venues.c.id.in_(sorted(int(v) for v in contacts["venue_id"].unique())))))
        record(conn, "trace", username=who, subject=f"person {key}",
               detail=f"{len(contacts)} contacts, {(params or TraceParams()).days} days to "
                      f"{until:%Y-%m-%d %H:%M}")
    return pd.DataFrame({
        "tier": contacts["tier"].map({1: "close", 2: "secondary"}),
        "person_key": contacts["person_id"].map(keys),
        "venue_code": contacts["venue_id"].map(codes),
        "contact_at": pd.to_datetime(contacts["contact_at"]),
        "via": contacts["via_person_id"].map(keys),
    }).sort_values(["tier", "contact_at"], ignore_index=True)
