"""Reads behind the command wall: district shapes, per-district metrics and the KPI tiles.

The wall reads rollups and the small flagged-person index only, never raw scans, so each refresh
costs milliseconds at city scale.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, func, select

from placecode.auth.scope import MIN_CELL_PERSONS, Scope, small_cell_mask
from placecode.db.schema import districts, meta, persons, rollup_district_hour, venues

FLAGGED_CODES = ("yellow", "red")


def city_meta(engine: Engine) -> dict[str, str]:
    """The loaded city's facts (city, city_name_zh/en, preset, now, built_at, ...) from `meta`."""
    with engine.connect() as conn:
        return dict(conn.execute(select(meta.c.key, meta.c.value)).all())


def wall_time(info: dict[str, str], clock: datetime) -> tuple[datetime, bool]:
    """The moment the wall shows, and whether it is a snapshot.

    The clock, except for a demo city whose scans end before today: then the demo's own 'now', so
    that a reused demo shows its last day (labelled as such) instead of going blank at midnight.
    """
    demo_now = info.get("now")
    if demo_now:
        frozen = datetime.fromisoformat(demo_now)
        if frozen.date() < clock.date():
            return frozen, True
    return clock, False


def district_shapes(engine: Engine) -> gpd.GeoDataFrame:
    """District polygons.

    Columns: district_id, name_zh, name_en, label_lon, label_lat, residents, geometry
    (CRS EPSG:4326 as labelled; the demo boundaries are GCJ-02 degrees).
    """
    q = select(districts.c.id.label("district_id"), districts.c.name_zh, districts.c.name_en,
               districts.c.label_lon, districts.c.label_lat, districts.c.residents,
               districts.c.geometry).order_by(districts.c.id)
    columns = ["district_id", "name_zh", "name_en", "label_lon", "label_lat", "residents",
               "geometry"]
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(q).mappings().all(), columns=columns)
    geometry = shapely.from_geojson(frame.pop("geometry").to_numpy(dtype=object))
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time())
    return start, start + timedelta(days=1)


def district_metrics(engine: Engine, day: date, scope: Scope) -> pd.DataFrame:
    """One row per district for `day` (city-local).

    Columns: district_id, scans, red (verdicts), flagged (persons whose current health code is
    yellow or red, living there), residents, flagged_per_10k (float). For aggregate-only scopes,
    small cells are suppressed (`small_cell_mask`): flagged and flagged_per_10k are NaN.
    """
    start, end = _day_bounds(day)
    volume = (
        select(rollup_district_hour.c.district_id,
               func.sum(rollup_district_hour.c.scans).label("scans"),
               func.sum(rollup_district_hour.c.red).label("red"))
        .where(rollup_district_hour.c.hour >= start, rollup_district_hour.c.hour < end)
        .group_by(rollup_district_hour.c.district_id)
    )
    flagged = (
        select(persons.c.district_id, func.count().label("flagged"))
        .where(persons.c.health_code.in_(FLAGGED_CODES))
        .group_by(persons.c.district_id)
    )
    base = (select(districts.c.id.label("district_id"), districts.c.residents)
            .order_by(districts.c.id))
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(base).mappings().all(),
                             columns=["district_id", "residents"])
        vol = pd.DataFrame(conn.execute(volume).mappings().all(),
                           columns=["district_id", "scans", "red"])
        flg = pd.DataFrame(conn.execute(flagged).mappings().all(),
                           columns=["district_id", "flagged"])
    out = frame.merge(vol, on="district_id", how="left").merge(flg, on="district_id", how="left")
    for col in ("scans", "red", "flagged"):
        out[col] = out[col].fillna(0).astype("int64")
    out["flagged_per_10k"] = np.where(out["residents"] > 0,
                                      out["flagged"] * 10_000 / out["residents"].clip(lower=1),
                                      0.0)
    if scope.aggregates_only:
        hidden = small_cell_mask(out["flagged"].to_numpy())
        out["flagged"] = out["flagged"].astype(float).mask(hidden)
        out["flagged_per_10k"] = out["flagged_per_10k"].mask(hidden)
    return out[["district_id", "scans", "red", "flagged", "residents", "flagged_per_10k"]]


def kpis(engine: Engine, day: date, scope: Scope) -> dict[str, int | None]:
    """The wall's KPI tiles for `day`.

    Keys: scans_today, red_today (from the district-hour rollup), venues (registered venues),
    flagged (persons with a yellow or red health code; None when suppressed for the scope).
    """
    start, end = _day_bounds(day)
    with engine.connect() as conn:
        scans_today, red_today = conn.execute(
            select(func.coalesce(func.sum(rollup_district_hour.c.scans), 0),
                   func.coalesce(func.sum(rollup_district_hour.c.red), 0))
            .where(rollup_district_hour.c.hour >= start, rollup_district_hour.c.hour < end)
        ).one()
        n_venues = conn.execute(select(func.count()).select_from(venues)).scalar_one()
        flagged = conn.execute(
            select(func.count()).select_from(persons)
            .where(persons.c.health_code.in_(FLAGGED_CODES))
        ).scalar_one()
    if scope.aggregates_only and flagged < MIN_CELL_PERSONS:
        flagged = None
    return {"scans_today": int(scans_today), "red_today": int(red_today),
            "venues": int(n_venues), "flagged": flagged}
