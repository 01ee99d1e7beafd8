"""Testing progress and cross-checks on SQLite and PostgreSQL, against a tiny hand-made city:
window edges (today, 24 h, 48 h), a building nobody tested, pass validity at the H-hour edge,
expired and shared passes (and near misses), arrivals in hotels flagged, batch plans and the
notify-once rule, and what each role is refused."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select

from components.testing import buildings_spec, community_rows, pass_rows, plan_preview
from placecode.auth.policy import Refused, Viewer
from placecode.db import schema as t
from placecode.db.engine import get_engine, init_db
from placecode.testing.batches import natural_key, sms_text, split_buildings
from placecode.testing.checks import distance_km
from placecode.testing.progress import raise_last_tests, refresh_last_tests
from queries import testing as q

NOW = datetime(2026, 11, 23, 15, 0)
H = 48
SQUARE = '{"type":"Polygon","coordinates":[[[122,37],[123,37],[123,38],[122,38],[122,37]]]}'
D1, D2 = 371002, 371003
S1, S2 = 371002001, 371003001
C1, C2, C3 = 371002001001, 371002001002, 371003001001
CITY = Viewer("city_commander")
OWN = Viewer("district_commander", D1)
OTHER = Viewer("duty_officer", D2)
PLANNER = Viewer("planner")
WHO = {"username": "tester"}
# buildings: id -> (community, name)
BUILDINGS = {1: (C1, "2号楼"), 2: (C1, "10号楼"), 3: (C1, "1号楼"), 4: (C1, "3号楼"),
             5: (C2, "1号楼"), 6: (C3, "1号楼")}
# persons: id -> building
HOMES = {1: 1, 2: 1, 3: 1, 4: 1, 5: 2, 6: 2, 7: 2, 8: 3, 9: 3, 10: 5, 11: 6}
MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)
# tests: person, sampled_at, result, site
TESTS = [
    (1, NOW - timedelta(hours=1), "negative", "采样点A"),  # today, 24 h, 48 h
    (2, NOW - timedelta(hours=24), "negative", "采样点A"),  # exactly 24 h: in 24 h, not today
    (3, NOW - timedelta(hours=24) - SEC, "positive", None),  # just outside 24 h, inside 48 h
    (4, NOW - timedelta(hours=48), "negative", None),  # exactly 48 h: in
    (5, NOW - timedelta(hours=48) - MIN, "negative", None),  # 48 h + 1 min: out
    (5, NOW - timedelta(days=4), "negative", None),
    (6, datetime(2026, 11, 23, 0, 0), "negative", "采样点A"),  # midnight: today
    (10, NOW - timedelta(hours=2), "pending", "采样点B"),
]
# venues: id -> (kind, lon, lat, mobile); 0.30° of longitude at 37.5° N is 26.5 km
VENUES = {1: ("shop", 122.10, 37.5, False), 2: ("shop", 122.40, 37.5, False),
          3: ("shop", 122.145, 37.5, False), 4: ("bus", 122.60, 37.5, True),
          5: ("hotel", 122.12, 37.5, False)}
SCANS = [  # person, venue, ts
    (1, 1, NOW - timedelta(hours=3)), (1, 2, NOW - timedelta(hours=3) + 10 * MIN),  # shared
    (2, 1, NOW - timedelta(hours=5)), (2, 3, NOW - timedelta(hours=5) + 10 * MIN),  # 4 km: no
    (2, 4, NOW - timedelta(hours=5) + 12 * MIN),  # a bus far away: buses move, no
    (4, 1, NOW - timedelta(hours=6)), (4, 2, NOW - timedelta(hours=6) + 31 * MIN),  # 31 min: no
    (1, 2, NOW - timedelta(hours=30)), (1, 1, NOW - timedelta(hours=30) + 5 * MIN),  # > 24 h ago
    (2, 5, NOW - timedelta(hours=2)),  # a hotel scan after arriving
]
PASSES = [  # pass_id, person, expires_on
    ("VP1", 1, date(2026, 12, 1)), ("VP2", 2, date(2026, 12, 1)), ("VP3", 3, date(2026, 12, 1)),
    ("VP4", 4, date(2026, 12, 1)), ("VP5", 5, date(2026, 12, 1)), ("VP6", 6, date(2026, 11, 22)),
    ("VP7", 7, date(2026, 11, 23)), ("VP11", 11, date(2026, 11, 22)),
]
DAY = timedelta(days=1)
ARRIVALS = [  # person, arrived_at, key_area, stay_kind, monitored (person_status row)
    (8, NOW - 2 * DAY, True, "hotel", True),  # stays in the hotel while monitored: flagged
    (9, NOW - 3 * DAY, True, "home", True),  # at home: not flagged
    (7, NOW - 10 * DAY, True, "hotel", True),  # monitoring over: not flagged
    (5, NOW - DAY, True, "home", False),  # no monitoring on record: flagged
    (2, NOW - DAY, True, "home", True),  # scanned at a hotel since arriving: flagged
    (11, NOW - DAY, True, "hotel", True),  # another district
    (10, NOW - DAY, False, "home", False),  # not from a key area
    (6, NOW - 20 * DAY, True, "home", False),  # older than 14 days
]
STAYS = [(8, 5, NOW - 2 * DAY, NOW + 5 * DAY), (7, 5, NOW - 10 * DAY, NOW - 3 * DAY)]


def _area(id_, **extra) -> dict:
    return {"id": id_, "name_zh": f"区域{id_ % 1000}", "name_en": f"Area {id_ % 1000}",
            "label_lon": 122.1, "label_lat": 37.5, "geometry": SQUARE, **extra}


@pytest.fixture
def city(db_url):
    """Two districts, three communities, six buildings, eleven residents and their facts."""
    engine = get_engine(db_url)
    init_db(engine)
    with engine.begin() as conn:
        conn.execute(insert(t.districts), [
            {"id": D1, "name_zh": "环翠区", "name_en": "Huancui", "population": 1,
             "residents": 1, "label_lon": 122.1, "label_lat": 37.5, "geometry": SQUARE},
            {"id": D2, "name_zh": "文登区", "name_en": "Wendeng", "population": 1,
             "residents": 1, "label_lon": 122.1, "label_lat": 37.5, "geometry": SQUARE}])
        conn.execute(insert(t.subdistricts), [_area(S1, district_id=D1, generated=True),
                                              _area(S2, district_id=D2, generated=True)])
        conn.execute(insert(t.communities), [
            _area(C1, subdistrict_id=S1, district_id=D1, generated=True) | {"name_zh": "海景社区"},
            _area(C2, subdistrict_id=S1, district_id=D1, generated=True),
            _area(C3, subdistrict_id=S2, district_id=D2, generated=True)])
        conn.execute(insert(t.buildings), [
            {"id": b, "community_id": c, "name": name, "lon": 122.1 + b / 1000, "lat": 37.5}
            for b, (c, name) in BUILDINGS.items()])
        conn.execute(insert(t.persons), [
            {"id": p, "person_key": f"{p:028d}k{p:03d}", "district_id": D2 if b == 6 else D1,
             "community_id": BUILDINGS[b][0], "building_id": b, "health_code": "green"}
            for p, b in HOMES.items()])
        conn.execute(insert(t.tests), [
            {"person_id": p, "kind": "nucleic", "sampled_at": at, "result": r, "site": site}
            for p, at, r, site in TESTS])
        refresh_last_tests(conn)
        conn.execute(insert(t.sampling_sites), [
            {"name": "采样点A", "district_id": D1, "subdistrict_id": S1, "lon": 122.1,
             "lat": 37.5, "capacity_per_day": 100},
            {"name": "采样点B", "district_id": D1, "subdistrict_id": S1, "lon": 122.2,
             "lat": 37.5, "capacity_per_day": 50},
            {"name": "采样点C", "district_id": D2, "subdistrict_id": S2, "lon": 122.3,
             "lat": 37.5, "capacity_per_day": 50}])
        conn.execute(insert(t.venues), [
            {"id": v, "code": f"V{v}", "name": f"场所{v}", "kind": kind, "district_id": D1,
             "subdistrict_id": S1, "lon": lon, "lat": lat, "mobile": mobile}
            for v, (kind, lon, lat, mobile) in VENUES.items()])
        conn.execute(insert(t.scans), [
            {"scan_id": f"s{i}", "venue_id": v, "person_id": p, "ts": ts, "verdict": "green",
             "reasons": ""} for i, (p, v, ts) in enumerate(SCANS)])
        conn.execute(insert(t.volunteer_passes), [
            {"pass_id": pid, "person_id": p, "organisation": "社区志愿者",
             "issued_on": date(2026, 11, 1), "expires_on": exp} for pid, p, exp in PASSES])
        conn.execute(insert(t.arrivals), [
            {"person_id": p, "arrived_at": at, "origin": "上海", "key_area": key,
             "stay_kind": stay, "monitoring_days": 7 if key else 0, "address": ""}
            for p, at, key, stay, _ in ARRIVALS])
        conn.execute(insert(t.person_status), [
            {"person_id": p, "verdict": "yellow", "reasons": "", "doses": 3,
             "monitoring_until": at + 7 * DAY, "managed": False, "evaluated_at": NOW,
             "rule_version": 1} for p, at, _, _, monitored in ARRIVALS if monitored])
        conn.execute(insert(t.hotel_stays), [
            {"person_id": p, "venue_id": v, "check_in": cin, "check_out": cout}
            for p, v, cin, cout in STAYS])
    return engine


def audit(engine, action: str) -> list:
    with engine.connect() as conn:
        return conn.execute(select(t.audit_log.c.username, t.audit_log.c.subject)
                            .where(t.audit_log.c.action == action)
                            .order_by(t.audit_log.c.id)).all()


# -- progress -------------------------------------------------------------------------------------

def test_testing_district_progress_counts_window_edges(city):
    frame = q.district_progress(city, CITY, D1, NOW)
    assert frame["community_id"].tolist() == [C1, C2]  # furthest behind first
    c1 = frame.iloc[0]
    # residents 1-9; today: 1, 6 (midnight); 24 h: + 2 (exactly 24 h); 48 h: + 3, 4 (exactly)
    assert c1[["residents", "tested_today", "tested_24h", "tested_48h", "untested_48h"]] \
        .tolist() == [9, 2, 3, 5, 4]
    assert c1["pct_48h"] == pytest.approx(55.6) and c1["pct_24h"] == pytest.approx(33.3)
    assert c1["name_zh"] == "海景社区" and c1["subdistrict_zh"] == "区域1"
    c2 = frame.iloc[1]
    assert c2[["residents", "tested_48h", "pct_48h"]].tolist() == [1, 1, 100.0]  # pending counts
    rows = community_rows(frame, "zh")
    assert rows[0]["community"] == "海景社区" and rows[0]["pct_48h"] == pytest.approx(55.6)


def test_testing_buildings_furthest_behind_first_with_empty_ones(city):
    info, frame = q.community_buildings(city, OWN, C1, NOW)
    assert info["district_zh"] == "环翠区" and info["name_zh"] == "海景社区"
    assert frame["name"].tolist() == ["1号楼", "10号楼", "2号楼", "3号楼"]
    by_name = frame.set_index("name")
    assert by_name.loc["1号楼", ["residents", "tested_48h", "untested_48h", "pct_48h"]] \
        .tolist() == [2, 0, 2, 0.0]  # nobody tested
    assert by_name.loc["10号楼", ["residents", "tested_today", "tested_24h", "tested_48h"]] \
        .tolist() == [3, 1, 1, 1]  # 48 h + 1 min is out
    assert by_name.loc["2号楼", ["residents", "tested_today", "tested_24h", "tested_48h"]] \
        .tolist() == [4, 1, 2, 4]
    assert by_name.loc["3号楼", "residents"] == 0 and np.isnan(by_name.loc["3号楼", "pct_48h"])
    spec = buildings_spec(frame, "m", "zh", "community-1")
    assert len(spec["points"]) == 4 and spec["fit"] == "community-1"
    assert spec["points"][0]["colour"][:3] == [224, 49, 49]  # 0 %: red
    assert spec["points"][-1]["colour"][:3] == [110, 120, 135]  # nobody lives there: grey


def test_testing_last_test_only_rises(city):
    with city.begin() as conn:
        raise_last_tests(conn, np.array([1, 7]), np.array(
            [np.datetime64("2026-11-01T00:00:00"), np.datetime64("2026-11-23T14:00:00")]))
        got = dict(conn.execute(select(t.persons.c.id, t.persons.c.last_test_at)
                                .where(t.persons.c.id.in_([1, 7]))).all())
    assert got == {1: NOW - timedelta(hours=1), 7: datetime(2026, 11, 23, 14, 0)}


def test_testing_sites_count_todays_samples(city):
    sites = q.site_throughput(city, OWN, D1, NOW)
    assert sites[["name", "capacity", "today", "utilisation"]].values.tolist() == [
        ["采样点A", 100, 2, 2.0], ["采样点B", 50, 1, 2.0]]  # A: persons 1 and 6 today


# -- batch plans -------------------------------------------------------------------------------

def test_testing_batch_split_and_message_text(city):
    frame = pd.DataFrame({"building_id": [1, 2, 3, 4], "name": ["2号楼", "10号楼", "1号楼",
                                                                  "3号楼"],
                          "residents": [4, 3, 2, 0]})
    runs = split_buildings(frame, 2)
    assert [r["name"].tolist() for r in runs] == [["1号楼", "2号楼"], ["3号楼", "10号楼"]]
    assert len(split_buildings(frame, 9)) == 4  # never an empty batch
    assert sorted(["10号楼", "2号楼", "1号楼"], key=natural_key) == ["1号楼", "2号楼", "10号楼"]
    start = datetime(2026, 11, 24, 8, 0)
    plan = q.propose_plan(city, OWN, C1, start, 30, 2, NOW)
    assert plan.round_start == start and [b.residents for b in plan.batches] == [6, 3]
    assert plan.batches[1].slot_start == datetime(2026, 11, 24, 8, 30)
    assert plan.batches[0].messages[0] == (
        "【环翠区居村微平台】海景社区1号楼居民：请于11月24日08:00–08:30分批下楼做核酸，"
        "携带身份证，保持间距。")
    assert sms_text("徐汇区", "XX社区", "3号楼", start, start + timedelta(minutes=30)) == (
        "【徐汇区居村微平台】XX社区3号楼居民：请于11月24日08:00–08:30分批下楼做核酸，"
        "携带身份证，保持间距。")
    rows = plan_preview(plan, "zh")
    assert [r["building"] for r in rows] == ["1号楼", "2号楼", "3号楼", "10号楼"]
    with pytest.raises(q.PlanError, match="slot minutes"):
        q.propose_plan(city, OWN, C1, start, 2, 2, NOW)
    with pytest.raises(q.PlanError, match="batches"):
        q.propose_plan(city, OWN, C1, start, 30, 0, NOW)


def test_testing_plan_saved_once_progress_and_notify_once(city):
    start = NOW - timedelta(hours=2)  # the round began at 13:00
    plan = q.propose_plan(city, OWN, C1, start, 30, 2, NOW)
    ids = q.save_plan(city, OWN, plan, now=NOW, **WHO)
    assert len(ids) == 2
    with pytest.raises(q.PlanError, match="already has a plan for the round starting "
                                          "2026-11-23 13:00"):
        q.save_plan(city, OWN, q.propose_plan(city, OWN, C1, start, 20, 3, NOW), now=NOW,
                    **WHO)
    frame = q.batch_progress(city, OWN, C1)
    assert frame["batch_no"].tolist() == [1, 2]
    assert frame["buildings"].tolist() == [["1号楼", "2号楼"], ["3号楼", "10号楼"]]
    # since 13:00: person 1 (14:00) of buildings 1号楼+2号楼 (6 residents); nobody of 3+10号楼
    assert frame[["residents", "tested"]].values.tolist() == [[6, 1], [3, 0]]
    assert frame["message"].iloc[0].count("\n") == 1  # one text per building
    assert frame["notified_at"].isna().all()
    q.notify_batch(city, OWN, ids[0], username="duty", now=NOW + MIN)
    with pytest.raises(q.PlanError, match="batch 1 was notified already, at 11-23 15:01 by duty"):
        q.notify_batch(city, CITY, ids[0], username="other", now=NOW + 2 * MIN)
    frame = q.batch_progress(city, OWN, C1)
    assert frame["notified_by"].tolist()[0] == "duty"
    assert pd.Timestamp(frame["notified_at"].iloc[0]) == pd.Timestamp(NOW + MIN)
    assert audit(city, "test_plan_create") == [("tester", f"community {C1} round 2026-11-23 "
                                                          "13:00")]
    assert audit(city, "test_batch_notify") == [("duty", f"community {C1} round 2026-11-23 "
                                                         "13:00 batch 1")]
    with pytest.raises(Refused, match="may not plan test batches"):
        q.notify_batch(city, PLANNER, ids[1], username="plan", now=NOW)
    with pytest.raises(Refused, match="is not yours"):
        q.notify_batch(city, OTHER, ids[1], username="x", now=NOW)


# -- volunteer passes ----------------------------------------------------------------------------

def test_testing_passes_expired_invalid_and_shared(city):
    check = q.check_passes(city, OWN, D1, NOW, H, **WHO)
    assert check.holders == 7  # VP11 lives in the other district
    got = dict(zip(check.passes["pass_id"], check.passes["problems"], strict=True))
    # VP2 (negative exactly 24 h ago) and VP4 (negative exactly 48 h ago, far scans 31 min
    # apart) are fine; VP5's negative is 48 h + 1 min old; VP3's only test was positive
    assert got == {"VP1": "shared", "VP3": "no_test", "VP5": "no_test", "VP6": "expired",
                   "VP7": "no_test"}  # VP7 expires today: still valid that day
    assert check.passes["person"].str.startswith("••••").all()
    assert check.passes.set_index("pass_id").loc["VP5", "last_negative"] \
        == pd.Timestamp(NOW - timedelta(hours=48) - MIN)
    assert len(check.shared) == 1
    pair = check.shared.iloc[0]
    assert (pair["pass_id"], pair["venue_1"], pair["venue_2"]) == ("VP1", "场所1", "场所2")
    assert pair["person"] == "••••k001" and pair["minutes"] == 10.0
    assert pair["km"] == pytest.approx(26.5, abs=0.1)
    assert distance_km(122.10, 37.5, 122.145, 37.5) == pytest.approx(3.97, abs=0.05)
    assert pass_rows(check.passes, "en")[0]["problems"] == "shared"
    assert audit(city, "view_pass_checks") == [("tester", f"district {D1}")]
    counts = q.check_passes(city, OWN, D1, NOW, H, audit=False, **WHO)
    assert len(counts.passes) == 5 and len(audit(city, "view_pass_checks")) == 1
    shorter = q.check_passes(city, OWN, D1, NOW, 24, audit=False, **WHO)
    assert set(shorter.passes["pass_id"]) == {"VP1", "VP3", "VP4", "VP5", "VP6", "VP7"}


# -- arrivals × hotels ---------------------------------------------------------------------------

def test_testing_arrivals_in_hotels_flagged_at_home_not(city):
    by_hotel, rows = q.arrivals_hotels(city, OWN, D1, NOW, **WHO)
    person = {int(k[-3:]): k for k in [f"{p:028d}k{p:03d}" for p in HOMES]}
    got = {p: rows.set_index("person").loc["••••" + person[p][-4:]] for p in (8, 9, 7, 5, 2)}
    assert len(rows) == 5  # district 1, key areas, last 14 days
    assert got[8]["reasons"] == "hotel_stay" and got[8]["hotel"] == "场所5"
    assert got[9]["reasons"] == "" and not got[9]["flagged"]
    assert got[7]["reasons"] == "" and got[7]["hotel"] == "场所5"  # monitoring over
    assert got[5]["reasons"] == "no_monitoring"
    assert got[2]["reasons"] == "hotel_scan" and got[2]["hotel_scans"] == 1
    assert rows["arrived_at"].is_monotonic_decreasing
    assert by_hotel[["hotel", "arrivals", "flagged"]].values.tolist() == [
        ["场所5", 3, 2], ["", 2, 1]]
    assert audit(city, "view_arrival_checks") == [("tester", f"district {D1}")]
    _, everyone = q.arrivals_hotels(city, CITY, None, NOW, audit=False, **WHO)
    assert len(everyone) == 6 and len(audit(city, "view_arrival_checks")) == 1


# -- scope --------------------------------------------------------------------------------------

def test_testing_planner_sees_aggregates_but_no_person_lists(city):
    assert len(q.district_progress(city, PLANNER, D1, NOW)) == 2
    assert len(q.community_buildings(city, PLANNER, C3, NOW)[1]) == 1
    for read in (lambda: q.check_passes(city, PLANNER, D1, NOW, H, **WHO),
                 lambda: q.arrivals_hotels(city, PLANNER, D1, NOW, **WHO)):
        with pytest.raises(Refused, match="may not see person-level data"):
            read()
    with pytest.raises(Refused, match="may not plan test batches"):
        q.propose_plan(city, PLANNER, C1, NOW, 30, 2, NOW)
    assert audit(city, "view_pass_checks") == []


def test_testing_district_roles_limited_to_their_district(city):
    with pytest.raises(Refused, match="is not yours"):
        q.community_buildings(city, OTHER, C1, NOW)
    with pytest.raises(Refused, match="you see district 371003 only"):
        q.district_progress(city, OTHER, D1, NOW)
    with pytest.raises(Refused, match="is not yours"):
        q.check_passes(city, OTHER, D1, NOW, H, **WHO)
    with pytest.raises(Refused, match="is not yours"):
        q.save_plan(city, OTHER, q.propose_plan(city, OWN, C1, NOW, 30, 1, NOW), now=NOW, **WHO)
    assert q.district_options(city, OTHER)["district_id"].tolist() == [D2]
    assert q.community_options(city, OTHER, None)["community_id"].tolist() == [C3]
    assert q.check_passes(city, OTHER, None, NOW, H, **WHO).holders == 1
    for role in ("field_staff", "wall"):
        with pytest.raises(Refused, match="may not see testing"):
            q.district_progress(city, Viewer(role, D1), D1, NOW)
    with pytest.raises(Refused, match="has no district"):
        q.district_progress(city, Viewer("district_commander"), D1, NOW)
    with pytest.raises(q.UnknownArea, match="no community has the id 1"):
        q.community_buildings(city, CITY, 1, NOW)
