"""Venue search and a venue's page: filters, paging, sorting, scope refusals and the audited
unmasking, each checked against direct counts on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from components.venues import flagged_rows, points_spec, search_rows, venue_spec
from placecode.auth.policy import Refused, Viewer
from placecode.db import schema as t
from queries import venues as q

CITY = Viewer("city_commander")
PLANNER = Viewer("planner")
WALL = Viewer("wall")
HUANCUI = Viewer("district_commander", 371002)
OFFICER = Viewer("duty_officer", 371003)
F = q.VenueFilter


def today(db):
    return db.now.astype("datetime64[D]").astype(object)


def count(db, *where) -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.venues).where(*where)).scalar()


def all_rows(db, scope, flt, sort=None):
    frame, total = q.search_venues(db.engine, scope, flt, today(db), 0, q.MAX_BLOCK, sort)
    assert len(frame) == min(total, q.MAX_BLOCK)
    return frame, total


def busiest(db, scope=CITY, **flt) -> str:
    frame, _ = q.search_venues(db.engine, scope, F(**flt), today(db), 0, 1,
                               [{"colId": "scans", "sort": "desc"}])
    return frame.code[0]


def test_venues_search_filters_equal_direct_counts(demo_db):
    v = t.venues.c
    sub = 371002003
    cases = [
        (F(), []),
        (F(district_id=371003), [v.district_id == 371003]),
        (F(subdistrict_id=sub), [v.subdistrict_id == sub]),
        (F(kind="mall"), [v.kind == "mall"]),
        (F(code="371002s"), [v.code.like("371002S%")]),  # typed in lower case
        (F(code="371002P00009"), [v.code.like("371002P00009%")]),  # range ends at ...P0000A
        (F(code="37108"), [v.code.like("37108%")]),
        (F(name="超市"), [v.name.like("%超市%")]),
        (F(name="0001号", district_id=371002), [v.name.like("%0001号%"), v.district_id == 371002]),
        (F(district_id=371002, subdistrict_id=sub, kind="shop"),
         [v.subdistrict_id == sub, v.kind == "shop"]),
    ]
    for flt, where in cases:
        frame, total = all_rows(demo_db, CITY, flt)
        assert total == count(demo_db, *where), flt
        assert total > 0, flt
    frame, _ = all_rows(demo_db, CITY, F(name="超市", code="37100"))
    assert frame["name"].str.contains("超市").all() and frame["code"].str.startswith("37100").all()
    assert set(frame.columns) >= {"code", "name", "kind", "district_zh", "district_en",
                                  "subdistrict_zh", "subdistrict_en", "scans", "lon", "lat"}


def test_venues_search_wildcards_are_literal(demo_db):
    assert all_rows(demo_db, CITY, F(name="%"))[1] == 0
    assert all_rows(demo_db, CITY, F(name="_"))[1] == 0
    assert all_rows(demo_db, CITY, F(code="3710_2"))[1] == 0


def test_venues_paging_blocks_add_up_without_overlap(demo_db):
    flt = F(district_id=371002)
    total = count(demo_db, t.venues.c.district_id == 371002)
    assert total > 250
    for sort in (None, [{"colId": "scans", "sort": "desc"}], [{"colId": "name", "sort": "asc"}],
                 [{"colId": "kind", "sort": "desc"}]):
        codes = []
        for start in range(0, total + 100, 100):
            frame, n = q.search_venues(demo_db.engine, CITY, flt, today(demo_db), start,
                                       start + 100, sort)
            assert n == total
            codes += frame["code"].tolist()
        assert len(codes) == total == len(set(codes)), sort


def test_venues_sort_follows_the_sort_model(demo_db):
    day = today(demo_db)
    frame, _ = q.search_venues(demo_db.engine, CITY, F(), day, 0, 200,
                               [{"colId": "scans", "sort": "desc"}])
    assert frame["scans"].is_monotonic_decreasing and frame["scans"].iloc[0] > 0
    with demo_db.engine.connect() as conn:
        top = conn.execute(select(func.max(t.rollup_venue_day.c.scans))
                           .where(t.rollup_venue_day.c.day == day)).scalar()
    assert frame["scans"].iloc[0] == top
    frame, _ = q.search_venues(demo_db.engine, CITY, F(), day, 0, 200,
                               [{"colId": "code", "sort": "desc"}])
    assert frame["code"].is_monotonic_decreasing
    frame, _ = q.search_venues(demo_db.engine, CITY, F(), day, 0, 200)
    assert frame["code"].is_monotonic_increasing


def test_venues_map_points_are_the_busiest_capped(demo_db):
    frame, total = q.venue_points(demo_db.engine, CITY, F(), today(demo_db), cap=300)
    assert total == count(demo_db) and len(frame) == 300
    assert frame["scans"].is_monotonic_decreasing
    frame, total = q.venue_points(demo_db.engine, CITY, F(kind="mall"), today(demo_db))
    assert len(frame) == total == count(demo_db, t.venues.c.kind == "mall")


def test_venues_scope_limits_district_roles_and_refuses_walls(demo_db):
    frame, total = all_rows(demo_db, HUANCUI, F())
    assert total == count(demo_db, t.venues.c.district_id == 371002)
    assert set(frame["district_id"]) == {371002}
    with pytest.raises(Refused, match="you see district 371002 only"):
        q.search_venues(demo_db.engine, HUANCUI, F(district_id=371003), today(demo_db))
    with pytest.raises(Refused, match="may not see venues"):
        q.search_venues(demo_db.engine, WALL, F(), today(demo_db))
    with pytest.raises(Refused, match="may not see venues"):
        q.search_venues(demo_db.engine, Viewer("field_staff"), F(), today(demo_db))
    assert all_rows(demo_db, PLANNER, F())[1] == count(demo_db)  # planners: the whole city
    assert list(q.district_options(demo_db.engine, HUANCUI)["district_id"]) == [371002]
    assert len(q.district_options(demo_db.engine, CITY)) == 4
    subs = q.subdistrict_options(demo_db.engine, HUANCUI, 371003)  # own district regardless
    assert len(subs) and (subs["subdistrict_id"] // 1000 == 371002).all()
    assert set(q.kind_options(demo_db.engine, CITY)) == {
        "shop", "enterprise", "restaurant", "residential", "government", "supermarket",
        "hotel", "mall", "bus", "taxi"}


def test_venue_overview_equals_rollups_and_raw_scans(demo_db):
    day = today(demo_db)
    code = busiest(demo_db)
    data = q.venue_overview(demo_db.engine, CITY, code, day)
    start = datetime.combine(day, datetime.min.time())
    with demo_db.engine.connect() as conn:
        vid = conn.execute(select(t.venues.c.id).where(t.venues.c.code == code)).scalar()
        raw = dict(conn.execute(select(t.scans.c.verdict, func.count()).where(
            t.scans.c.venue_id == vid, t.scans.c.ts >= start,
            t.scans.c.ts < start + timedelta(days=1))
            .group_by(t.scans.c.verdict)).all())
    assert data.venue["code"] == code and data.venue["district_bounds"] is not None
    assert data.hourly["scans"].sum() == sum(raw.values()) == data.mix["scans"] > 0
    assert (data.mix["red"], data.mix["yellow"]) == (raw.get("red", 0), raw.get("yellow", 0))
    assert len(data.daily) == 14 and data.daily["day"].iloc[-1] == day
    assert data.daily["scans"].iloc[-1] == data.mix["scans"]
    assert data.daily["scans"].iloc[:-1].sum() > 0  # earlier days from the rollup
    planner = q.venue_overview(demo_db.engine, PLANNER, code, day)
    assert planner.mix["scans"] == data.mix["scans"] and planner.mix["red"] is None
    assert planner.daily["red"].isna().all()


def test_venue_unknown_or_bad_code_says_so(demo_db):
    with pytest.raises(q.UnknownVenue, match="no venue has the code 371002P999999"):
        q.venue_overview(demo_db.engine, CITY, "371002p999999", today(demo_db))
    with pytest.raises(q.UnknownVenue, match="letters and digits"):
        q.venue_overview(demo_db.engine, CITY, "<script>", today(demo_db))


def test_venue_scope_refuses_other_districts_planners_and_walls(demo_db):
    day = today(demo_db)
    code = busiest(demo_db, district_id=371002)
    assert q.venue_overview(demo_db.engine, HUANCUI, code, day).venue["code"] == code
    with pytest.raises(Refused, match="is not yours"):
        q.venue_overview(demo_db.engine, OFFICER, code, day)
    with pytest.raises(Refused, match="is not yours"):
        q.flagged_scans(demo_db.engine, OFFICER, code, day)
    with pytest.raises(Refused, match="may not see venues"):
        q.venue_overview(demo_db.engine, WALL, code, day)
    for scope, words in ((PLANNER, "person-level data"), (WALL, "venues"),
                         (Viewer("field_staff", 371002), "venues")):  # once could unmask
        with pytest.raises(Refused, match=words):
            q.flagged_scans(demo_db.engine, scope, code, day)
        with pytest.raises(Refused, match=words):
            q.unmask(demo_db.engine, scope, code, 1, "contact tracing", username="x")


def flagged_venue(db):
    """A venue with red or yellow scans on the demo's day, and those scans."""
    day = today(db)
    start = datetime.combine(day, datetime.min.time())
    with db.engine.connect() as conn:
        code = conn.execute(
            select(t.venues.c.code).join(t.scans, t.scans.c.venue_id == t.venues.c.id)
            .where(t.scans.c.ts >= start, t.scans.c.ts < start + timedelta(days=1),
                   t.scans.c.verdict.in_(("red", "yellow")))
            .group_by(t.venues.c.code).order_by(func.count().desc(), t.venues.c.code)
            .limit(1)).scalar()
    return code, q.flagged_scans(db.engine, CITY, code, day)


def audit_rows(db) -> list:
    with db.engine.connect() as conn:
        return conn.execute(select(t.audit_log.c.username, t.audit_log.c.subject,
                                   t.audit_log.c.reason)
                            .where(t.audit_log.c.action == "unmask")).all()


def test_venue_unmask_needs_a_reason_and_is_audited(city_db):
    code, frame = flagged_venue(city_db)
    assert len(frame) and frame["verdict"].isin(["red", "yellow"]).all()
    assert frame["person"].str.startswith("••••").all()
    assert frame["ts"].is_monotonic_decreasing
    row = int(frame["scan_row"].iloc[0])
    before = audit_rows(city_db)
    for reason in ("", "  ab ", "abc"):
        with pytest.raises(q.ReasonError, match="give a reason .at least 4"):
            q.unmask(city_db.engine, CITY, code, row, reason, username="cmd")
    with pytest.raises(LookupError, match="not a flagged scan"):
        q.unmask(city_db.engine, CITY, code, row + 10**9, "close contact check", username="cmd")
    assert audit_rows(city_db) == before  # refusals leave no trace of a read that never was
    key = q.unmask(city_db.engine, CITY, code, row, "close contact check", username="cmd")
    assert len(key) == 32 and key.endswith(frame["person"].iloc[0][-4:])
    assert audit_rows(city_db) == [*before, ("cmd", f"venue {code} person {key}",
                                             "close contact check")]


def test_venues_builders_escape_tips_and_link_rows(demo_db):
    day = today(demo_db)
    frame, _ = q.venue_points(demo_db.engine, CITY, F(), day, cap=50)
    frame.loc[0, "name"] = "<b>x</b>"
    spec = points_spec(frame, "m", "en")
    assert spec["target"] == "m" and len(spec["points"]) == 50
    assert "&lt;b&gt;x&lt;/b&gt;" in spec["points"][0]["tip"]
    assert spec["points"][0]["r"] >= spec["points"][-1]["r"]  # busiest first, biggest
    rows, _ = q.search_venues(demo_db.engine, CITY, F(kind="mall"), day, 0, 5)
    row = search_rows(rows, "en")[0]
    assert row["kind"] == "Mall" and row["code_link"] == f"[{row['code']}](/venue/{row['code']})"
    venue = q.venue_overview(demo_db.engine, CITY, row["code"], day).venue
    assert [p["r"] for p in venue_spec(venue, "v", "zh")["points"]][-1] > 1  # the venue, framed
    code, flagged = flagged_venue(demo_db)
    scan_row = str(flagged["scan_row"].iloc[0])
    key = "k" * 32
    shown = flagged_rows(flagged, {scan_row: key}, "zh")
    assert shown[0]["person"] == key and shown[0]["trace"] == f"[追踪](/trace?person={key})"
    assert all(r["person"].startswith("••••") and not r["trace"] for r in shown[1:])
