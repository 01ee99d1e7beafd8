"""Reads behind the command wall: areas and their metrics, KPI tiles, the venue layer's numbers,
the hourly series, the incident ticker, and the cheap "has anything changed" version.

The wall reads rollups, the person-status index and the red-scan index only, never a day of raw
scans, so each refresh costs milliseconds at city scale.
"""

from __future__ import annotations

import functools
import time as _time
from datetime import date, datetime, time, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, and_, case, func, select

from placecode.auth.policy import MIN_CELL_PERSONS, Viewer, small_cell_mask
from placecode.db import schema as t
from placecode.db.fast import raw_rows
from placecode.db.schema import (
    alerts,
    communities,
    districts,
    meta,
    outbox,
    person_status,
    persons,
    rollup_district_hour,
    rollup_industry_district_day,
    rollup_venue_day,
    scans,
    subdistricts,
    venues,
)
from queries.alerts import ALERT_PUSH, mask_key

FLAGGED_VERDICTS = ("yellow", "red")
FLAGGED_TTL_SECONDS = 30
AREA_COLUMNS = ["area_id", "name_zh", "name_en", "label_lon", "label_lat", "geometry"]


def city_meta(engine: Engine) -> dict[str, str]:
    """The loaded city's facts (city, city_name_zh/en, preset, now, built_at, ...) from `meta`."""
    with engine.connect() as conn:
        return dict(conn.execute(select(meta.c.key, meta.c.value)).all())


def latest_scan_hour(engine: Engine) -> datetime | None:
    """The newest hour with any scans (an index lookup)."""
    with engine.connect() as conn:
        return conn.execute(select(func.max(rollup_district_hour.c.hour))).scalar()


def wall_time(info: dict[str, str], clock: datetime,
              latest: datetime | None = None) -> tuple[datetime, bool]:
    """The moment the wall shows, and whether it is a snapshot.

    The clock, except for a demo city with no scans today whose own 'now' is before today: then
    the demo's 'now', so that a reused demo shows its last day (labelled as such) instead of going
    blank at midnight. Live scans today (the simulator, real devices) bring the clock back.
    """
    demo_now = info.get("now")
    if demo_now and not (latest and latest.date() >= clock.date()):
        frozen = datetime.fromisoformat(demo_now)
        if frozen.date() < clock.date():
            return frozen, True
    return clock, False


def shown_moment(engine: Engine, clock: datetime) -> tuple[dict[str, str], datetime, bool]:
    """The city's facts, and the moment the wall shows with whether it is a snapshot
    (`wall_time` fed from the database)."""
    info = city_meta(engine)
    as_of, snapshot = wall_time(info, clock, latest_scan_hour(engine))
    return info, as_of, snapshot


def _shapes(engine: Engine, query, columns: list[str]) -> gpd.GeoDataFrame:
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=columns)
    geometry = shapely.from_geojson(frame.pop("geometry").to_numpy(dtype=object))
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def district_shapes(engine: Engine) -> gpd.GeoDataFrame:
    """District polygons.

    Columns: district_id, name_zh, name_en, label_lon, label_lat, residents, geometry
    (CRS EPSG:4326 as labelled; the demo boundaries are GCJ-02 degrees).
    """
    d = districts.c
    return _shapes(engine, select(d.id.label("district_id"), d.name_zh, d.name_en, d.label_lon,
                                  d.label_lat, d.residents, d.geometry).order_by(d.id),
                   ["district_id", "name_zh", "name_en", "label_lon", "label_lat", "residents",
                    "geometry"])


def subdistrict_shapes(engine: Engine, district_id: int) -> gpd.GeoDataFrame:
    """The sub-districts of one district. Columns: area_id, name_zh, name_en, label_lon,
    label_lat, geometry."""
    s = subdistricts.c
    return _shapes(engine, select(s.id.label("area_id"), s.name_zh, s.name_en, s.label_lon,
                                  s.label_lat, s.geometry)
                   .where(s.district_id == district_id).order_by(s.id), AREA_COLUMNS)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time())
    return start, start + timedelta(days=1)


def _flagged_rate(out: pd.DataFrame, scope: Viewer) -> pd.DataFrame:
    """flagged_per_10k from flagged and residents; for aggregate-only roles the small cells of
    flagged persons and of alerts (each one a person) are hidden."""
    out["flagged_per_10k"] = np.where(out["residents"] > 0,
                                      out["flagged"] * 10_000 / out["residents"].clip(lower=1),
                                      0.0)
    if scope.aggregates_only:
        hidden = small_cell_mask(out["flagged"].to_numpy())
        out["flagged"] = out["flagged"].astype(float).mask(hidden)
        out["flagged_per_10k"] = out["flagged_per_10k"].mask(hidden)
        out["alerts"] = out["alerts"].astype(float).mask(small_cell_mask(out["alerts"]))
    return out


def _frame(conn, query, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(raw_rows(conn, query), columns=columns)


def _fill(out: pd.DataFrame, *parts: pd.DataFrame) -> pd.DataFrame:
    for part in parts:
        out = out.merge(part, on="area_id", how="left")
    for col in ("scans", "red", "flagged", "alerts"):
        out[col] = out[col].fillna(0).astype("int64")
    return out


def district_metrics(engine: Engine, day: date, scope: Viewer) -> pd.DataFrame:
    """One row per district for `day` (city-local).

    Columns: district_id, scans, red (verdicts), flagged (persons living there whose status is
    yellow or red), alerts (raised at its venues that day), residents, flagged_per_10k (float).
    For aggregate-only scopes small cells are suppressed (`small_cell_mask`): flagged and
    flagged_per_10k are NaN.
    """
    start, end = _day_bounds(day)
    r = rollup_district_hour.c
    with engine.connect() as conn:
        base = _frame(conn, select(districts.c.id, districts.c.residents).order_by(districts.c.id),
                      ["area_id", "residents"])
        volume = _frame(conn, select(r.district_id, func.sum(r.scans), func.sum(r.red))
                        .where(r.hour >= start, r.hour < end).group_by(r.district_id),
                        ["area_id", "scans", "red"])
        raised = _frame(conn, select(alerts.c.district_id, func.count())
                        .where(alerts.c.ts >= start, alerts.c.ts < end)
                        .group_by(alerts.c.district_id), ["area_id", "alerts"])
    flagged = _flagged_by_district(engine, int(_time.monotonic() // FLAGGED_TTL_SECONDS))
    out = _flagged_rate(_fill(base, volume, flagged, raised), scope)
    return out.rename(columns={"area_id": "district_id"})[
        ["district_id", "scans", "red", "flagged", "alerts", "residents", "flagged_per_10k"]]


@functools.lru_cache(maxsize=8)
def _flagged_by_district(engine: Engine, _bucket: int) -> pd.DataFrame:
    """Flagged persons per home district: a join over every flagged person (~100 ms at city
    scale on SQLite), so computed once per FLAGGED_TTL_SECONDS per process; statuses change with
    feeds and rule changes, not with every scan."""
    with engine.connect() as conn:
        return _frame(conn, select(persons.c.district_id, func.count())
                      .select_from(person_status.join(persons))
                      .where(person_status.c.verdict.in_(FLAGGED_VERDICTS))
                      .group_by(persons.c.district_id), ["area_id", "flagged"])


@functools.lru_cache(maxsize=64)
def _subdistrict_residents(engine: Engine, district_id: int, _bucket: int) -> pd.DataFrame:
    """Registered residents per sub-district: a count over the district's persons, so kept for
    ten minutes (`_bucket`) per process; residents do not move by the minute."""
    with engine.connect() as conn:
        return _frame(conn, select(communities.c.subdistrict_id, func.count())
                      .select_from(persons.join(communities))
                      .where(persons.c.district_id == district_id)
                      .group_by(communities.c.subdistrict_id), ["area_id", "residents"])


def subdistrict_metrics(engine: Engine, day: date, district_id: int,
                        scope: Viewer) -> pd.DataFrame:
    """One row per sub-district of `district_id` for `day`; the columns of `district_metrics`
    with area_id for district_id. Scans come from the venue-day rollup of the district's venues."""
    start, end = _day_bounds(day)
    rv, v = rollup_venue_day.c, venues.c
    with engine.connect() as conn:
        base = _frame(conn, select(subdistricts.c.id).where(
            subdistricts.c.district_id == district_id).order_by(subdistricts.c.id), ["area_id"])
        volume = _frame(conn, select(v.subdistrict_id, func.sum(rv.scans), func.sum(rv.red))
                        .select_from(rollup_venue_day.join(venues, v.id == rv.venue_id))
                        .where(rv.day == day, v.district_id == district_id)
                        .group_by(v.subdistrict_id), ["area_id", "scans", "red"])
        flagged = _frame(conn, select(communities.c.subdistrict_id, func.count())
                         .select_from(person_status.join(persons).join(communities))
                         .where(person_status.c.verdict.in_(FLAGGED_VERDICTS),
                                persons.c.district_id == district_id)
                         .group_by(communities.c.subdistrict_id), ["area_id", "flagged"])
        raised = _frame(conn, select(v.subdistrict_id, func.count())
                        .select_from(alerts.join(venues, v.id == alerts.c.venue_id))
                        .where(alerts.c.district_id == district_id, alerts.c.ts >= start,
                               alerts.c.ts < end)
                        .group_by(v.subdistrict_id), ["area_id", "alerts"])
    residents = _subdistrict_residents(engine, district_id, int(_time.time() // 600))
    out = _fill(base.merge(residents, on="area_id", how="left"), volume, flagged, raised)
    out["residents"] = out["residents"].fillna(0).astype("int64")
    return _flagged_rate(out, scope)[
        ["area_id", "scans", "red", "flagged", "alerts", "residents", "flagged_per_10k"]]


def hourly_scans(engine: Engine, day: date) -> pd.DataFrame:
    """Scans and red verdicts per hour of `day` and of the day before, city-wide.

    Columns: hour (0..23), scans, red, scans_before, red_before; hours without scans are 0.
    """
    start, end = _day_bounds(day)
    r = rollup_district_hour.c
    with engine.connect() as conn:
        rows = _frame(conn, select(r.hour, func.sum(r.scans), func.sum(r.red))
                      .where(r.hour >= start - timedelta(days=1), r.hour < end)
                      .group_by(r.hour), ["hour", "scans", "red"])
    out = pd.DataFrame({"hour": range(24)})
    stamps = pd.to_datetime(rows["hour"])
    for suffix, first in (("", start), ("_before", start - timedelta(days=1))):
        part = rows[(stamps >= first) & (stamps < first + timedelta(days=1))]
        by_hour = part.assign(hour=pd.to_datetime(part["hour"]).dt.hour).set_index("hour")
        for col in ("scans", "red"):
            out[col + suffix] = out["hour"].map(by_hour[col]).fillna(0).astype("int64")
    return out


def daily_totals(engine: Engine, last_day: date, days: int = 14) -> pd.DataFrame:
    """Scans and red verdicts per day for the `days` days ending `last_day` (from the
    district-hour rollup). Columns: day, scans, red; days without scans are 0."""
    first = last_day - timedelta(days=days - 1)
    start, _ = _day_bounds(first)
    _, end = _day_bounds(last_day)
    r = rollup_district_hour.c
    with engine.connect() as conn:
        rows = _frame(conn, select(r.hour, r.scans, r.red)
                      .where(r.hour >= start, r.hour < end), ["hour", "scans", "red"])
    rows["day"] = pd.to_datetime(rows["hour"]).dt.date
    sums = rows.groupby("day")[["scans", "red"]].sum()
    out = pd.DataFrame({"day": [first + timedelta(days=i) for i in range(days)]})
    for col in ("scans", "red"):
        out[col] = out["day"].map(sums[col]).fillna(0).astype("int64")
    return out


def industry_today(engine: Engine, day: date) -> pd.DataFrame:
    """Scans per venue kind on `day`, largest first. Columns: kind, scans."""
    r = rollup_industry_district_day.c
    with engine.connect() as conn:
        out = _frame(conn, select(r.kind, func.sum(r.scans)).where(r.day == day)
                     .group_by(r.kind), ["kind", "scans"])
    out["scans"] = out["scans"].astype("int64")
    return out.sort_values("scans", ascending=False, ignore_index=True)


def same_time_before(hourly: pd.DataFrame, as_of: datetime) -> int:
    """Scans the day before, up to the same clock time: whole hours, plus the current hour's
    share by minutes (the rollup is hourly; this is the comparison a commander asks for)."""
    whole = int(hourly["scans_before"].iloc[:as_of.hour].sum())
    share = (as_of.minute * 60 + as_of.second) / 3600
    return whole + round(float(hourly["scans_before"].iloc[as_of.hour]) * share)


def kpis(engine: Engine, day: date, scope: Viewer) -> dict[str, int | None]:
    """The wall's KPI tiles for `day`.

    Keys: scans_today, red_today (from the district-hour rollup), venues (registered venues),
    flagged (persons whose status is yellow or red) and alerts_today (None when under k for an
    aggregate-only scope), push_pending and push_delivered (push rows of that day's alerts).
    """
    start, end = _day_bounds(day)
    r = rollup_district_hour.c
    with engine.connect() as conn:
        scans_today, red_today = conn.execute(
            select(func.coalesce(func.sum(r.scans), 0), func.coalesce(func.sum(r.red), 0))
            .where(r.hour >= start, r.hour < end)).one()
        n_venues = conn.execute(select(func.count()).select_from(venues)).scalar_one()
        flagged = conn.execute(
            select(func.count()).select_from(person_status)
            .where(person_status.c.verdict.in_(FLAGGED_VERDICTS))).scalar_one()
        day_alerts = and_(alerts.c.ts >= start, alerts.c.ts < end)
        alerts_today = conn.execute(
            select(func.count()).select_from(alerts).where(day_alerts)).scalar_one()
        pushes = dict(conn.execute(
            select(outbox.c.state, func.count()).join(alerts, alerts.c.id == outbox.c.alert_id)
            .where(day_alerts, ALERT_PUSH).group_by(outbox.c.state)).all())
    if scope.aggregates_only and flagged < MIN_CELL_PERSONS:
        flagged = None
    if scope.aggregates_only and alerts_today < MIN_CELL_PERSONS:
        alerts_today = None
    return {"scans_today": int(scans_today), "red_today": int(red_today),
            "venues": int(n_venues), "flagged": flagged, "alerts_today": alerts_today,
            "push_pending": int(pushes.get("pending", 0)),
            "push_delivered": int(pushes.get("delivered", 0))}


def wall_version(engine: Engine, day: date) -> str:
    """A short string that changes whenever anything the wall shows for `day` may have changed:
    the newest venue-rollup stamp, the newest alert, pending pushes and evaluated persons.
    Four index lookups, so the wall can ask every few seconds."""
    with engine.connect() as conn:
        seq = conn.execute(select(func.max(rollup_venue_day.c.seq))
                           .where(rollup_venue_day.c.day == day)).scalar()
        alert = conn.execute(select(func.max(alerts.c.id))).scalar()
        pending = conn.execute(select(func.count()).select_from(outbox)
                               .where(outbox.c.state == "pending")).scalar()
        progress = conn.execute(select(meta.c.value)
                                .where(meta.c.key == "reevaluation")).scalar()
    return f"{day}:{seq or 0}:{alert or 0}:{pending}:{hash(progress) & 0xffff}"


# -- the venue layer ---------------------------------------------------------------------------

def venue_positions(engine: Engine) -> pd.DataFrame:
    """Every registered venue, ordered by id (the venue layer's index). Columns: venue_id, lon,
    lat, kind. Venues are public places, not persons: every scope sees them all."""
    v = venues.c
    with engine.connect() as conn:
        return _frame(conn, select(v.id, v.lon, v.lat, v.kind).order_by(v.id),
                      ["venue_id", "lon", "lat", "kind"])


def venue_numbers(engine: Engine, day: date, scope: Viewer,
                  since: int | None = None) -> tuple[pd.DataFrame, int]:
    """Per-venue numbers of `day` changed after stamp `since` (all of them when None), and the
    newest stamp seen (pass it back, a few seconds earlier, as the next `since`).

    Columns: venue_id, scans, red, yellow. For aggregate-only roles red and yellow are -1: a
    planner sees volumes, never how many flagged persons passed one door.
    """
    rv = rollup_venue_day.c
    query = select(rv.venue_id, rv.scans, rv.red, rv.yellow, rv.seq).where(rv.day == day)
    if since is not None:
        query = query.where(rv.seq > since)
    with engine.connect() as conn:
        frame = _frame(conn, query, ["venue_id", "scans", "red", "yellow", "seq"])
    newest = int(frame["seq"].max()) if frame["seq"].notna().any() else (since or 0)
    if scope.aggregates_only:
        frame[["red", "yellow"]] = -1
    return frame.drop(columns="seq"), newest


def venue_card(engine: Engine, venue_id: int, day: date, scope: Viewer) -> dict | None:
    """What the map's hover card says about one venue: code, name, kind, district, and the
    day's scans, red and yellow (None for aggregate-only roles). None when there is no such
    venue."""
    v, rv = venues.c, rollup_venue_day.c
    with engine.connect() as conn:
        row = conn.execute(
            select(v.code, v.name, v.kind, districts.c.name_zh, districts.c.name_en,
                   func.coalesce(rv.scans, 0), func.coalesce(rv.red, 0),
                   func.coalesce(rv.yellow, 0))
            .select_from(venues.join(districts, districts.c.id == v.district_id)
                         .outerjoin(rollup_venue_day,
                                    and_(rv.venue_id == v.id, rv.day == day)))
            .where(v.id == venue_id)).first()
    if row is None:
        return None
    keys = ("code", "name", "kind", "district_zh", "district_en", "scans", "red", "yellow")
    card = dict(zip(keys, row, strict=True))
    if scope.aggregates_only:
        card["red"] = card["yellow"] = None
    return card


# -- the incident ticker -----------------------------------------------------------------------

def ticker(engine: Engine, day: date, scope: Viewer, limit: int = 8) -> pd.DataFrame:
    """The latest red verdicts of `day`, newest first, with whether each raised an alert.

    Columns: ts, venue_name, district_zh, district_en, reasons, person (masked), alert_id.
    Person-level rows: city roles see every district, district-bound roles and district wall
    tokens their own; planners get none (an empty frame).
    """
    columns = ["ts", "venue_name", "district_zh", "district_en", "reasons", "person",
               "alert_id"]
    if scope.aggregates_only:
        return pd.DataFrame(columns=columns)
    start, end = _day_bounds(day)
    s, v = scans.c, venues.c
    query = (
        select(s.ts, v.name, districts.c.name_zh, districts.c.name_en, s.reasons,
               persons.c.person_key, alerts.c.id)
        .select_from(scans.join(venues, v.id == s.venue_id)
                     .join(districts, districts.c.id == v.district_id)
                     .join(persons, persons.c.id == s.person_id)
                     .outerjoin(alerts, alerts.c.scan_id == s.id))
        .where(s.verdict == "red", s.ts >= start, s.ts < end)
        .order_by(s.ts.desc()).limit(limit)
    )
    if not scope.city_wide:
        if scope.district_id is None:
            return pd.DataFrame(columns=columns)
        query = query.where(v.district_id == scope.district_id)
    with engine.connect() as conn:
        frame = _frame(conn, query, columns)
    frame["ts"] = pd.to_datetime(frame["ts"])
    frame["person"] = frame["person"].map(mask_key)
    return frame


def forces(engine: Engine, day: date, scope: Viewer) -> dict[str, int] | None:
    """The units tile: units available of all, and today's roll-call (present of expected), for
    the viewer's district or the city. None when no units are registered (no tile then)."""
    u, s = t.units.c, t.staff.c
    r, a = t.roll_calls, t.roll_call_answers
    district = scope.home_district
    units_q = select(func.count(), func.coalesce(func.sum(
        case((u.status == "available", 1), else_=0)), 0))
    staff_q = select(func.count()).select_from(t.staff).where(s.active.is_(True))
    present_q = (select(func.count()).select_from(a.join(r, r.c.id == a.c.roll_call_id))
                 .where(r.c.day == day, a.c.present.is_(True)))
    if district is not None:
        units_q = units_q.where(u.district_id == district)
        staff_q = staff_q.where(s.district_id == district)
        present_q = present_q.where(r.c.district_id == district)
    with engine.connect() as conn:
        total, available = conn.execute(units_q.select_from(t.units)).one()
        if not total:
            return None
        return {"units": int(total), "available": int(available),
                "expected": int(conn.execute(staff_q).scalar_one()),
                "present": int(conn.execute(present_q).scalar_one())}
