"""The wall's numbers equal direct counts in the database, on SQLite and PostgreSQL, per scope."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select, update

from placecode.auth.policy import MIN_CELL_PERSONS, Viewer
from placecode.db import schema as t
from queries import wall as q

COMMANDER = Viewer("city_commander")
PLANNER = Viewer("planner")


def today(db):
    return db.now.astype("datetime64[D]").astype(object)


def raw_counts(db, day):
    start = datetime.combine(day, datetime.min.time())
    end = start + timedelta(days=1)
    with db.engine.connect() as conn:
        in_day = (t.scans.c.ts >= start) & (t.scans.c.ts < end)
        scans = conn.execute(select(func.count()).select_from(t.scans).where(in_day)).scalar_one()
        red = conn.execute(select(func.count()).select_from(t.scans)
                           .where(in_day, t.scans.c.verdict == "red")).scalar_one()
        venues = conn.execute(select(func.count()).select_from(t.venues)).scalar_one()
        flagged = conn.execute(select(func.count()).select_from(t.person_status)
                               .where(t.person_status.c.verdict != "green")).scalar_one()
        alerts = conn.execute(select(t.alerts.c.id).where(
            t.alerts.c.ts >= start, t.alerts.c.ts < end)).scalars().all()
        pushes = dict(conn.execute(select(t.outbox.c.state, func.count())
                                   .where(t.outbox.c.alert_id.in_(alerts))
                                   .group_by(t.outbox.c.state)).all())
    return {"scans_today": scans, "red_today": red, "venues": venues, "flagged": flagged,
            "alerts_today": len(alerts), "push_pending": pushes.get("pending", 0),
            "push_delivered": pushes.get("delivered", 0)}


def test_wall_kpis_equal_direct_counts(demo_db):
    day = today(demo_db)
    expected = raw_counts(demo_db, day)
    assert expected["scans_today"] > 0 and expected["red_today"] >= 0
    assert q.kpis(demo_db.engine, day, COMMANDER) == expected


def test_wall_district_metrics_add_up_to_the_kpis(demo_db):
    day = today(demo_db)
    metrics = q.district_metrics(demo_db.engine, day, COMMANDER)
    kpis = q.kpis(demo_db.engine, day, COMMANDER)
    assert len(metrics) == 4
    assert metrics["scans"].sum() == kpis["scans_today"]
    assert metrics["red"].sum() == kpis["red_today"]
    assert metrics["flagged"].sum() == kpis["flagged"]
    row = metrics.iloc[0]
    assert row["flagged_per_10k"] == pytest.approx(row["flagged"] * 10_000 / row["residents"])


def test_wall_day_without_scans_shows_zero(demo_db):
    long_ago = today(demo_db) - timedelta(days=400)
    assert q.kpis(demo_db.engine, long_ago, COMMANDER)["scans_today"] == 0
    assert q.district_metrics(demo_db.engine, long_ago, COMMANDER)["scans"].sum() == 0


def test_wall_district_shapes_are_the_real_polygons(demo_db):
    shapes = q.district_shapes(demo_db.engine)
    assert list(shapes["district_id"]) == [371002, 371003, 371082, 371083]
    assert set(shapes["name_en"]) == {"Huancui", "Wendeng", "Rongcheng", "Rushan"}
    assert shapes.crs.to_epsg() == 4326
    assert shapes.geometry.is_valid.all()
    # Weihai lies at about 121.5-122.7 E, 36.8-37.6 N
    x0, y0, x1, y1 = shapes.total_bounds
    assert 121.0 < x0 < x1 < 123.0 and 36.5 < y0 < y1 < 38.0


def flag(db, counts: dict[int, int]) -> None:
    """Make exactly counts[d] persons of district d flagged, everyone else green."""
    with db.engine.begin() as conn:
        conn.execute(update(t.person_status).values(verdict="green"))
        for district, n in counts.items():
            ids = conn.execute(select(t.persons.c.id).where(t.persons.c.district_id == district)
                               .order_by(t.persons.c.id).limit(n)).scalars().all()
            conn.execute(update(t.person_status).where(t.person_status.c.person_id.in_(ids))
                         .values(verdict="red"))


def test_wall_planner_cannot_recover_a_small_cell(db_url, tmp_path):
    """Districts with k, k, k-1 and 0 flagged persons: a planner sees the k-1 cell hidden, and
    one k cell hidden with it, so the total minus the visible cells is never a small number."""
    from tests.conftest import build_small

    k = MIN_CELL_PERSONS
    db = build_small(db_url, tmp_path, np.datetime64("2026-11-23T12:00:00"))
    flag(db, {371002: k, 371003: k, 371082: k - 1})
    day = datetime(2026, 11, 23).date()
    planner = q.district_metrics(db.engine, day, PLANNER).set_index("district_id")
    commander = q.district_metrics(db.engine, day, COMMANDER).set_index("district_id")
    assert commander["flagged"].to_dict() == {371002: k, 371003: k, 371082: k - 1, 371083: 0}
    hidden = planner["flagged"].isna()
    assert hidden[371082] and hidden[[371002, 371003]].sum() == 1 and not hidden[371083]
    assert planner["flagged_per_10k"].isna().equals(hidden)
    total = q.kpis(db.engine, day, PLANNER)["flagged"]
    assert total == 3 * k - 1
    assert total - planner["flagged"].sum() >= k  # what subtraction reveals is a group of >= k
    assert q.kpis(db.engine, day, COMMANDER)["flagged"] == 3 * k - 1


def test_wall_planner_total_hidden_when_under_k(db_url, tmp_path):
    from tests.conftest import build_small

    db = build_small(db_url, tmp_path, np.datetime64("2026-11-23T12:00:00"))
    flag(db, {371002: MIN_CELL_PERSONS - 1})
    day = datetime(2026, 11, 23).date()
    assert q.kpis(db.engine, day, PLANNER)["flagged"] is None
    assert q.kpis(db.engine, day, COMMANDER)["flagged"] == MIN_CELL_PERSONS - 1
    assert q.district_metrics(db.engine, day, PLANNER)["flagged"].isna().sum() == 1


def test_wall_time_freezes_a_stale_demo_at_its_last_moment():
    clock = datetime(2026, 11, 25, 9, 30)
    assert q.wall_time({}, clock) == (clock, False)  # a real city: the clock
    assert q.wall_time({"now": "2026-11-25T08:00:00"}, clock) == (clock, False)
    assert q.wall_time({"now": "2026-11-23T17:06:00"}, clock) == (
        datetime(2026, 11, 23, 17, 6), True)


def test_wall_empty_database_has_typed_empty_shapes(db_url):
    from placecode.db.engine import get_engine, init_db

    engine = get_engine(db_url)
    init_db(engine)
    shapes = q.district_shapes(engine)
    assert shapes.empty and "district_id" in shapes.columns


def test_wall_time_follows_live_scans_on_a_reused_demo():
    clock = datetime(2026, 11, 25, 9, 30)
    demo = {"now": "2026-11-23T17:06:00"}
    assert q.wall_time(demo, clock, datetime(2026, 11, 23, 17))[1] is True
    assert q.wall_time(demo, clock, datetime(2026, 11, 25, 9)) == (clock, False)


def test_wall_hourly_series_add_up_and_compare_like_with_like(demo_db):
    day = today(demo_db)
    hourly = q.hourly_scans(demo_db.engine, day)
    assert len(hourly) == 24
    assert hourly["scans"].sum() == raw_counts(demo_db, day)["scans_today"]
    assert hourly["scans_before"].sum() == raw_counts(demo_db, day - timedelta(days=1))[
        "scans_today"]
    assert q.daily_totals(demo_db.engine, day, 3)["scans"].tolist() == [
        raw_counts(demo_db, day - timedelta(days=back))["scans_today"] for back in (2, 1, 0)]
    fake = hourly.assign(scans_before=100)
    assert q.same_time_before(fake, datetime(2026, 11, 23, 2, 30)) == 250  # 2 h and half of 1


def test_wall_subdistricts_add_up_to_their_district(demo_db):
    day = today(demo_db)
    districts = q.district_metrics(demo_db.engine, day, COMMANDER).set_index("district_id")
    sub = q.subdistrict_metrics(demo_db.engine, day, 371002, COMMANDER)
    shapes = q.subdistrict_shapes(demo_db.engine, 371002)
    assert list(sub["area_id"]) == list(shapes["area_id"]) and len(sub) > 1
    for col in ("scans", "red", "alerts"):
        assert sub[col].sum() == districts.loc[371002, col], col
    assert sub["flagged"].sum() <= districts.loc[371002, "flagged"]  # homeless persons: no area
    assert sub["residents"].sum() > 0


@pytest.mark.parametrize("scope, district", [
    (COMMANDER, None), (Viewer("wall"), None), (Viewer("district_commander", 371003), 371003),
    (Viewer("wall", 371003), 371003), (PLANNER, "none"), (Viewer("duty_officer"), "none")])
def test_wall_ticker_shows_persons_only_in_scope(demo_db, scope, district):
    day = today(demo_db)
    start = datetime.combine(day, datetime.min.time())
    query = (select(func.count()).select_from(t.scans.join(t.venues))
             .where(t.scans.c.verdict == "red", t.scans.c.ts >= start,
                    t.scans.c.ts < start + timedelta(days=1)))
    if district not in (None, "none"):
        query = query.where(t.venues.c.district_id == district)
    with demo_db.engine.connect() as conn:
        expected = 0 if district == "none" else conn.execute(query).scalar_one()
    shown = q.ticker(demo_db.engine, day, scope, limit=1000)
    assert len(shown) == expected
    if district is None:
        assert expected > 0 and shown["district_zh"].nunique() > 1
    elif district != "none":
        assert expected > 0 and set(shown["district_zh"]) == {"文登区"}
    assert shown["person"].str.startswith("••••").all()
    assert (shown["ts"].diff().dropna() <= timedelta(0)).all()  # newest first


def test_wall_venue_numbers_change_with_a_scan_and_hide_red_from_planners(city_db):
    engine = city_db.engine
    from placecode.ingest.scans import Ingestor
    from tests.conftest import SECRET

    ingest = Ingestor(engine, SECRET, "Asia/Shanghai", 28)
    now = ingest.now()
    before_version = q.wall_version(engine, now.date())
    full, seq = q.venue_numbers(engine, now.date(), COMMANDER)
    people = __import__("pandas").read_parquet(city_db.instance / "demo-people.parquet")
    ingest.ingest([{"scan_id": f"wall-{now:%H%M%S}", "venue_code": "371002S000002",
                    "person": people["id_number"].iloc[0], "ts": now.isoformat() + "+08:00"}])
    assert q.wall_version(engine, now.date()) != before_version
    changed, newest = q.venue_numbers(engine, now.date(), COMMANDER, since=seq)
    with engine.connect() as conn:
        venue = conn.execute(select(t.venues.c.id).where(t.venues.c.code == "371002S000002")
                             ).scalar_one()
        scans = conn.execute(select(t.rollup_venue_day.c.scans).where(
            t.rollup_venue_day.c.venue_id == venue,
            t.rollup_venue_day.c.day == now.date())).scalar_one()
    assert changed["venue_id"].tolist() == [venue] and changed["scans"].tolist() == [scans]
    assert newest > seq
    planner, _ = q.venue_numbers(engine, now.date(), PLANNER)
    assert (planner["red"] == -1).all() and (planner["yellow"] == -1).all()
    assert planner["scans"].sum() == full["scans"].sum() + 1
