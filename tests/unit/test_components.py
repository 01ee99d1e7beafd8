"""Builders are pure: walk the returned figure / component tree."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import shapely

from components.i18n import TEXT, t
from components.numbers import class_colours, classify, classify_counts, fmt_int, nice_step
from components.venue_layer import encode_numbers, encode_positions
from components.wall import Kpi, build_kpi_tile, build_legend
from components.wall_map import AreaStyle, build_map_spec
from placecode.settings import LANGS


def test_components_map_spec_labels_only_areas_with_room():
    big = AreaStyle(1, "big", "1,000", "#123456", "<b>big</b>", shapely.box(0, 0, 10, 10))
    tiny = AreaStyle(2, "tiny", "7", "#654321", "<b>tiny</b>", shapely.box(10, 0, 11, 1))
    spec = build_map_spec(target="m", day="2026-11-23", version="v", metric="scans",
                          venue_mode="kind", lang="en", areas=[big, tiny], sub=None, focus=None,
                          home=2, kinds=[], text={})
    assert spec["areas"]["1"] == {"fill": "#123456", "label": "big\n1,000", "tip": "<b>big</b>"}
    assert spec["areas"]["2"]["label"] == ""  # still coloured and hoverable, just unlabelled
    assert spec["home"] == 2 and spec["sub"] is None
    json.dumps(spec)  # it travels to the browser as JSON


def test_components_venue_positions_decode_as_the_browser_reads_them():
    frame = pd.DataFrame({"venue_id": [3, 5, 9], "lon": [122.1, 122.2, 121.9],
                          "lat": [37.5, 37.4, 36.9], "kind": ["bus", "shop", "mystery"]})
    body, kinds = encode_positions(frame)
    assert kinds == ["shop", "bus", "mystery"]  # known kinds first, in palette order
    n = len(frame)
    xy = np.frombuffer(body, "<f4", 2 * n)
    assert np.allclose(xy[0::2], frame["lon"]) and np.allclose(xy[1::2], frame["lat"])
    codes = np.frombuffer(body, np.uint8, n, offset=8 * n)
    assert [kinds[c] for c in codes] == ["bus", "shop", "mystery"]
    assert len(body) % 4 == 0


def test_components_venue_numbers_index_into_the_layer_and_flag_unknown_venues():
    ids = np.array([3, 5, 9])
    numbers = pd.DataFrame({"venue_id": [9, 3, 77], "scans": [40, 2, 1], "red": [1, 0, 0],
                            "yellow": [-1, 0, 0]})
    body, unknown = encode_numbers(ids, numbers)
    assert unknown == 1  # venue 77 is newer than the positions: the browser re-fetches them
    parts = np.frombuffer(body, "<u4").reshape(4, 2)
    assert parts[0].tolist() == [2, 0] and parts[1].tolist() == [40, 2]
    assert np.frombuffer(body, "<i4").reshape(4, 2)[3].tolist() == [-1, 0]


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


def test_components_count_classes_never_repeat_a_range():
    breaks, idx = classify_counts(np.array([0, 1, 1, 0, np.nan]))
    assert breaks == [0, 1, 2] and idx.tolist() == [0, 1, 1, 0, -1]  # the classes 0 and 1
    legend = build_legend("alerts", breaks, class_colours(list("abcde"), 2), fmt_int, whole=True)
    ranges = [row.children[1].children for row in legend.children[1:]]
    assert ranges == ["1", "0"]  # largest first, each once
    breaks, idx = classify_counts(np.array([3, 7, 12, 40]))
    assert breaks[0] <= 3 and breaks[-1] > 40 and len(breaks) <= 6
    assert idx.tolist() == sorted(idx.tolist()) and idx[0] < idx[-1]
    labels = [row.children[1].children for row in build_legend(
        "x", breaks, class_colours(list("abcde"), len(breaks) - 1), fmt_int,
        whole=True).children[1:]]
    assert len(set(labels)) == len(labels)
    assert class_colours(list("abcde"), 2) == ["a", "e"]


def test_components_kpi_tile_carries_the_number_and_id():
    tile = build_kpi_tile(Kpi("scans_today", "Scans today", fmt_int(1234567)), "kpi-x")
    value = tile.children.children[1].children[0]
    assert value.id == "kpi-x" and value.children == "1,234,567"


def test_components_legend_lists_classes_high_to_low():
    legend = build_legend("L", [0, 10, 20], ["#a", "#b"], fmt_int, "hidden", "#c")
    ranges = [row.children[1].children for row in legend.children[1:]]
    assert ranges == ["10 – 20", "0 – 10", "hidden"]


def test_components_every_text_has_both_languages():
    for key, pair in TEXT.items():
        assert len(pair) == len(LANGS) and all(pair), key
    assert t("kpi_scans_today", "zh") == "今日扫码" and t("kpi_scans_today", "en") == "Scans today"


def test_components_catalog_pairs_agree_and_every_raised_key_exists():
    """Both languages fill the same fields, and every key an error or refusal is raised with
    (found in the source) is in the catalog: a missing one would be a KeyError for the user."""
    import re
    import string
    from pathlib import Path

    from placecode.auth.policy import CAN

    fields = string.Formatter()
    for key, (zh, en) in TEXT.items():
        assert {f for _, f, _, _ in fields.parse(zh) if f} == \
            {f for _, f, _, _ in fields.parse(en) if f}, key
        assert re.search(r"[\u4e00-\u9fff]", zh), f"{key}: the Chinese has no Chinese"
    root = Path(__file__).resolve().parents[2]
    raised = re.compile(r"(?:(?<!Item)(?<!Feed)Error|Refused|Unknown\w*|Venue|Person|Area)"
                        r"\(\s*\"([a-z_]+)\"")
    keys = {k for folder in ("placecode", "queries", "pages", "components")
            for path in (root / folder).rglob("*.py")
            for k in raised.findall(path.read_text())}
    keys |= {f"refused_{capability}" for capability in CAN}
    assert len(keys) > 60
    assert sorted(keys - set(TEXT)) == []


def test_components_sparkline_is_an_svg_of_today_over_yesterday():
    from urllib.parse import unquote

    from components.trends import sparkline_svg

    hourly = pd.DataFrame({"hour": range(24), "scans": [10] * 24, "scans_before": [20] * 24})
    uri = sparkline_svg(hourly, upto_hour=5)
    assert uri.startswith("data:image/svg+xml;utf8,")
    svg = unquote(uri.split(",", 1)[1])
    lines = svg.split("<polyline")[1:]
    assert len(lines) == 2  # yesterday's whole day, today's whole hours so far
    assert lines[1].count(",") == 5  # hours 0..4: the running hour is partial, not a drop
    one = unquote(sparkline_svg(hourly, upto_hour=1))
    assert one.count("<polyline") == 1  # a single point of today is no line yet


def test_map_tooltips_escape_names_from_the_registry():
    """Deck tooltips are HTML: a venue or unit name cannot inject markup."""
    import pandas as pd

    from components.dispatch import map_spec as board_spec
    from components.trace import map_spec as trace_spec

    evil = "<img src=x onerror=alert(1)>"
    visits = pd.DataFrame({"person_id": [1], "venue_id": [1], "kind": ["shop"],
                           "start": pd.to_datetime(["2026-11-23 09:00"]),
                           "end": pd.to_datetime(["2026-11-23 09:20"]), "code": ["V1"],
                           "name": [evil], "lon": [122.0], "lat": [37.5],
                           "district_zh": ["区"], "district_en": ["D"]})
    contacts = pd.DataFrame({"person_id": [2], "tier": [1], "venue_id": [1], "name": [evil],
                             "code": ["V1"], "lon": [122.0], "lat": [37.5]})
    units = pd.DataFrame({"lon": [122.0], "lat": [37.5], "status": ["available"],
                          "name": [evil], "code": ["U1"]})
    incidents = pd.DataFrame({"lon": [122.0], "lat": [37.5], "state": ["held"],
                              "overdue": [False], "venue_name": [evil], "minutes": [3]})
    tips = [p["tip"] for p in trace_spec("m", visits, contacts, {}, "zh")["points"]]
    tips += [p["tip"] for p in board_spec("m", incidents, units, "zh")["points"]]
    assert len(tips) == 4 and all("<img" not in tip and "&lt;img" in tip for tip in tips)


def test_components_sub_district_labels_do_not_pile_up():
    from shapely.geometry import box

    from components.wall_map import unpiled

    big = AreaStyle(1, "大街道", "1,000", "#fff", "", box(0, 0, 10, 10))
    # three small neighbours whose labels (2 lines of ~22 px) would cover one another
    small = [AreaStyle(i, f"小街道{i}", "10", "#fff", "", box(10 + i * 0.05, 0, 10.05 + i * 0.05,
                                                               0.05)) for i in (2, 3, 4)]
    far = AreaStyle(5, "远处", "3", "#fff", "", box(18, 8, 19, 9))
    kept = unpiled([big, *small, far])
    assert {1, 5} <= kept
    assert len(kept & {2, 3, 4}) == 1


def test_components_push_errors_read_in_chinese():
    from components.pushes import push_error

    assert push_error("connection refused (receiver down?)", "zh") == "接收方拒绝连接（可能未运行）"
    assert push_error("HTTP 503", "zh") == "接收方返回 HTTP 503"
    assert "not tried" in push_error("timed out; not tried: x just failed", "en")
    assert push_error("timed out; not tried: x just failed", "zh") == "同一接收方刚失败，本轮未发送"
    assert push_error("[Errno 113] No route to host", "zh") == "发送失败，将自动重试"
