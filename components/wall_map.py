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


def _text_em(text: str) -> float:
    """Width of a line in em: a CJK character is one, anything else about 0.6."""
    return sum(1.0 if ord(ch) > 0x2E80 else 0.6 for ch in text)


def unpiled(areas: Sequence[AreaStyle], width_px: int = 1100, font_px: int = 22) -> set[int]:
    """Areas whose labels do not cover one another when the areas fill a map `width_px` wide
    (the wall's zoom to a district or the city): the largest areas keep theirs first, a label
    that would overlap a kept one is left to hover and the ranking."""
    shaped = [a for a in areas if a.geometry is not None and not a.geometry.is_empty]
    if not shaped:
        return {a.area_id for a in areas}
    x0, y0, x1, y1 = shapely.total_bounds([a.geometry for a in shaped]).tolist()
    per_px = max((x1 - x0) / width_px, (y1 - y0) / (width_px * 0.75), 1e-9)
    kept: list[tuple[float, float, float, float]] = []
    out = set()
    for a in sorted(shaped, key=lambda a: -a.geometry.area):
        at = a.geometry.representative_point()
        half_w = max(_text_em(a.name), _text_em(a.value_text)) * font_px * per_px / 2
        half_h = 2 * 1.15 * font_px * per_px / 2
        box = (at.x - half_w, at.y - half_h, at.x + half_w, at.y + half_h)
        if all(box[2] < k[0] or box[0] > k[2] or box[3] < k[1] or box[1] > k[3] for k in kept):
            kept.append(box)
            out.add(a.area_id)
    return out


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
        "areas": area_entries(areas, big_enough_to_label(areas) & unpiled(areas)),
        "sub": area_entries(sub, unpiled(sub)) if sub is not None else None,
        "focus": focus, "home": home, "kinds": kinds, "text": text,
    }
