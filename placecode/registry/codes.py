"""Venue codes (场所码) and where a venue lies.

A code is the district's adcode, the kind's letter and a six-digit number counted per district
and kind (371002P000001: 环翠区, shop, the first), the scheme the demo city's codes already follow.
A point's district and sub-district come from the stored boundaries, so a venue can never be
filed under a district it does not lie in.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import Connection, func, select

from placecode.db import schema as t
from placecode.demo.places import VENUE_KINDS

CODE = re.compile(r"^(\d{6})([A-Z])(\d{6})$")
LETTERS = {kind: spec[3] for kind, spec in VENUE_KINDS.items()}
KINDS_ZH = {kind: spec[2] for kind, spec in VENUE_KINDS.items()}
MOBILE = frozenset({"bus", "taxi"})


def code_problem(code: str, kind: str) -> str | None:
    """Why `code` cannot be a code of a venue of `kind`, or None."""
    match = CODE.match(code)
    if not match:
        return f"{code!r} is not a venue code (district adcode, kind letter, 6 digits: " \
               f"371002P000001)"
    if LETTERS.get(kind) != match.group(2):
        return f"{code!r} has letter {match.group(2)}, but a {kind} has {LETTERS.get(kind)}"
    return None


def code_district(code: str) -> int:
    return int(code[:6])


def next_code(conn: Connection, district_id: int, kind: str) -> str:
    """The next free code of this district and kind (the largest issued, plus one)."""
    prefix = f"{district_id}{LETTERS[kind]}"
    top = conn.execute(select(func.max(t.venues.c.code))
                       .where(t.venues.c.code.like(prefix + "%"))).scalar()
    number = int(top[len(prefix):]) + 1 if top and top[len(prefix):].isdigit() else 1
    return f"{prefix}{number:06d}"


def subdistricts(conn: Connection) -> gpd.GeoDataFrame:
    rows = conn.execute(select(t.subdistricts.c.id, t.subdistricts.c.district_id,
                               t.subdistricts.c.geometry)).all()
    return gpd.GeoDataFrame({"id": [r.id for r in rows],
                             "district_id": [r.district_id for r in rows]},
                            geometry=shapely.from_geojson([r.geometry for r in rows]),
                            crs="EPSG:4326")


def locate(cells: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """(district_id, subdistrict_id) of each point; -1 for a point outside every sub-district."""
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=cells.crs)
    hit = gpd.sjoin(pts, cells, how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")].sort_index()
    return (hit["district_id"].fillna(-1).to_numpy(np.int64),
            hit["id"].fillna(-1).to_numpy(np.int64))
