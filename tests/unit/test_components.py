"""Builders are pure: walk the returned figure / component tree."""

from __future__ import annotations

import numpy as np
import shapely

from components.district_map import DistrictShape, build_district_map, label_colour
from components.i18n import TEXT, t
from components.numbers import classify, fmt_int, nice_step
from components.wall import Kpi, build_kpi_tile, build_legend
from placecode.settings import LANGS


def square(x: float) -> shapely.Polygon:
    return shapely.box(x, 37.0, x + 0.1, 37.1)


def test_components_map_has_one_filled_trace_per_district():
    shapes = [DistrictShape(i, f"d{i}", "1", "#123456", square(i), (i + 0.05, 37.05))
              for i in range(3)]
    shapes.append(DistrictShape(9, "islands", "2", "#654321",
                                shapely.MultiPolygon([square(5), square(7)]), (5.05, 37.05)))
    fig = build_district_map(shapes, highlight=1)
    fills = [tr for tr in fig.data if tr.fill == "toself"]
    assert [tr.meta["district_id"] for tr in fills] == [0, 1, 2, 9]
    assert fills[1].line.width > fills[0].line.width  # the user's own district stands out
    assert list(fills[3].x).count(None) == 2  # both islands in the one trace
    labels = [tr for tr in fig.data if tr.mode == "text"][0]
    assert len(labels.text) == 4 and "islands" in labels.text[3]


def test_components_map_leaves_tiny_districts_unlabelled():
    big = DistrictShape(1, "big", "1", "#123456", shapely.box(0, 0, 10, 10), (5, 5))
    tiny = DistrictShape(2, "tiny", "2", "#123456", shapely.box(10, 0, 11, 1), (10.5, 0.5))
    fig = build_district_map([big, tiny])
    labels = [tr for tr in fig.data if tr.mode == "text"][0]
    assert len([tr for tr in fig.data if tr.fill == "toself"]) == 2  # still drawn
    assert [t.split("<br>")[0] for t in labels.text] == ["<b>big</b>"]


def test_components_classify_nice_breaks_and_nan():
    breaks, idx = classify(np.array([0, 9_500, 4_000, np.nan]))
    assert breaks == [0, 2000, 4000, 6000, 8000, 10000]
    assert idx.tolist() == [0, 4, 2, -1]
    assert nice_step(0, 5) == 1.0


def test_components_classify_close_values_get_different_colours():
    values = np.array([113.4, 114.4, 115.8, 117.1])
    breaks, idx = classify(values)
    assert breaks[0] <= values.min() and breaks[-1] >= values.max()
    assert idx[0] < idx[-1]
    same = classify(np.array([5.0, 5.0]))
    assert same[0][0] == 0 and same[0][-1] >= 5.0


def test_components_kpi_tile_carries_the_number_and_id():
    tile = build_kpi_tile(Kpi("scans_today", "Scans today", fmt_int(1234567)), "kpi-x")
    value = tile.children.children[1]
    assert value.id == "kpi-x" and value.children == "1,234,567"


def test_components_legend_lists_classes_high_to_low():
    legend = build_legend("L", [0, 10, 20], ["#a", "#b"], fmt_int, "hidden", "#c")
    ranges = [row.children[1].children for row in legend.children[1:]]
    assert ranges == ["10 – 20", "0 – 10", "hidden"]


def test_components_every_text_has_both_languages():
    for key, pair in TEXT.items():
        assert len(pair) == len(LANGS) and all(pair), key
    assert t("kpi_scans_today", "zh") == "今日扫码" and t("kpi_scans_today", "en") == "Scans today"


def test_components_labels_stay_readable_on_light_and_dark_fills():
    assert label_colour("#b8e4f7") == "#0b0f17"  # lightest class: dark text
    assert label_colour("#17324d") == "#f2f5fa"  # darkest class: light text
