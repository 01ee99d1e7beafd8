"""The city's districts as one inline SVG, for picking a venue's position with a click on /apply
(no tiles, no map library: the boundaries are in the database)."""

from __future__ import annotations

import math

import shapely
from markupsafe import Markup, escape
from sqlalchemy import Connection, select

from placecode.db import schema as t

WIDTH = 1000  # viewBox units across


def city_svg(conn: Connection, lang: str) -> Markup:
    rows = conn.execute(select(t.districts.c.name_zh, t.districts.c.name_en,
                               t.districts.c.label_lon, t.districts.c.label_lat,
                               t.districts.c.geometry)).all()
    if not rows:
        return Markup("")
    shapes = [shapely.from_geojson(r.geometry) for r in rows]
    x0, y0, x1, y1 = shapely.bounds(shapely.union_all(shapes)).tolist()
    squash = math.cos(math.radians((y0 + y1) / 2))  # degrees of longitude are shorter here
    scale = WIDTH / ((x1 - x0) * squash)
    height = (y1 - y0) * scale

    def xy(lon: float, lat: float) -> str:
        return f"{(lon - x0) * squash * scale:.1f},{(y1 - lat) * scale:.1f}"

    parts = []
    for row, shape in zip(rows, shapes, strict=True):
        rings = []
        for poly in getattr(shape, "geoms", [shape]):
            for ring in (poly.exterior, *poly.interiors):
                coords = ring.simplify(0.002).coords
                rings.append("M" + "L".join(xy(x, y) for x, y in coords) + "Z")
        name = row.name_zh if lang == "zh" else row.name_en
        parts.append(f'<path class="apply-district" d="{"".join(rings)}"><title>{escape(name)}'
                     f'</title></path>')
        lx, ly = xy(row.label_lon, row.label_lat).split(",")
        parts.append(f'<text class="apply-label" x="{lx}" y="{ly}">{escape(name)}</text>')
    return Markup(
        f'<svg id="apply-map" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'data-x0="{x0}" data-y1="{y1}" data-squash="{squash}" data-scale="{scale}">'
        + "".join(parts) + '<circle id="apply-pin" r="9" cx="-100" cy="-100"/></svg>')
