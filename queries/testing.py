"""Reads behind the testing page (issue 8): testing progress per community and building, batch
plans and their progress, volunteer-pass checks, key-area arrivals × hotels, sampling sites.

Viewer (enforced here, never in a layout):
- admin, city commanders, district commanders, duty officers and planners open the page;
  field staff and wall displays are refused;
- district commanders and duty officers see their own district only;
- planners see aggregates only: progress per community and building, batch plans and their
  progress, sampling sites; the person-level lists (passes, arrivals) are refused, and they
  make no plans;
- every view of a person-level list is audit-logged (one row per view, naming the list).

Testing progress reads `persons.last_test_at` (kept by the tests feed, placecode.testing.progress)
through the covering index (district_id, community_id, building_id, last_test_at): a district's
overview is one index range, never a join to the tests table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, case, func, or_, select

from placecode.auth.audit import record
from placecode.auth.policy import Viewer, district_for, require
from placecode.db.schema import (
    arrivals,
    buildings,
    communities,
    districts,
    hotel_stays,
    person_status,
    persons,
    sampling_sites,
    scans,
    subdistricts,
    test_batches,
    tests,
    venues,
    volunteer_passes,
)
from placecode.i18n import UserError
from placecode.testing import batches as plans
from placecode.testing.checks import (
    ARRIVAL_DAYS,
    arrival_flags,
    monitoring_ends,
    shared_scan_pairs,
)
from queries.alerts import mask_key
from queries.areas import districts_of

SHARED_LOOKBACK = timedelta(hours=24)  # scans of pass holders checked for sharing
COUNT_COLUMNS = ["residents", "tested_today", "tested_24h", "tested_48h"]


class UnknownArea(UserError, LookupError):
    """No community or district has this id."""


PlanError = plans.PlanError


# -- scope -----------------------------------------------------------------------------------------

def check_viewer(scope: Viewer) -> int | None:
    """The one district this viewer is limited to (None: any district); refuses other roles."""
    return district_for(scope, "testing")


def _district(scope: Viewer, district_id: int | None) -> int | None:
    return district_for(scope, "testing", district_id)


def _check_persons(scope: Viewer) -> None:
    check_viewer(scope)
    require(scope, "persons")


def _check_planner(scope: Viewer) -> None:
    district_for(scope, "plan_tests")


def _community(conn: Connection, scope: Viewer, community_id) -> dict:
    c, d = communities.c, districts.c
    try:
        cid = int(community_id)
    except (TypeError, ValueError):
        raise UnknownArea("area_not_id", value=str(community_id)[:32]) from None
    row = conn.execute(select(c.id, c.district_id, c.name_zh, c.name_en, d.name_zh, d.name_en)
                       .join(districts, d.id == c.district_id).where(c.id == cid)).first()
    if row is None:
        raise UnknownArea("area_unknown", id=cid)
    district_for(scope, "testing", row[1])
    return dict(zip(("community_id", "district_id", "name_zh", "name_en", "district_zh",
                     "district_en"), row, strict=True))


# -- the clock -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Windows:
    """The moments testing progress counts from, for the page's `now`."""

    now: datetime
    today: datetime  # midnight of now's day
    h24: datetime
    h48: datetime

    @classmethod
    def at(cls, now: datetime) -> Windows:
        return cls(now, datetime.combine(now.date(), time()), now - timedelta(hours=24),
                   now - timedelta(hours=48))


def _counts(last_test, w: Windows) -> list:
    """Residents, and those whose latest test is at or after each window's start."""
    def since(moment):
        return func.coalesce(func.sum(case((last_test >= moment, 1), else_=0)), 0)
    return [func.count(), since(w.today), since(w.h24), since(w.h48)]


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    for col in COUNT_COLUMNS:
        frame[col] = frame[col].fillna(0).astype("int64")
    frame["untested_48h"] = frame["residents"] - frame["tested_48h"]
    with np.errstate(invalid="ignore", divide="ignore"):
        for span in ("24h", "48h"):
            frame[f"pct_{span}"] = np.where(
                frame["residents"] > 0,
                (100.0 * frame[f"tested_{span}"] / frame["residents"].where(
                    frame["residents"] > 0, 1)).round(1), np.nan)
    return frame


# -- options ---------------------------------------------------------------------------------------

def district_options(engine: Engine, scope: Viewer) -> pd.DataFrame:
    """Districts the viewer may pick. Columns: district_id, name_zh, name_en."""
    return districts_of(engine, check_viewer(scope))


def community_options(engine: Engine, scope: Viewer, district_id: int | None) -> pd.DataFrame:
    """The district's communities by id. Columns: community_id, name_zh, name_en."""
    district = _district(scope, district_id)
    columns = ["community_id", "name_zh", "name_en"]
    if district is None:
        return pd.DataFrame(columns=columns)
    c = communities.c
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(select(c.id, c.name_zh, c.name_en)
                                         .where(c.district_id == district).order_by(c.id)).all(),
                            columns=columns)


# -- testing progress ------------------------------------------------------------------------------

def district_progress(engine: Engine, scope: Viewer, district_id: int | None,
                      now: datetime) -> pd.DataFrame:
    """Testing progress per community of a district, furthest behind first.

    Counts residents (persons registered in the community) and those whose latest test (any
    kind, any result, by sampled_at) is at or after midnight of `now`'s day, `now` − 24 h and
    `now` − 48 h.

    Returns
    -------
    Columns: community_id, name_zh, name_en, subdistrict_zh, subdistrict_en, residents,
    tested_today, tested_24h, tested_48h, untested_48h, pct_24h, pct_48h (percent of residents,
    NaN when nobody lives there). Sorted by pct_48h, then pct_24h, ascending (communities with
    no residents last), then community id.
    """
    district = _district(scope, district_id)
    if district is None:
        raise UnknownArea("area_choose_district")
    w = Windows.at(now)
    p, c, s = persons.c, communities.c, subdistricts.c
    with engine.connect() as conn:
        counts = pd.DataFrame(conn.execute(
            select(p.community_id, *_counts(p.last_test_at, w))
            .where(p.district_id == district).group_by(p.community_id)).all(),
            columns=["community_id", *COUNT_COLUMNS])
        names = pd.DataFrame(conn.execute(
            select(c.id, c.name_zh, c.name_en, s.name_zh, s.name_en)
            .join(subdistricts, s.id == c.subdistrict_id).where(c.district_id == district)).all(),
            columns=["community_id", "name_zh", "name_en", "subdistrict_zh", "subdistrict_en"])
    frame = _finish(names.merge(counts, on="community_id", how="left"))
    return frame.sort_values(["pct_48h", "pct_24h", "community_id"], na_position="last",
                             kind="stable").reset_index(drop=True)


def community_buildings(engine: Engine, scope: Viewer, community_id: int,
                        now: datetime) -> tuple[dict, pd.DataFrame]:
    """Testing progress per building of one community, furthest behind first.

    Returns
    -------
    (community, frame). community keys: community_id, district_id, name_zh, name_en,
    district_zh, district_en. frame columns: building_id, name, lon, lat (degrees), residents,
    tested_today, tested_24h, tested_48h, untested_48h, pct_24h, pct_48h; every building of the
    community, those with nobody registered at 0 residents (NaN percent, last).
    """
    w = Windows.at(now)
    p, b = persons.c, buildings.c
    with engine.connect() as conn:
        community = _community(conn, scope, community_id)
        cid = community["community_id"]
        counts = pd.DataFrame(conn.execute(
            select(p.building_id, *_counts(p.last_test_at, w))
            .where(p.district_id == community["district_id"], p.community_id == cid)
            .group_by(p.building_id)).all(), columns=["building_id", *COUNT_COLUMNS])
        homes = pd.DataFrame(conn.execute(select(b.id, b.name, b.lon, b.lat)
                                          .where(b.community_id == cid)).all(),
                             columns=["building_id", "name", "lon", "lat"])
    frame = _finish(homes.merge(counts, on="building_id", how="left"))
    frame["order"] = frame["name"].map(plans.natural_key)
    frame = frame.sort_values(["pct_48h", "pct_24h", "order", "building_id"],
                              na_position="last", kind="stable")
    return community, frame.drop(columns="order").reset_index(drop=True)


# -- batch plans -----------------------------------------------------------------------------------

def propose_plan(engine: Engine, scope: Viewer, community_id: int, start: datetime,
                 slot_minutes: int, batches: int, now: datetime) -> plans.Plan:
    """A plan for the community's next round (not saved): its buildings in name order, cut into
    `batches` runs of about even residents, one slot of `slot_minutes` each from `start`.
    Raises PlanError (the field) or Refused."""
    _check_planner(scope)
    community, frame = community_buildings(engine, scope, community_id, now)
    return plans.make_plan(community["community_id"], community["district_zh"],
                           community["name_zh"], frame[["building_id", "name", "residents"]],
                           start, slot_minutes, batches)


def save_plan(engine: Engine, scope: Viewer, plan: plans.Plan, *, username: str,
              user_id: int | None = None, now: datetime) -> list[int]:
    """Store a proposed plan, audit-logged. Raises PlanError when the community already has a
    plan for the round, Refused outside the viewer's district. Returns the batch ids."""
    _check_planner(scope)
    with engine.begin() as conn:
        _community(conn, scope, plan.community_id)
        return plans.save_plan(conn, plan, username=username, user_id=user_id, now=now)


def notify_batch(engine: Engine, scope: Viewer, batch_id: int, *, username: str,
                 user_id: int | None = None, now: datetime, sms_url: str = ""
                 ) -> tuple[int, int]:
    """Mark a batch notified (who, when) and queue its residents' SMS, audit-logged; twice is
    refused with PlanError. Returns (SMS queued, residents without a registered phone)."""
    _check_planner(scope)
    with engine.begin() as conn:
        cid = conn.execute(select(test_batches.c.community_id)
                           .where(test_batches.c.id == int(batch_id))).scalar()
        if cid is None:
            raise PlanError("plan_no_batch", batch=int(batch_id))
        _community(conn, scope, cid)
        return plans.mark_notified(conn, int(batch_id), username=username, user_id=user_id,
                                   now=now, sms_url=sms_url)


BATCH_COLUMNS = ["batch_id", "round_start", "batch_no", "slot_start", "slot_end",
                 "building_ids", "message", "created_at", "created_by", "notified_at",
                 "notified_by"]


def batch_progress(engine: Engine, scope: Viewer, community_id: int) -> pd.DataFrame:
    """The community's saved batches, newest round first, with their progress.

    Returns
    -------
    Columns: BATCH_COLUMNS (building_ids a list of ints, message the newline-joined
    per-building texts), buildings (their names, in order), residents (of those buildings now),
    tested (of them, latest test at or after round_start), pct (NaN without residents).
    """
    b, p, bl = test_batches.c, persons.c, buildings.c
    with engine.connect() as conn:
        community = _community(conn, scope, community_id)
        cid = community["community_id"]
        rows = pd.DataFrame(conn.execute(
            select(b.id, b.round_start, b.batch_no, b.slot_start, b.slot_end, b.building_ids,
                   b.message, b.created_at, b.created_by, b.notified_at, b.notified_by)
            .where(b.community_id == cid)
            .order_by(b.round_start.desc(), b.batch_no)).all(), columns=BATCH_COLUMNS)
        names = dict(conn.execute(select(bl.id, bl.name).where(bl.community_id == cid)).all())
        progress = {}
        for round_start in rows["round_start"].unique():
            start = pd.Timestamp(round_start).to_pydatetime()
            progress[start] = {r[0]: (r[1], r[2]) for r in conn.execute(
                select(p.building_id, func.count(),
                       func.coalesce(func.sum(case((p.last_test_at >= start, 1), else_=0)), 0))
                .where(p.district_id == community["district_id"], p.community_id == cid)
                .group_by(p.building_id)).all()}
    rows["building_ids"] = [[int(x) for x in str(v).split(",") if x] for v in rows["building_ids"]]
    rows["buildings"] = [[names.get(i, str(i)) for i in ids] for ids in rows["building_ids"]]
    residents, tested = [], []
    for r in rows.itertuples():
        got = progress[pd.Timestamp(r.round_start).to_pydatetime()]
        residents.append(sum(int(got.get(i, (0, 0))[0]) for i in r.building_ids))
        tested.append(sum(int(got.get(i, (0, 0))[1]) for i in r.building_ids))
    rows["residents"], rows["tested"] = residents, tested
    rows["pct"] = [round(100.0 * t / n, 1) if n else np.nan
                   for t, n in zip(tested, residents, strict=True)]
    return rows


# -- volunteer passes ------------------------------------------------------------------------------

@dataclass
class PassCheck:
    """Passes with a problem, and the scan pairs behind the "shared" ones."""

    passes: pd.DataFrame  # one row per pass with a problem
    shared: pd.DataFrame  # one row per pair of scans
    holders: int  # passes looked at


PASS_COLUMNS = ["pass_row", "pass_id", "organisation", "issued_on", "expires_on", "person_id",
                "person_key", "district_id"]


def _audit_view(engine: Engine, action: str, district: int | None, rows: int, *,
                username: str, user_id: int | None, now: datetime) -> None:
    with engine.begin() as conn:
        record(conn, action, user_id=user_id, username=username,
               subject=f"district {district if district is not None else 'all'}",
               detail=json.dumps({"rows": int(rows)}), now=now)


def check_passes(engine: Engine, scope: Viewer, district_id: int | None, now: datetime,
                 hours: int, *, username: str, user_id: int | None = None,
                 audit: bool = True) -> PassCheck:
    """Volunteer passes of the district's residents that are expired, invalid or shared.

    A pass is expired when expires_on is before `now`'s day; invalid without a negative test
    sampled in [now − `hours` h, now]; shared when its holder's scans of the last 24 h hold a
    pair that one person cannot have made (placecode.testing.checks.shared_scan_pairs).
    Viewing the list is audit-logged ("view_pass_checks") unless `audit` is False (counts).

    Returns
    -------
    PassCheck. passes columns: pass_id, organisation, issued_on, expires_on, district_id,
    person (masked key), last_negative (NaT when none up to now), expired, invalid, shared
    (bools), problems (comma-separated: expired, no_test, shared); ordered by pass_id.
    shared columns: pass_id, person, ts_1, venue_1 (name), code_1, district_1, ts_2, venue_2,
    code_2, district_2, minutes, km. Raises Refused for planners and other districts.
    """
    _check_persons(scope)
    district = _district(scope, district_id)
    vp, p, t_, s, v = volunteer_passes.c, persons.c, tests.c, scans.c, venues.c
    today = now.date()
    holders = select(vp.person_id).join(persons, p.id == vp.person_id)
    where = [] if district is None else [p.district_id == district]
    last_negative = (select(func.max(t_.sampled_at))
                     .where(t_.person_id == vp.person_id, t_.result == "negative",
                            t_.sampled_at <= now).scalar_subquery())
    with engine.connect() as conn:
        passes = pd.DataFrame(conn.execute(
            select(vp.id, vp.pass_id, vp.organisation, vp.issued_on, vp.expires_on, vp.person_id,
                   p.person_key, p.district_id, last_negative)
            .join(persons, p.id == vp.person_id).where(*where).order_by(vp.pass_id)).all(),
            columns=[*PASS_COLUMNS, "last_negative"])
        seen = pd.DataFrame(conn.execute(
            select(s.id, s.person_id, s.ts, s.venue_id, v.lon, v.lat, v.mobile, v.name, v.code,
                   v.district_id)
            .join(venues, v.id == s.venue_id)
            .where(s.person_id.in_(holders.where(*where)), s.ts >= now - SHARED_LOOKBACK,
                   s.ts <= now)).all(),
            columns=["scan_row", "person_id", "ts", "venue_id", "lon", "lat", "mobile", "venue",
                     "code", "district"])
    passes["last_negative"] = pd.to_datetime(passes["last_negative"])
    passes["expired"] = [pd.Timestamp(e).date() < today for e in passes["expires_on"]]
    passes["invalid"] = ~(passes["last_negative"] >= pd.Timestamp(now - timedelta(hours=hours)))
    pairs = shared_scan_pairs(seen)
    passes["shared"] = passes["person_id"].isin(pairs["person_id"])
    text = pd.Series("", index=passes.index, dtype=object)
    for col, name in (("expired", "expired"), ("invalid", "no_test"), ("shared", "shared")):
        text = text + np.where(passes[col].to_numpy(dtype=bool), name + ",", "")
    passes["problems"] = text.str.rstrip(",")
    passes["person"] = passes["person_key"].map(mask_key)
    out = passes[passes["problems"] != ""].reset_index(drop=True)
    holder = passes.drop_duplicates("person_id").set_index("person_id")
    shared = pd.DataFrame({
        "pass_id": pairs["person_id"].map(
            passes[passes["shared"]].groupby("person_id")["pass_id"].agg(", ".join)).to_numpy(),
        "person": pairs["person_id"].map(holder["person"]).to_numpy(),
        **{f"{c}_{i}": pairs.get(f"{c}_{i}", pd.Series(dtype=object)).to_numpy()
           for i in (1, 2) for c in ("ts", "venue", "code", "district")},
        "minutes": pairs["minutes"].to_numpy(), "km": pairs["km"].to_numpy(),
    })
    shared = shared[["pass_id", "person", "ts_1", "venue_1", "code_1", "district_1", "ts_2",
                     "venue_2", "code_2", "district_2", "minutes", "km"]]
    if audit:
        _audit_view(engine, "view_pass_checks", district, len(out), username=username,
                    user_id=user_id, now=now)
    keep = ["pass_id", "organisation", "issued_on", "expires_on", "district_id", "person",
            "last_negative", "expired", "invalid", "shared", "problems"]
    return PassCheck(out[keep], shared.sort_values(["ts_1", "pass_id"]).reset_index(drop=True),
                     len(passes))


# -- arrivals × hotels -----------------------------------------------------------------------------

ARRIVAL_COLUMNS = ["arrival_id", "person_id", "person_key", "district_id", "community_id",
                   "arrived_at", "origin", "stay_kind", "monitoring_days", "address",
                   "monitoring_until"]


def arrivals_hotels(engine: Engine, scope: Viewer, district_id: int | None, now: datetime, *,
                    username: str, user_id: int | None = None,
                    audit: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Key-area arrivals of the last 14 days (residents of the district) matched to hotel stays
    and to scans at hotel venues since arrival, flagged when not in home monitoring
    (placecode.testing.checks.arrival_flags). Viewing is audit-logged ("view_arrival_checks")
    unless `audit` is False.

    Returns
    -------
    (by_hotel, rows). rows, newest arrival first: arrival_id, person (masked), district_id,
    community_id, arrived_at, origin, stay_kind, address, monitoring_days, monitoring_ends,
    monitoring_until (NaT: none on record), hotel_id, hotel (name; the stay's hotel, else the
    last hotel scanned; "" when none), hotel_district, hotel_scans, reasons (comma-separated
    reasons, "" when not flagged), flagged. by_hotel: hotel_id (0: no hotel), hotel,
    hotel_district, arrivals, flagged; most flagged first.
    """
    _check_persons(scope)
    district = _district(scope, district_id)
    a, p, ps, hs, s, v = (arrivals.c, persons.c, person_status.c, hotel_stays.c, scans.c,
                          venues.c)
    since = now - timedelta(days=ARRIVAL_DAYS)
    where = [a.key_area.is_(True), a.arrived_at >= since, a.arrived_at <= now]
    if district is not None:
        where.append(p.district_id == district)
    with engine.connect() as conn:
        rows = pd.DataFrame(conn.execute(
            select(a.id, a.person_id, p.person_key, p.district_id, p.community_id, a.arrived_at,
                   a.origin, a.stay_kind, a.monitoring_days, a.address, ps.monitoring_until)
            .join(persons, p.id == a.person_id)
            .outerjoin(person_status, ps.person_id == a.person_id).where(*where)).all(),
            columns=ARRIVAL_COLUMNS)
        who = select(a.person_id).join(persons, p.id == a.person_id).where(*where)
        stays = pd.DataFrame(conn.execute(
            select(hs.person_id, hs.venue_id, hs.check_in, hs.check_out)
            .where(hs.person_id.in_(who), hs.check_in <= now,
                   or_(hs.check_out.is_(None), hs.check_out >= since))).all(),
            columns=["person_id", "venue_id", "check_in", "check_out"])
        hotel_scans = pd.DataFrame(conn.execute(
            select(s.person_id, s.ts, s.venue_id).join(venues, v.id == s.venue_id)
            .where(s.person_id.in_(who), s.ts >= since, s.ts <= now, v.kind == "hotel")).all(),
            columns=["person_id", "ts", "venue_id"])
        hotel_ids = sorted(set(stays["venue_id"]) | set(hotel_scans["venue_id"]))
        hotels = pd.DataFrame(conn.execute(
            select(v.id, v.name, v.district_id).where(v.id.in_(hotel_ids))).all(),
            columns=["hotel_id", "hotel", "hotel_district"]).set_index("hotel_id") \
            if hotel_ids else pd.DataFrame(columns=["hotel", "hotel_district"])
    rows["arrived_at"] = pd.to_datetime(rows["arrived_at"])
    rows["monitoring_until"] = pd.to_datetime(rows["monitoring_until"])
    rows["monitoring_ends"] = monitoring_ends(rows["arrived_at"], rows["monitoring_days"])
    # a stay counts when it overlaps [arrival, end of monitoring or now]; the latest one wins
    period = rows[["arrival_id", "person_id", "arrived_at"]].assign(
        end=rows["monitoring_ends"].clip(upper=pd.Timestamp(now)))
    stays["check_in"] = pd.to_datetime(stays["check_in"])
    stays["check_out"] = pd.to_datetime(stays["check_out"])
    hit = period.merge(stays, on="person_id")
    hit = hit[(hit["check_in"] <= hit["end"])
              & (hit["check_out"].isna() | (hit["check_out"] >= hit["arrived_at"]))]
    stay_of = hit.sort_values("check_in").groupby("arrival_id")["venue_id"].last()
    hotel_scans["ts"] = pd.to_datetime(hotel_scans["ts"])
    seen = period.merge(hotel_scans, on="person_id")
    seen = seen[seen["ts"] >= seen["arrived_at"]].sort_values("ts")
    rows["stay_venue_id"] = rows["arrival_id"].map(stay_of)
    rows["hotel_scans"] = rows["arrival_id"].map(seen.groupby("arrival_id").size()) \
        .fillna(0).astype("int64")
    scanned_hotel = rows["arrival_id"].map(seen.groupby("arrival_id")["venue_id"].last())
    rows["reasons"] = arrival_flags(rows, now)
    rows["flagged"] = rows["reasons"] != ""
    hotel_id = rows["stay_venue_id"].fillna(scanned_hotel)
    rows["hotel_id"] = hotel_id.fillna(0).astype("int64")
    rows["hotel"] = rows["hotel_id"].map(hotels["hotel"]).fillna("")
    rows["hotel_district"] = rows["hotel_id"].map(hotels["hotel_district"])
    rows["person"] = rows["person_key"].map(mask_key)
    rows = rows.sort_values(["arrived_at", "arrival_id"], ascending=False).reset_index(drop=True)
    by_hotel = (rows.groupby(["hotel_id", "hotel"], dropna=False)
                .agg(hotel_district=("hotel_district", "first"), arrivals=("arrival_id", "size"),
                     flagged=("flagged", "sum")).reset_index()
                .sort_values(["flagged", "arrivals", "hotel_id"], ascending=[False, False, True])
                .reset_index(drop=True))
    by_hotel["flagged"] = by_hotel["flagged"].astype("int64")
    if audit:
        _audit_view(engine, "view_arrival_checks", district, len(rows), username=username,
                    user_id=user_id, now=now)
    keep = ["arrival_id", "person", "district_id", "community_id", "arrived_at", "origin",
            "stay_kind", "address", "monitoring_days", "monitoring_ends", "monitoring_until",
            "hotel_id", "hotel", "hotel_district", "hotel_scans", "reasons", "flagged"]
    return by_hotel, rows[keep]


# -- sampling sites --------------------------------------------------------------------------------

def site_throughput(engine: Engine, scope: Viewer, district_id: int | None,
                    now: datetime) -> pd.DataFrame:
    """The district's sampling sites with today's samples (tests sampled from midnight to `now`
    naming the site), busiest relative to capacity first.

    Returns
    -------
    Columns: site_id, name, district_id, subdistrict_id, lon, lat (degrees), capacity (samples
    a day), today, utilisation (percent of capacity).
    """
    district = _district(scope, district_id)
    ss, t_ = sampling_sites.c, tests.c
    start = datetime.combine(now.date(), time())
    where = [] if district is None else [ss.district_id == district]
    with engine.connect() as conn:
        sites = pd.DataFrame(conn.execute(
            select(ss.id, ss.name, ss.district_id, ss.subdistrict_id, ss.lon, ss.lat,
                   ss.capacity_per_day).where(*where).order_by(ss.id)).all(),
            columns=["site_id", "name", "district_id", "subdistrict_id", "lon", "lat",
                     "capacity"])
        today = dict(conn.execute(
            select(t_.site, func.count()).where(
                t_.sampled_at >= start, t_.sampled_at <= now,
                t_.site.in_(select(ss.name).where(*where)) if where else t_.site.is_not(None))
            .group_by(t_.site)).all()) if len(sites) else {}
    sites["today"] = sites["name"].map(today).fillna(0).astype("int64")
    sites["utilisation"] = (100.0 * sites["today"] / sites["capacity"].clip(lower=1)).round(1)
    return sites.sort_values(["utilisation", "site_id"], ascending=[False, True]) \
        .reset_index(drop=True)
