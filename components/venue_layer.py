"""The venue layer's wire format: little-endian typed arrays the browser hands to deck.gl as-is.

Positions (sent once, cached by ETag): float32 lon,lat pairs, then one uint8 kind code per venue,
in venue-id order. Numbers (sent as they change): uint32 index into that order, then uint32
scans, int32 red, int32 yellow per changed venue (-1: not for this viewer). No JSON of 190,000
objects anywhere: 190k venues are 1.7 MB of positions before compression.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from placecode.demo.places import VENUE_KINDS

# Categorical colours that read on the dark wall and on a light desk.
KIND_COLOURS: dict[str, tuple[int, int, int]] = {
    "shop": (94, 170, 255), "enterprise": (150, 120, 255), "restaurant": (255, 160, 70),
    "residential": (80, 200, 150), "government": (200, 200, 210), "supermarket": (255, 220, 80),
    "hotel": (255, 110, 180), "mall": (60, 230, 230), "bus": (170, 230, 90),
    "taxi": (240, 240, 120),
}
OTHER_COLOUR = (160, 160, 160)


def venue_kinds(kinds: pd.Series) -> list[str]:
    """The kind codes' order: the known kinds first (stable colours), then any others."""
    present = set(kinds.unique())
    return [k for k in KIND_COLOURS if k in present] + sorted(present - set(KIND_COLOURS))


def encode_positions(frame: pd.DataFrame) -> tuple[bytes, list[str]]:
    """`venue_positions` rows -> (payload, kind list). The payload is 9 bytes per venue, padded
    to a multiple of 4."""
    kinds = venue_kinds(frame["kind"])
    codes = frame["kind"].map({k: i for i, k in enumerate(kinds)}).to_numpy(np.uint8)
    xy = np.empty(2 * len(frame), dtype="<f4")
    xy[0::2], xy[1::2] = frame["lon"].to_numpy(), frame["lat"].to_numpy()
    pad = b"\0" * (-len(codes) % 4)
    return xy.tobytes() + codes.tobytes() + pad, kinds


def encode_numbers(venue_ids: np.ndarray, numbers: pd.DataFrame) -> tuple[bytes, int]:
    """Per-venue numbers -> (payload, count of venues unknown to `venue_ids`: the positions are
    stale and the browser should fetch them again)."""
    index = np.searchsorted(venue_ids, numbers["venue_id"].to_numpy())
    index = np.clip(index, 0, max(len(venue_ids) - 1, 0))
    known = (len(venue_ids) > 0) & (venue_ids[index] == numbers["venue_id"].to_numpy()) \
        if len(venue_ids) else np.zeros(len(numbers), dtype=bool)
    parts = [index[known].astype("<u4")] + [
        numbers[col].to_numpy()[known].astype("<i4" if col != "scans" else "<u4")
        for col in ("scans", "red", "yellow")]
    return b"".join(p.tobytes() for p in parts), int((~known).sum())


def kind_label(kind: str, lang: str) -> str:
    """A venue kind in the viewer's language."""
    if lang == "en" or kind not in VENUE_KINDS:
        return kind
    return VENUE_KINDS[kind][2]


def kind_legend(kinds: list[str], lang: str) -> list[dict]:
    """[{kind, label, colour '#rrggbb'}] for the legend and the browser's palette."""
    out = []
    for k in kinds:
        r, g, b = KIND_COLOURS.get(k, OTHER_COLOUR)
        out.append({"kind": k, "label": kind_label(k, lang), "rgb": [r, g, b],
                    "colour": f"#{r:02x}{g:02x}{b:02x}"})
    return out
