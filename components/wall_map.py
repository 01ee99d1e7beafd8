"""The wall map's spec: what assets/wall_map.js draws on each refresh, as plain JSON.

Only colours, labels and tooltips per area travel here (a few kB); outlines and venues come from
the /wall-data routes once and are cached by the browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import shapely


@dataclass(frozen=True)
class AreaStyle:
    area_id: int
    name: str
    value_text: str
    colour: str
    tip: str
    geometry: shapely.Geometry | None = None


def big_enough_to_label(areas: Sequence[AreaStyle], min_share: float = 0.02) -> set[int]:
    """Areas with room for a label: at least `min_share` of the whole area.

    Central Shanghai packs seven districts into 1% of the city each; their labels would pile up
    unreadably, so they are left to hover, the ranking beside the map and the zoomed-in view.
    """
    sizes = [a.geometry.area if a.geometry is not None else 0.0 for a in areas]
    total = sum(sizes) or 1.0
    return {a.area_id for a, s in zip(areas, sizes, strict=True) if s / total >= min_share}


def area_entries(areas: Sequence[AreaStyle], labelled: set[int] | None = None) -> dict:
    """{area id: {fill, label, tip}} for the browser; unlabelled areas get an empty label."""
    labelled = {a.area_id for a in areas} if labelled is None else labelled
    return {str(a.area_id): {"fill": a.colour,
                             "label": f"{a.name}\n{a.value_text}" if a.area_id in labelled else "",
                             "tip": a.tip}
            for a in areas}


def build_map_spec(*, target: str, day: str, version: str, metric: str, venue_mode: str,
                   lang: str, areas: Sequence[AreaStyle], sub: Sequence[AreaStyle] | None,
                   focus: int | None, home: int | None, kinds: list[dict], text: dict,
                   theme: str = "dark") -> dict:
    """The JSON the clientside renderer takes (see assets/wall_map.js)."""
    return {
        "target": target, "day": day, "version": version, "metric": metric,
        "venueMode": venue_mode, "lang": lang, "theme": theme,
        "areas": area_entries(areas, big_enough_to_label(areas)),
        "sub": area_entries(sub) if sub is not None else None,
        "focus": focus, "home": home, "kinds": kinds, "text": text,
    }
