"""The district choropleth as a plain plotly figure: filled polygons on equal-aspect axes.

No basemap, no tiles, no map token: the city's own boundaries are the map, so it draws offline and
every district is exactly one trace (tests count them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
import shapely

FONT = "'Noto Sans SC', 'Noto Sans CJK SC', sans-serif"
THEMES = {  # the light desk style comes with the desk pages
    "dark": {"line": "#0b0f17", "text": "#f2f5fa", "highlight": "#ffe14d"},
}


@dataclass(frozen=True)
class DistrictShape:
    district_id: int
    name: str
    value_text: str
    colour: str
    geometry: shapely.Geometry
    label: tuple[float, float]


def _rings(geometry: shapely.Geometry) -> tuple[list[float | None], list[float | None]]:
    """Exterior rings of every part, joined with None breaks (one trace per district)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for part in shapely.get_parts(geometry):
        if part.geom_type != "Polygon":
            continue
        x, y = part.exterior.xy
        xs.extend(list(x) + [None])
        ys.extend(list(y) + [None])
    return xs, ys


def build_district_map(
    shapes: Sequence[DistrictShape],
    highlight: int | None = None,
    theme: str = "dark",
    label_size: int = 26,
) -> go.Figure:
    """One filled trace per district plus one text trace of name and value at each label point."""
    style = THEMES[theme]
    fig = go.Figure()
    for s in shapes:
        xs, ys = _rings(s.geometry)
        own = s.district_id == highlight
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", fill="toself", fillcolor=s.colour,
            line={"color": style["highlight"] if own else style["line"],
                  "width": 5 if own else 1.5},
            name=s.name, hoveron="fills", hoverinfo="text", text=f"{s.name}: {s.value_text}",
            meta={"district_id": s.district_id}, showlegend=False,
        ))
    labelled = big_enough_to_label(shapes)
    fig.add_trace(go.Scatter(
        x=[s.label[0] for s in labelled], y=[s.label[1] for s in labelled], mode="text",
        text=[f"<b>{s.name}</b><br>{s.value_text}" for s in labelled],
        textfont={"size": label_size, "family": FONT,
                  "color": [label_colour(s.colour, theme) for s in labelled]},
        hoverinfo="skip", showlegend=False, name="labels",
    ))
    lat = _mid_lat(shapes)
    fig.update_xaxes(visible=False, fixedrange=True)
    fig.update_yaxes(visible=False, fixedrange=True, scaleanchor="x",
                     scaleratio=1 / math.cos(math.radians(lat)))
    fig.update_layout(
        margin={"l": 0, "r": 0, "t": 0, "b": 0}, paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)", dragmode=False, font={"family": FONT},
        hoverlabel={"font": {"size": 20, "family": FONT}},
    )
    return fig


def big_enough_to_label(
    shapes: Sequence[DistrictShape], min_share: float = 0.02
) -> list[DistrictShape]:
    """Districts with room for a label: at least `min_share` of the city's area.

    Central Shanghai packs seven districts into 1% of the city each; their labels would pile up
    unreadably, so they are left to hover and the ranking beside the map.
    """
    areas = [s.geometry.area for s in shapes]
    total = sum(areas) or 1.0
    return [s for s, a in zip(shapes, areas, strict=True) if a / total >= min_share]


def label_colour(fill: str, theme: str = "dark") -> str:
    """Dark text on light fills, light text on dark ones (WCAG relative luminance)."""
    r, g, b = (int(fill.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#0b0f17" if luminance > 0.35 else THEMES[theme]["text"]


def _mid_lat(shapes: Sequence[DistrictShape]) -> float:
    if not shapes:
        return 0.0
    bounds = shapely.total_bounds([s.geometry for s in shapes])
    return (bounds[1] + bounds[3]) / 2
