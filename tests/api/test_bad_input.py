"""Input an attacker (or a broken device) sends: each bad item is answered by itself, naming the
field, the good items of the same batch are stored, nothing bad is stored, and never a 500."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from placecode.db import schema as t
from tests.api.test_scans import GREEN, count, person, scan, venue

ENTRY_TIMES = ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"]


def post_raw(api, path: str, text: str, token: str):
    return api.client.post(path, data=text.encode("utf-8", "surrogatepass"),
                           content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"})


def batch_with(api, bad: dict | str) -> tuple[dict, list[dict]]:
    """POST [good, bad, good] (the bad one as an object or as raw JSON text); returns the
    answer and the good scans."""
    code, _, _ = venue(api)
    who = person(api, GREEN)
    good = [scan(api, who, code), scan(api, who, code)]
    middle = bad if isinstance(bad, str) else json.dumps(bad)
    text = f"[{json.dumps(good[0])}, {middle}, {json.dumps(good[1])}]"
    response = post_raw(api, "/api/v1/scans", text, api.device)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.json, good


def stored(api, scan_ids) -> int:
    return count(api, t.scans, t.scans.c.scan_id.in_(list(scan_ids)))


def bad_scan_cases(api) -> list[tuple[str, dict | str, str, str]]:
    """(what, the bad item, the field named, words in the message)."""
    code, _, _ = venue(api)
    who = person(api, GREEN)
    base = scan(api, who, code)
    sid = base["scan_id"]
    esc = '"\\ud800"'  # a lone surrogate, as JSON escapes it
    raw_base = json.dumps(base)
    return [
        ("surrogate in person", raw_base.replace(f'"{who}"', esc), "person", "surrogate"),
        ("surrogate in scan_id", raw_base.replace(f'"{sid}"', esc), "scan_id", "surrogate"),
        ("surrogate in venue_code", raw_base.replace(f'"{code}"', esc), "venue_code",
         "surrogate"),
        *[(f"ts {ts}", base | {"ts": ts}, "ts", "outside 2000") for ts in ENTRY_TIMES],
        *[(f"checkout_ts {ts}", base | {"checkout_ts": ts}, "checkout_ts", "outside 2000")
          for ts in ENTRY_TIMES],
        ("5,000-digit temperature", raw_base[:-1] + ', "temperature_c": ' + "9" * 5000 + "}",
         "temperature_c", "5,000-digit number"),
        ("NUL in scan_id", base | {"scan_id": "abc\x00def"}, "scan_id", "U+0000"),
        ("ANSI escape in person", base | {"person": who + "\x1b[31m"}, "person", "U+001B"),
        ("bidi override in person", base | {"person": "\u202e" + who}, "person", "U+202E"),
        ("checkout 100 years out", base | {"checkout_ts": base["ts"].replace("2026", "2126")},
         "checkout_ts", "outside 2000"),
        ("checkout two days later", base | {"checkout_ts": _days_later(base["ts"], 2)},
         "checkout_ts", "more than a day after ts"),
        ("duplicate key", raw_base[:-1] + ', "person": "110101199001011234"}', "person",
         "sent twice"),
        ("nested object", base | {"person": {"id": who}}, "person", "string"),
    ]


def _days_later(iso: str, days: int) -> str:
    from datetime import datetime, timedelta

    return (datetime.fromisoformat(iso) + timedelta(days=days)).isoformat()


def test_scan_batch_answers_each_bad_item_by_field_and_stores_the_good_ones(api):
    for what, bad, field, words in bad_scan_cases(api):
        before = count(api, t.scans)
        answer, good = batch_with(api, bad)
        results = answer["results"]
        assert (answer["accepted"], answer["rejected"]) == (2, 1), (what, results)
        assert results[1]["error"]["field"] == field, (what, results[1])
        assert words in results[1]["error"]["message"], (what, results[1])
        assert results[1]["scan_id"] is None or "\x00" not in results[1]["scan_id"]
        assert stored(api, [g["scan_id"] for g in good]) == 2, what
        assert count(api, t.scans) == before + 2, what  # the bad one stored nothing


def test_json_nested_100000_deep_is_refused_whole_with_a_400(api):
    for path, token in (("/api/v1/scans", api.device), ("/api/v1/feeds/tests",
                                                          api.token("feed"))):
        deep = "[" * 100_000 + "]" * 100_000
        r = post_raw(api, path, deep, token)
        assert r.status_code == 400, (path, r.status_code)
        assert "nested too deeply" in r.json["error"]["message"]


def test_a_single_bad_scan_is_a_422_naming_the_field_not_a_500(api):
    code, _, _ = venue(api)
    who = person(api, GREEN)
    surrogate = json.dumps(scan(api, who, code)).replace('"t-', '"\\udfff', 1)
    for text in (surrogate,
                 json.dumps(scan(api, who, code))[:-1] + ', "temperature_c": 1' + "0" * 4999
                 + "}"):
        r = post_raw(api, "/api/v1/scans", text, api.device)
        assert r.status_code == 422, r.get_data(as_text=True)[:200]
        assert r.json["error"]["field"] in ("scan_id", "temperature_c")


def feed(api, kind: str, rows: list[dict] | str):
    text = rows if isinstance(rows, str) else json.dumps(rows)
    r = post_raw(api, f"/api/v1/feeds/{kind}", text, api.token("feed"))
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return r.json


@pytest.mark.parametrize("kind, good, bad, column, words", [
    ("tests", {"person": "370102199001010011", "kind": "antigen",
               "sampled_at": "2026-11-21T08:00:00+08:00", "result": "negative"},
     {"person": "\ud800" * 3 + "1"}, "person", "surrogate"),
    ("tests", {"person": "370102199001010012", "kind": "antigen",
               "sampled_at": "2026-11-21T08:00:00+08:00", "result": "negative"},
     {"person": "x"}, "person", "shorter than 4"),
    ("tests", {"person": "370102199001010013", "kind": "antigen",
               "sampled_at": "2026-11-21T08:00:00+08:00", "result": "negative"},
     {"site": "采样点\x1b[2J"}, "site", "U+001B"),
    ("tests", {"person": "370102199001010014", "kind": "antigen",
               "sampled_at": "2026-11-21T08:00:00+08:00", "result": "negative"},
     {"sampled_at": "9999-12-31T23:59:59-12:00"}, "sampled_at", "outside 2000"),
    ("hotel_stays", {"person": "370102199001010015", "hotel_code": None,
                     "check_in": "2026-11-21T20:00:00+08:00",
                     "check_out": "2026-11-22T09:00:00+08:00"},
     {"check_out": "2026-11-20T09:00:00+08:00"}, "check_out", "before check_in"),
    ("volunteer_passes", {"pass_id": "VPBAD0001", "person": "370102199001010016",
                          "issued_on": "2026-11-15", "expires_on": "2026-12-15"},
     {"pass_id": "VPBAD0002", "expires_on": "2026-11-01"}, "expires_on", "before issued_on"),
])
def test_feed_rows_get_the_same_rules_as_scans_by_line_and_column(api, kind, good, bad, column,
                                                                   words):
    if "hotel_code" in good:
        good["hotel_code"] = venue(api, "hotel")[0]
    rows = [good, good | bad]
    report = feed(api, kind, rows)
    assert report["valid"] == 1 and report["rejected_count"] == 1, report
    reject = report["rejected"][0]
    assert (reject["line"], reject["column"]) == (2, column), reject
    assert words in reject["reason"], reject


def test_feed_scans_dated_1970_or_checked_out_before_entry_are_rejected(api):
    code, _, _ = venue(api)
    who = person(api, GREEN)
    good = {"scan_id": "feed-bad-1", "venue_code": code, "person": who, "ts": api.ts(5)}
    rows = [good,
            good | {"scan_id": "feed-bad-2", "ts": "1970-01-01T00:00:00+08:00"},
            good | {"scan_id": "feed-bad-3", "checkout_ts": api.ts(60)},
            good | {"scan_id": "feed-bad-4", "checkout_ts": _days_later(api.ts(5), 3)},
            good | {"scan_id": "feed-bad-5", "person": "7"}]
    report = feed(api, "scans", rows)
    assert report["valid"] == 1, report
    assert [(r["line"], r["column"]) for r in report["rejected"]] == [
        (2, "ts"), (3, "checkout_ts"), (4, "checkout_ts"), (5, "person")]
    assert "before ts" in report["rejected"][1]["reason"]
    assert stored(api, ["feed-bad-1"]) == 1
    assert stored(api, [f"feed-bad-{n}" for n in range(2, 6)]) == 0


def test_feed_building_ids_too_long_for_the_database_and_repeated_keys_are_rows_errors(api):
    with api.db.engine.connect() as conn:
        building = conn.execute(select(t.buildings.c.id).limit(1)).scalar()
    text = ('[{"person": "370102199001010021", "building_id": "B"},'
            ' {"person": "370102199001010022", "building_id": "12345678901234567890123"},'
            ' {"person": "370102199001010023", "building_id": 12345678901234567890123},'
            ' {"person": "370102199001010024", "building_id": "B", "person": "x1234"}]'
            ).replace('"B"', f'"{building}"')
    report = feed(api, "rosters", text)
    assert report["valid"] == 1, report
    assert [(r["line"], r["column"]) for r in report["rejected"]] == [
        (2, "building_id"), (3, "building_id"), (4, "person")]
    assert "sent twice" in report["rejected"][2]["reason"]


def test_deny_list_since_and_incident_ids_past_the_database_integers_are_client_errors(api):
    partner = api.token("partner")
    for since in ("9" * 40, "-1", "1e9", "１２"):
        r = api.client.get(f"/api/v1/denylist?since={since}",
                           headers={"Authorization": f"Bearer {partner}"})
        assert r.status_code == 400 and r.json["error"]["field"] == "since", since
    r = api.client.post("/api/v1/incidents/" + "9" * 30 + "/steps", json={"to": "held"},
                        headers={"Authorization": f"Bearer {api.device}"})
    assert r.status_code == 404 and "no incident" in r.json["error"]["message"]
