"""The demo city: deterministic, inside its districts, rollups equal raw scans, right size."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import func, select, text

from placecode.auth.policy import Viewer
from placecode.db import schema as t
from placecode.demo.build import DemoError, build_demo
from placecode.demo.presets import PRESETS
from queries.testing import check_passes
from tests.conftest import SECRET, build_small


def table_digest(engine, table) -> str:
    """A hash of every row of a table in primary-key order (ids excluded for autoincrement)."""
    cols = [c for c in table.columns if not (c.primary_key and c.autoincrement is True)]
    order = [c for c in table.primary_key.columns] or cols
    with engine.connect() as conn:
        rows = conn.execute(select(*cols).order_by(*order)).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_demo_same_seed_same_data(tmp_path):
    now = np.datetime64("2026-11-23T15:00:00")
    a = build_small(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "a", now)
    b = build_small(f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "b", now)
    for table in (t.districts, t.subdistricts, t.communities, t.buildings, t.venues, t.persons,
                  t.scans, t.health_codes, t.tests, t.vaccinations, t.arrivals,
                  *t.ROLLUPS):
        assert table_digest(a.engine, table) == table_digest(b.engine, table), table.name


def test_demo_other_seed_other_data(tmp_path):
    now = np.datetime64("2026-11-23T15:00:00")
    a = build_small(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "a", now, seed=1)
    b = build_small(f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "b", now, seed=2)
    assert table_digest(a.engine, t.venues) != table_digest(b.engine, t.venues)


def test_demo_small_preset_has_the_promised_size(demo_db):
    preset = PRESETS["small"]
    with demo_db.engine.connect() as conn:
        count = lambda table: conn.execute(select(func.count()).select_from(table)).scalar_one()  # noqa: E731
        assert count(t.districts) == 4
        assert count(t.venues) == preset.venues
        assert count(t.persons) == preset.residents
        assert count(t.subdistricts) == 4 * preset.subdistricts_per_district
        kinds = {k for (k,) in conn.execute(select(t.venues.c.kind).distinct())}
        days = conn.execute(select(func.count(func.distinct(t.rollup_venue_day.c.day)))).scalar()
        residents = conn.execute(select(func.sum(t.districts.c.residents))).scalar_one()
        max_ts = conn.execute(select(func.max(t.scans.c.ts))).scalar_one()
    assert kinds == {"government", "residential", "hotel", "restaurant", "mall", "supermarket",
                     "enterprise", "shop", "bus", "taxi"}
    assert days == preset.default_days
    assert residents == preset.residents
    assert np.datetime64(max_ts) <= demo_db.now  # nothing in the future
    # a whole previous day plus today so far: at least a day's worth of scans
    assert count_scans(demo_db) >= preset.scans_per_day * 0.9


def count_scans(db) -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.scans)).scalar_one()


def test_demo_every_venue_and_building_inside_its_district(demo_db):
    with demo_db.engine.connect() as conn:
        shapes = {d.id: shapely.from_geojson(d.geometry)
                  for d in conn.execute(select(t.districts.c.id, t.districts.c.geometry))}
        venues = conn.execute(select(t.venues.c.district_id, t.venues.c.lon, t.venues.c.lat)).all()
        subs = {s.id: shapely.from_geojson(s.geometry)
                for s in conn.execute(select(t.subdistricts.c.id, t.subdistricts.c.geometry))}
        venue_subs = conn.execute(select(t.venues.c.subdistrict_id, t.venues.c.district_id,
                                         t.venues.c.lon, t.venues.c.lat)).all()
    outside = [v for v in venues if not shapes[v.district_id].covers(shapely.Point(v.lon, v.lat))]
    assert outside == []
    with demo_db.engine.connect() as conn:
        homes = conn.execute(
            select(t.communities.c.district_id, t.buildings.c.lon, t.buildings.c.lat)
            .join(t.communities, t.communities.c.id == t.buildings.c.community_id)).all()
    assert len(homes) > 0
    assert [b for b in homes if not shapes[b.district_id].covers(shapely.Point(b.lon, b.lat))] \
        == []
    # sub-district cells nest in their district and hold the venues assigned to them
    wrong = [v for v in venue_subs
             if v.subdistrict_id // 1000 != v.district_id
             or subs[v.subdistrict_id].distance(shapely.Point(v.lon, v.lat)) > 1e-4]
    assert wrong == []


@pytest.mark.parametrize("rollup,keys", [
    ("rollup_venue_day", "venue_id, date(ts)"),
    ("rollup_district_hour", "district_id, hour"),
    ("rollup_industry_district_day", "kind, district_id, date(ts)"),
])
def test_demo_rollups_equal_raw_scan_counts(demo_db, rollup, keys):
    hour = ("strftime('%Y-%m-%dT%H:00:00', s.ts)" if demo_db.backend == "sqlite"
            else "date_trunc('hour', s.ts)")
    day = "date(s.ts)" if demo_db.backend == "sqlite" else "s.ts::date"
    group = keys.replace("date(ts)", day).replace("hour", hour)
    group = group.replace("venue_id", "s.venue_id").replace("district_id", "v.district_id") \
        .replace("kind", "v.kind")
    raw_sql = (f"SELECT {group}, count(*), sum(CASE WHEN verdict='red' THEN 1 ELSE 0 END), "
               f"sum(CASE WHEN verdict='yellow' THEN 1 ELSE 0 END) FROM scans s "
               f"JOIN venues v ON v.id = s.venue_id GROUP BY {group}")
    table = t.metadata.tables[rollup]
    key_cols = [c for c in table.primary_key.columns]
    with demo_db.engine.connect() as conn:
        raw = {tuple(str(x) for x in r[:-3]): tuple(int(x) for x in r[-3:])
               for r in conn.execute(text(raw_sql))}
        roll = {tuple(str(x) for x in r[:-3]): tuple(int(x) for x in r[-3:])
                for r in conn.execute(select(*key_cols, table.c.scans, table.c.red,
                                             table.c.yellow))}
    norm = lambda d: {tuple(k.replace("T", " ")[:19] for k in key): v for key, v in d.items()}  # noqa: E731
    assert norm(roll) == norm(raw)
    assert sum(v[0] for v in roll.values()) == count_scans(demo_db)


def test_demo_refuses_to_overwrite_without_replace(demo_db):
    with pytest.raises(DemoError, match="--replace"):
        build_demo(demo_db.engine, preset="small", now=demo_db.now, secret=SECRET,
                   instance=demo_db.instance, progress=False)


def test_demo_if_missing_keeps_the_existing_city(demo_db):
    before = count_scans(demo_db)
    report = build_demo(demo_db.engine, preset="small", now=demo_db.now, secret=SECRET,
                        instance=demo_db.instance, if_missing=True, progress=False)
    assert report.reused and count_scans(demo_db) == before


def test_demo_persons_are_pseudonymised(demo_db):
    with demo_db.engine.connect() as conn:
        keys = [k for (k,) in conn.execute(select(t.persons.c.person_key).limit(200))]
    assert all(len(k) == 32 and int(k, 16) >= 0 for k in keys)
    assert len(set(keys)) == len(keys)


def test_demo_foreign_keys_hold_after_the_bulk_load(demo_db):
    """The load suspends key checks for speed; afterwards a dangling row is refused again."""
    from datetime import datetime

    from sqlalchemy import insert, inspect
    from sqlalchemy.exc import IntegrityError

    referred = {fk["referred_table"] for fk in inspect(demo_db.engine).get_foreign_keys("scans")}
    assert referred == {"venues", "persons"}
    with pytest.raises(IntegrityError), demo_db.engine.begin() as conn:
        conn.execute(insert(t.scans).values(scan_id="dangling", venue_id=-1, person_id=1,
                                            ts=datetime(2026, 1, 1), verdict="green"))


def test_demo_shanghai_has_16_districts_with_venues_inside(tmp_path):
    from placecode.db.engine import get_engine

    engine = get_engine(f"sqlite:///{tmp_path / 'sh.db'}")
    build_demo(engine, preset="small", city="shanghai", now=np.datetime64("2026-11-23T12:00"),
               secret=SECRET, instance=tmp_path, progress=False)
    with engine.connect() as conn:
        shapes = {d.id: shapely.from_geojson(d.geometry)
                  for d in conn.execute(select(t.districts.c.id, t.districts.c.geometry))}
        venues = conn.execute(select(t.venues.c.district_id, t.venues.c.lon, t.venues.c.lat)).all()
        per_district = dict(conn.execute(select(t.venues.c.district_id, func.count())
                                         .group_by(t.venues.c.district_id)).all())
    assert len(shapes) == 16 and set(per_district) == set(shapes)
    assert all(shapes[v.district_id].covers(shapely.Point(v.lon, v.lat)) for v in venues)
    # Pudong (5.7M residents) gets more venues than Huangpu (0.66M)
    assert per_district[310115] > 5 * per_district[310101]


def test_demo_ids_continue_after_the_bulk_load(db_url, tmp_path):
    """PostgreSQL sequences move past the loaded ids: the next person gets a fresh id."""
    from sqlalchemy import insert

    db = build_small(db_url, tmp_path, np.datetime64("2026-11-23T12:00"))
    with db.engine.begin() as conn:
        new_id = conn.execute(insert(t.persons).values(person_key="f" * 32, health_code="green")
                              ).inserted_primary_key[0]
        top = conn.execute(select(func.max(t.persons.c.id))).scalar_one()
    assert new_id == top == PRESETS["small"].residents + 1


def test_demo_replace_keeps_users_and_audit_log(tmp_path):
    from placecode.auth import audit
    from placecode.auth.users import create_user

    now = np.datetime64("2026-11-23T12:00")
    db = build_small(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, now)
    with db.engine.begin() as conn:
        create_user(conn, "keeper", "planner", "keeper-pass-1")
        audit.record(conn, "login", username="keeper")
    build_demo(db.engine, preset="small", seed=8, now=now, secret=SECRET, instance=tmp_path,
               replace=True, progress=False)
    with db.engine.connect() as conn:
        assert "keeper" in conn.execute(select(t.users.c.username)).scalars().all()
        assert conn.execute(select(func.count()).select_from(t.audit_log)).scalar_one() == 1
        assert conn.execute(select(t.meta.c.value).where(t.meta.c.key == "seed")).scalar() == "8"


def test_demo_half_built_city_is_rebuilt_not_reused(tmp_path):
    from sqlalchemy import delete

    now = np.datetime64("2026-11-23T12:00")
    db = build_small(f"sqlite:///{tmp_path / 'h.db'}", tmp_path, now)
    with db.engine.begin() as conn:  # as if the build died before its last step
        conn.execute(delete(t.meta).where(t.meta.c.key == "built_at"))
    with pytest.raises(DemoError, match="half-built"):
        build_demo(db.engine, preset="small", now=now, secret=SECRET, instance=tmp_path,
                   progress=False)
    report = build_demo(db.engine, preset="small", now=now, secret=SECRET, instance=tmp_path,
                        if_missing=True, progress=False)
    assert not report.reused and report.counts["venues"] == PRESETS["small"].venues


@pytest.mark.parametrize("rollup,keys", [
    ("rollup_industry_district_day", ["kind", "district_id", "day"]),
    ("rollup_industry_subdistrict_day", ["kind", "subdistrict_id", "district_id", "day"]),
    ("rollup_industry_district_hour", ["kind", "district_id", "hour"]),
])
def test_demo_foot_traffic_rollups_count_scans_and_distinct_persons(demo_db, rollup, keys):
    """The economy page's cells: scans and distinct persons equal the raw scans."""
    with demo_db.engine.connect() as conn:
        raw = pd.DataFrame(conn.execute(text(
            "SELECT v.kind, v.district_id, v.subdistrict_id, s.ts, s.person_id FROM scans s "
            "JOIN venues v ON v.id = s.venue_id")).all(),
            columns=["kind", "district_id", "subdistrict_id", "ts", "person_id"])
        table = t.metadata.tables[rollup]
        stored = pd.DataFrame(conn.execute(select(*(table.c[k] for k in keys), table.c.scans,
                                                  table.c.persons)).all(),
                              columns=[*keys, "scans", "persons"])
    ts = pd.to_datetime(raw["ts"])
    raw["day"], raw["hour"] = ts.dt.date, ts.dt.floor("h")
    want = raw.groupby(keys).agg(scans=("ts", "size"), persons=("person_id", "nunique"))
    if "day" in keys:
        stored["day"] = pd.to_datetime(stored["day"]).dt.date
    else:
        stored["hour"] = pd.to_datetime(stored["hour"])
    got = stored.set_index(keys).sort_index()
    assert got.astype("int64").equals(want.sort_index().astype("int64"))


def test_demo_shared_passes_are_what_the_pass_check_finds_on_its_last_day(demo_db):
    """The testing page's "shared" list is not empty in the demo: each holder the demo lends a
    pass to is found by the check at the demo's own moment."""
    with demo_db.engine.connect() as conn:
        lent = set(conn.execute(
            select(t.volunteer_passes.c.pass_id).join(
                t.scans, t.scans.c.person_id == t.volunteer_passes.c.person_id)
            .where(t.scans.c.scan_id.like("demo-shared-%"))).scalars())
    assert len(lent) >= 3
    now = pd.Timestamp(demo_db.now).to_pydatetime()
    found = set()
    for district in (371002, 371003, 371082, 371083):
        check = check_passes(demo_db.engine, Viewer("city_commander"), district, now, 48,
                             audit=False, username="tester")
        found |= {p for ids in check.shared["pass_id"] for p in ids.split(", ")}
    assert lent <= found
