"""Number formatting and colour classes for maps and legends."""

from __future__ import annotations

import math

import numpy as np

# Sequential palettes that read on a dark wall: darker = less, brighter = more.
PALETTES = {
    "scans":   ["#17324d", "#1f5a84", "#2f86b8", "#63b5de", "#b8e4f7"],
    "flagged": ["#3a2226", "#6e2b31", "#a83a3b", "#e0623f", "#ffc06b"],
    "alerts":  ["#2a2340", "#47337a", "#7446b0", "#b45cd6", "#f29bf0"],
}
SUPPRESSED_COLOUR = "#3d4450"


def fmt_int(value: float | int | None) -> str:
    """12345 -> '12,345'; None/NaN -> '–'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{int(round(value)):,}"


def fmt_rate(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.1f}"


def nice_step(top: float, classes: int) -> float:
    """The smallest 1/2/2.5/5×10^k step with `classes` steps covering `top`."""
    if not top or top <= 0 or math.isnan(top):
        return 1.0
    raw = top / classes
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def classify(values: np.ndarray, classes: int = 5) -> tuple[list[float], np.ndarray]:
    """Equal-interval classes with nice breaks spanning the values' range.

    The range, not 0..max, so that four districts at 113-117 per 10k still get different colours.
    Returns (breaks of length classes+1, class index per value; -1 for NaN).
    """
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    lo_v, hi_v = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    step = nice_step(hi_v - lo_v, classes) if hi_v > lo_v else nice_step(hi_v, classes)
    lo = math.floor(lo_v / step) * step if hi_v > lo_v else 0.0
    while lo + classes * step < hi_v:  # flooring the start can leave the top uncovered
        step = nice_step(step * classes * 1.01, classes)
        lo = math.floor(lo_v / step) * step
    breaks = [round(lo + step * i, 6) for i in range(classes + 1)]
    idx = np.where(np.isnan(v), -1,
                   np.clip((np.nan_to_num(v, nan=lo) - lo) // step, 0, classes - 1).astype(int))
    return breaks, idx


def classify_counts(values: np.ndarray, classes: int = 5) -> tuple[list[int], np.ndarray]:
    """Classes of whole numbers: class i holds breaks[i] .. breaks[i+1] - 1, and there are
    fewer classes when the counts span fewer values (alerts 0..1 give the classes 0 and 1, not
    five classes reading "0 – 1"). Returns (breaks, class index per value; -1 for NaN)."""
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    lo_v, hi_v = (int(finite.min()), int(finite.max())) if finite.size else (0, 0)
    step = max(1, math.ceil((hi_v - lo_v + 1) / classes))
    if step > 1:
        step = int(nice_step(step * classes, classes))
    lo = lo_v // step * step
    while math.ceil((hi_v - lo + 1) / step) > classes:
        step = int(nice_step(step * classes * 1.01, classes))
        lo = lo_v // step * step
    n = math.ceil((hi_v - lo + 1) / step)
    breaks = [lo + step * i for i in range(n + 1)]
    idx = np.where(np.isnan(v), -1,
                   np.clip((np.nan_to_num(v, nan=lo) - lo) // step, 0, n - 1).astype(int))
    return breaks, idx


def class_colours(palette: list[str], n: int) -> list[str]:
    """n colours spread over the palette, from its lightest to its darkest."""
    if n >= len(palette):
        return list(palette)
    return [palette[round(i * (len(palette) - 1) / max(1, n - 1))] for i in range(n)] \
        if n > 1 else [palette[-1]]
