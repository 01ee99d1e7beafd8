"""Foot traffic for planners on SQLite and PostgreSQL: scans that came through the ingest are
counted in the rollups, persons recounted, and cells below k persons suppressed at the edge
(k-1 hidden, k shown), against hand-made scans on a day the demo left empty (today)."""

from __future__ import annotations

from datetime import datetime, time

import pandas as pd
import pytest
from sqlalchemy import func, select

from placecode.auth.policy import Refused, Viewer
from placecode.db import schema as t
from placecode.economy.rollups import days_missing_persons, recount_day
from placecode.ingest.scans import Ingestor
from queries import economy as q
from tests.conftest import SECRET

K = 10
PLANNER = Viewer("planner")
HUANCUI = Viewer("district_commander", 371002)
DISTRICT = 371002
# persons per kind in one sub-district: the mall at k, the hotel at k-1, restaurants plenty
PLAN = {"mall": K, "hotel": K - 1, "restaurant": 3 * K}


@pytest.fixture(scope="module")
def traffic(city_db):
    """Hand-made scans today (after the demo's last scan) in one sub-district, through the
    ingest; returns what was sent."""
    engine = city_db.engine
    ingest = Ingestor(engine, SECRET, "Asia/Shanghai", 28)
    now = ingest.now()
    when = datetime.combine(now.date(), time(0, 0))  # today, never in the future
    v = t.venues.c
    with engine.connect() as conn:
        sub = conn.execute(select(v.subdistrict_id).where(v.district_id == DISTRICT,
                                                          v.kind == "mall").limit(1)).scalar()
        venue = {kind: conn.execute(select(v.code).where(v.subdistrict_id == sub, v.kind == kind)
                                    .order_by(v.code).limit(1)).scalar() for kind in PLAN}
    assert all(venue.values()), venue
    people = pd.read_parquet(city_db.instance / "demo-people.parquet")["id_number"].tolist()
    scans, n = [], 0
    for kind, persons in PLAN.items():
        for i in range(persons):
            scans.append({"scan_id": f"econ-{kind}-{i}", "venue_code": venue[kind],
                          "person": people[n + i], "ts": when.isoformat() + "+08:00"})
        n += persons
    # one mall visitor comes back: 11 scans, still 10 persons
    scans.append(scans[0] | {"scan_id": "econ-mall-again"})
    results = ingest.ingest(scans, now)
    assert all("verdict" in r for r in results), results
    return {"day": now.date(), "sub": sub, "scans": {k: PLAN[k] + (k == "mall") for k in PLAN}}


def cube(db, traffic, by, scope=PLANNER, kinds=None, district=DISTRICT):
    return q.foot_traffic(db.engine, scope, by, traffic["day"], traffic["day"],
                          district=district, kinds=kinds, k=K).frame


def raw_scans(db, traffic, kind: str) -> int:
    s, v = t.scans, t.venues
    with db.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(s.join(v, v.c.id == s.c.venue_id))
            .where(v.c.subdistrict_id == traffic["sub"], v.c.kind == kind,
                   s.c.ts >= datetime.combine(traffic["day"], time(0)))).scalar()


def test_uncounted_persons_hide_a_cell_until_the_recount(city_db, traffic):
    assert traffic["day"] in days_missing_persons(city_db.engine)
    before = cube(city_db, traffic, ("subdistrict",), kinds=["restaurant"])
    assert before["hidden"].all()  # 30 persons, but nobody counted them yet
    done = recount_day(city_db.engine, traffic["day"])
    assert done.cells > 0 and traffic["day"] not in days_missing_persons(city_db.engine)
    after = cube(city_db, traffic, ("subdistrict",), kinds=["restaurant"])
    assert after.set_index("subdistrict").loc[traffic["sub"], "scans"] == 3 * K


@pytest.mark.parametrize("kind,shown", [("mall", True), ("hotel", False)])
def test_k_persons_are_shown_and_k_minus_one_hidden(city_db, traffic, kind, shown):
    recount_day(city_db.engine, traffic["day"])
    frame = cube(city_db, traffic, ("subdistrict",), kinds=[kind]).set_index("subdistrict")
    cell = frame.loc[traffic["sub"]]
    assert bool(cell["hidden"]) is not shown
    if shown:  # the number is the raw count: 11 scans by 10 persons
        assert cell["scans"] == traffic["scans"][kind] == raw_scans(city_db, traffic, kind)
    else:
        assert pd.isna(cell["scans"])


def test_a_lone_hidden_industry_takes_the_next_smallest_with_it(city_db, traffic):
    """Hotel (9 persons) alone hidden would be the visible total minus the rest: the mall (10)
    is hidden too; restaurants (30) stay."""
    recount_day(city_db.engine, traffic["day"])
    frame = cube(city_db, traffic, ("industry", "subdistrict"), kinds=list(PLAN))
    cells = frame[frame["subdistrict"] == traffic["sub"]].set_index("industry")
    assert cells["hidden"].to_dict() == {"hotel": True, "mall": True, "restaurant": False}
    assert cells.loc["restaurant", "scans"] == 3 * K


def test_day_and_hour_grains_agree_with_the_scans(city_db, traffic):
    recount_day(city_db.engine, traffic["day"])
    day = cube(city_db, traffic, ("industry", "district", "day"), kinds=["restaurant", "mall"])
    assert day.set_index("industry").loc["restaurant", "scans"] == 3 * K
    hour = cube(city_db, traffic, ("industry", "hour"), kinds=["restaurant"])
    assert hour.to_dict("records") == [{"industry": "restaurant", "hour": 0,
                                        "scans": 3 * K, "hidden": False}]


def test_export_has_the_page_numbers_and_is_audited(city_db, traffic):
    recount_day(city_db.engine, traffic["day"])
    by = ("industry", "subdistrict")
    page = cube(city_db, traffic, by, kinds=list(PLAN))
    got, frame = q.export(city_db.engine, PLANNER, "plan", by, traffic["day"], traffic["day"],
                          district=DISTRICT, kinds=list(PLAN), k=K)
    assert list(frame.columns) == ["industry", "subdistrict", "scans", "suppressed"]
    assert frame["suppressed"].tolist() == page["hidden"].tolist()
    shown = ~frame["suppressed"]
    assert frame["scans"][shown].tolist() == page["scans"][shown].astype(int).tolist()
    assert frame["scans"][~shown].isna().all()
    with city_db.engine.connect() as conn:
        last = conn.execute(select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(1)).one()
    assert (last.action, last.username, last.subject) == ("export_foot_traffic", "plan",
                                                          "industry,subdistrict")


def test_scope_district_roles_see_their_own_district_only(city_db, traffic):
    own = q.foot_traffic(city_db.engine, HUANCUI, ("district",), traffic["day"], traffic["day"],
                         k=K)
    assert own.district == DISTRICT and own.frame["district"].tolist() == [DISTRICT]
    with pytest.raises(Refused, match="not yours"):
        q.foot_traffic(city_db.engine, HUANCUI, ("district",), traffic["day"], traffic["day"],
                       district=371003)
    for role in ("field_staff", "wall"):
        with pytest.raises(Refused, match="no access"):
            q.foot_traffic(city_db.engine, Viewer(role, DISTRICT), ("day",), traffic["day"],
                           traffic["day"])


@pytest.mark.parametrize("by,message", [
    ("industry,persons", "persons is not a dimension"),
    ("subdistrict,hour", "kept per district"),
    ("day,day", "twice"),
    ("", "nothing given"),
])
def test_bad_dimensions_are_named(by, message):
    with pytest.raises(q.EconomyError, match=message):
        q.parse_by(by)
