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
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    Table,
    func,
    select,
)

from placecode.auth.audit import record
from placecode.db import schema
from placecode.db.bulk import bulk_insert
from placecode.db.fast import epoch_seconds, raw_rows, temp_values
from placecode.db.schema import persons, scans, venues
from placecode.pseudonym import person_key

# Minutes a visit lasts when the scan has no check-out (buses and taxis: one ride).
DEFAULT_DWELL_MINUTES = {
    "shop": 20, "enterprise": 480, "restaurant": 60, "residential": 60, "government": 60,
    "supermarket": 30, "hotel": 720, "mall": 90, "bus": 30, "taxi": 20,
}
PERSON_CHUNK = 500  # persons per IN list
VISIT_COLUMNS = ["person_id", "venue_id", "kind", "start", "end"]
CONTACT_COLUMNS = ["person_id", "tier", "venue_id", "contact_at", "via_person_id"]


@dataclass(frozen=True)
class TraceParams:
    days: int = 14
    tolerance: timedelta = timedelta(minutes=30)
    dwell_minutes: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_DWELL_MINUTES))
    default_dwell_minutes: int = 30
    # A check-out is believed up to this long after the scan: a forgotten one must not make a
    # person the contact of everyone who came to that venue for days.
    max_stay: timedelta = timedelta(hours=24)

    def dwell(self, kinds: pd.Series) -> pd.Series:
        return pd.to_timedelta(kinds.map(self.dwell_minutes)
                               .fillna(self.default_dwell_minutes), unit="min")


def _ends(start: pd.Series, checkout: pd.Series, dwell: pd.Series,
          params: TraceParams) -> pd.Series:
    """End of each visit: its check-out (capped at max_stay), else start + the kind's dwell."""
    checkout = checkout.where(checkout.notna() & (checkout >= start))
    return checkout.clip(upper=start + params.max_stay).fillna(start + dwell)


def _intervals(rows: list[tuple], params: TraceParams) -> pd.DataFrame:
    """(person_id, venue_id, kind, ts, checkout_ts) rows, times as epoch seconds (check-out 0
    when absent) -> visits with start and end."""
    frame = pd.DataFrame(rows, columns=["person_id", "venue_id", "kind", "start", "checkout"])
    frame["start"] = frame["start"].to_numpy(np.int64).astype("datetime64[s]")
    out = frame.pop("checkout").to_numpy(np.int64)
    checkout = pd.Series(np.where(out > 0, out, np.iinfo(np.int64).min)
                         .astype("datetime64[s]"), index=frame.index)
    frame["end"] = _ends(frame["start"], checkout, params.dwell(frame["kind"]), params)
    return frame[VISIT_COLUMNS]


def person_visits(conn: Connection, person_ids, start: datetime, end: datetime,
                  params: TraceParams) -> pd.DataFrame:
    """Visits of the given persons with scans in [start, end), in time order."""
    ids = sorted({int(p) for p in person_ids})
    parts = []
    s = scans.c
    for i in range(0, len(ids), PERSON_CHUNK):
        query = (select(s.person_id, s.venue_id, venues.c.kind, epoch_seconds(s.ts),
                        func.coalesce(epoch_seconds(s.checkout_ts), 0))
                 .join(venues, venues.c.id == s.venue_id)
                 .where(s.person_id.in_(ids[i:i + PERSON_CHUNK]), s.ts >= start, s.ts < end))
        parts.append(_intervals(raw_rows(conn, query), params))
    out = pd.concat(parts, ignore_index=True) if parts else _intervals([], params)
    return out.sort_values(["person_id", "start"], ignore_index=True)


def _seconds(values) -> np.ndarray:
    return np.asarray(values, dtype="datetime64[s]").astype(np.int64)


def _merge(venue: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Per venue, the union of the intervals [lo, hi] as disjoint intervals sorted by venue
    and time (so that both their starts and their ends are sorted as (venue, time) keys)."""
    order = np.lexsort((lo, venue))
    venue, lo, hi = venue[order], lo[order], hi[order]
    reach = np.maximum.accumulate(_key(venue, hi))  # furthest end so far (keys carry the venue)
    new = np.ones(len(venue), dtype=bool)
    new[1:] = _key(venue[1:], lo[1:]) > reach[:-1]
    starts = np.flatnonzero(new)
    return venue[starts], lo[starts], np.maximum.reduceat(hi, starts) if len(starts) else hi


def _key(venue: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """(venue, time) as one sortable int64: venue ids and epoch seconds both fit 32 bits."""
    return (venue.astype(np.int64) << 32) | seconds.astype(np.int64)


def _windows_table() -> Table:
    ts = schema.Timestamp
    return Table("trace_windows", MetaData(), Column("i", Integer, primary_key=True),
                 Column("venue_id", BigInteger), Column("lo", ts), Column("hi", ts),
                 prefixes=["TEMPORARY"])


def _scans_in(conn: Connection, venue, lo, hi, with_checkout: bool) -> list[tuple]:
    """Scans at each venue with ts in its [lo, hi] (disjoint per venue), without or with a
    check-out, each through its covering index: venue_id, person_id, ts(, checkout_ts)."""
    if not len(venue):
        return []
    table = _windows_table()
    table.drop(conn, checkfirst=True)
    table.create(conn)
    try:
        bulk_insert(conn, table, {"i": np.arange(len(venue)), "venue_id": venue,
                                  "lo": lo.astype("datetime64[s]"),
                                  "hi": hi.astype("datetime64[s]")})
        w, s = table.c, scans.c
        within = (s.venue_id == w.venue_id) & (s.ts >= w.lo) & (s.ts <= w.hi)
        if with_checkout:
            query = select(w.venue_id, s.person_id, s.ts, s.checkout_ts).select_from(
                table.join(scans, within & s.checkout_ts.is_not(None)))
        else:
            query = select(w.venue_id, s.person_id, epoch_seconds(s.ts)).select_from(
                table.join(scans, within & s.checkout_ts.is_(None)))
        return raw_rows(conn, query)
    finally:
        table.drop(conn)


def _candidate_visits(conn: Connection, windows: pd.DataFrame,
                      params: TraceParams) -> pd.DataFrame:
    """Visits that may overlap a window: scans starting up to the kind's dwell before it (or,
    with a check-out, up to max_stay before it) and before its end. Times in int64 seconds."""
    venue, lo, hi = (windows["venue_id"].to_numpy(), _seconds(windows["lo"]),
                     _seconds(windows["hi"]))
    dwell = windows["dwell"].to_numpy()
    dwell_of = pd.Series(dwell, index=venue).groupby(level=0).first()
    near = _scans_in(conn, *_merge(venue, lo - dwell, hi), with_checkout=False)
    stays = _scans_in(conn, *_merge(venue, lo - int(params.max_stay.total_seconds()), hi),
                      with_checkout=True)
    parts = []
    if near:
        v, p, start = np.array(near, dtype=np.int64).T
        parts.append(pd.DataFrame({"person_id": p, "venue_id": v, "start": start,
                                   "end": start + dwell_of.reindex(v).to_numpy()}))
    if stays:
        frame = pd.DataFrame(stays, columns=["venue_id", "person_id", "start", "checkout"])
        start = pd.to_datetime(frame["start"])
        end = _ends(start, pd.to_datetime(frame["checkout"]),
                    pd.to_timedelta(frame["venue_id"].map(dwell_of), unit="s"), params)
        parts.append(pd.DataFrame({"person_id": frame["person_id"].to_numpy(np.int64),
                                   "venue_id": frame["venue_id"].to_numpy(np.int64),
                                   "start": _seconds(start), "end": _seconds(end)}))
    if not parts:
        return pd.DataFrame({c: np.zeros(0, np.int64)
                             for c in ("person_id", "venue_id", "start", "end")})
    return pd.concat(parts, ignore_index=True)


def _contacts(conn: Connection, windows: pd.DataFrame, params: TraceParams, tier: int,
              exclude: set[int]) -> pd.DataFrame:
    """Each person (not in `exclude`) whose visit overlaps a window at the same venue, once,
    at the earliest moment of overlap. `windows`: venue_id, lo, hi (the source visit widened
    by the tolerance), dwell (seconds, the venue kind's), source_person_id."""
    if windows.empty:
        return pd.DataFrame(columns=CONTACT_COLUMNS)
    found = _candidate_visits(conn, windows, params)
    person, v_venue, start, end = (found[c].to_numpy(np.int64) for c in
                                   ("person_id", "venue_id", "start", "end"))
    keep = ~np.isin(person, np.fromiter(exclude, np.int64, len(exclude)))
    person, v_venue, start, end = person[keep], v_venue[keep], start[keep], end[keep]
    venue = windows["venue_id"].to_numpy()
    lo, hi = _seconds(windows["lo"]), _seconds(windows["hi"])
    # the first merged window ending at or after the visit's start: a contact if it begins
    # before the visit's end, from max(visit start, window start)
    m_venue, m_lo, m_hi = _merge(venue, lo, hi)
    k = np.searchsorted(_key(m_venue, m_hi), _key(v_venue, start))
    k_ok = np.minimum(k, len(m_venue) - 1)
    hit = (k < len(m_venue)) & (m_venue[k_ok] == v_venue) & (m_lo[k_ok] <= end)
    person, v_venue = person[hit], v_venue[hit]
    contact_at = np.maximum(start[hit], m_lo[k_ok][hit])
    # each person once, at their earliest contact
    by = np.lexsort((contact_at, person))
    first_of = np.ones(len(by), dtype=bool)
    first_of[1:] = person[by][1:] != person[by][:-1]
    pick = by[first_of]
    first = pd.DataFrame({"person_id": person[pick], "venue_id": v_venue[pick],
                          "contact_at": contact_at[pick]})
    # who passed it on: of the windows at that venue starting by then, the one reaching
    # furthest (it covers the moment, since the moment lies in their union)
    order = np.lexsort((lo, venue))
    reach = np.maximum.accumulate(_key(venue[order], hi[order]))
    last_best = np.maximum.accumulate(np.where(_key(venue[order], hi[order]) == reach,
                                               np.arange(len(order)), 0))
    j = np.searchsorted(_key(venue[order], lo[order]),
                        _key(first["venue_id"].to_numpy(), first["contact_at"].to_numpy()),
                        side="right") - 1
    via = windows["source_person_id"].to_numpy()[order[last_best[j]]]
    return pd.DataFrame({
        "person_id": first["person_id"].to_numpy(), "tier": tier,
        "venue_id": first["venue_id"].to_numpy(),
        "contact_at": first["contact_at"].to_numpy().astype("datetime64[s]"),
        "via_person_id": via})


def _windows(visits: pd.DataFrame, params: TraceParams, since=None) -> pd.DataFrame:
    """Visits widened by the tolerance; with `since` (a time per visit), only the visits not
    over by then, cut to start there."""
    lo = visits["start"] - params.tolerance
    if since is not None:
        keep = visits["end"] >= since
        visits, lo, since = visits[keep], lo[keep], since[keep]
        lo = lo.where(lo >= since, since)
    windows = pd.DataFrame({"venue_id": visits["venue_id"], "lo": lo,
                            "hi": visits["end"] + params.tolerance,
                            "dwell": params.dwell(visits["kind"]).dt.total_seconds()
                            .astype(np.int64),
                            "source_person_id": visits["person_id"]})
    return windows[windows["lo"] <= windows["hi"]].reset_index(drop=True)


def trace_contacts(conn: Connection, person_id: int, until: datetime,
                   params: TraceParams | None = None) -> pd.DataFrame:
    """Close (tier 1) and secondary (tier 2) contacts of `person_id` in the `params.days` days
    before `until`. Columns: person_id, tier, venue_id, contact_at (first contact), via_person_id
    (the index person, or the close contact who passed it on)."""
    params = params or TraceParams()
    start = until - timedelta(days=params.days)
    index_visits = person_visits(conn, [person_id], start, until, params)
    close = _contacts(conn, _windows(index_visits, params), params, 1, {person_id})
    if close.empty:
        return close
    later = person_visits(conn, close["person_id"], start, until, params)
    since = later["person_id"].map(close.set_index("person_id")["contact_at"])
    second = _contacts(conn, _windows(later, params, since), params, 2,
                       {person_id, *close["person_id"].tolist()})
    return pd.concat([close, second], ignore_index=True)


def person_keys(conn: Connection, ids) -> pd.Series:
    """person id -> pseudonymous key, through one join on a temporary table: a heavy trace has
    300k ids, past SQLite's bind-variable limit for an IN list (and 0.3 s against 1.4 s)."""
    with temp_values(conn, "trace_ids", np.asarray(ids, dtype=np.int64), BigInteger()) as wanted:
        rows = raw_rows(conn, select(persons.c.id, persons.c.person_key)
                        .join(wanted, wanted.c.v == persons.c.id))
    return pd.Series({i: k for i, k in rows}, dtype=object)


def venue_codes(conn: Connection, ids) -> pd.Series:
    """venue id -> code, the same way (a heavy trace meets ~10k venues)."""
    with temp_values(conn, "trace_venues", np.asarray(ids, dtype=np.int64),
                     BigInteger()) as wanted:
        rows = raw_rows(conn, select(venues.c.id, venues.c.code)
                        .join(wanted, wanted.c.v == venues.c.id))
    return pd.Series({i: c for i, c in rows}, dtype=object)


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
        keys = person_keys(conn, np.append(contacts["person_id"].to_numpy(np.int64), found))
        codes = venue_codes(conn, contacts["venue_id"].unique())
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
