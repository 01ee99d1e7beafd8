"""`placecode init-db` creates the contract tables and access-path indexes on both databases, and
brings a database an earlier placecode made up to the schema."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, inspect, select

from placecode.db import migrations
from placecode.db.engine import get_engine, init_db
from placecode.db.migrations import baseline as b

CONTRACT_TABLES = {
    "districts", "subdistricts", "communities", "buildings", "venues", "persons", "scans",
    "health_codes", "tests", "vaccinations", "arrivals", "users", "audit_log",
    "rollup_venue_day", "rollup_district_hour", "rollup_industry_district_day",
}


def legacy_db(url: str) -> Engine:
    """A database as placecode made it before migrations: the baseline schema, no revision."""
    engine = get_engine(url)
    with engine.begin() as conn:
        migrations.upgrade(conn, "0001")
        conn.exec_driver_sql("DROP TABLE alembic_version")
    return engine


def test_schema_init_db_creates_contract_tables_and_indexes(db_url):
    engine = get_engine(db_url)
    created = init_db(engine)
    assert CONTRACT_TABLES <= set(created)
    inspector = inspect(engine)
    scan_indexes = {tuple(i["column_names"]): i["unique"] for i in inspector.get_indexes("scans")}
    # covering indexes for who was at a venue when, and where a person went
    assert ("venue_id", "ts", "person_id", "checkout_ts") in scan_indexes
    assert ("person_id", "ts", "venue_id", "checkout_ts") in scan_indexes
    assert bool(scan_indexes[("scan_id", "ts")])
    with engine.connect() as conn:
        assert migrations.current(conn) == migrations.head()
    assert init_db(engine) == []  # running it again changes nothing


def test_schema_init_db_upgrades_a_database_from_before_the_change_stamp(db_url):
    """A database made before `rollup_venue_day.seq` existed gets the column and its index, its
    retired narrow scan index is replaced by the covering one, and it keeps its rows (what
    `placecode serve` does to a reused demo city)."""
    engine = legacy_db(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_rollup_venue_day_day_seq")
        conn.exec_driver_sql("DROP INDEX ix_scans_red_ts")
        conn.exec_driver_sql("DROP INDEX ix_scans_venue_ts_person")
        conn.exec_driver_sql("CREATE INDEX ix_scans_venue_ts ON scans (venue_id, ts)")
        conn.exec_driver_sql("ALTER TABLE rollup_venue_day DROP COLUMN seq")
        conn.exec_driver_sql("INSERT INTO rollup_venue_day (venue_id, day, scans, red, yellow) "
                             "VALUES (1, '2026-11-23', 5, 1, 0)")
    assert "seq" not in {c["name"] for c in inspect(engine).get_columns("rollup_venue_day")}
    # only the tables of revisions 0003 and 0004 are new
    assert init_db(engine) == ["login_sessions", "phone_registrations", "venue_applications"]
    inspector = inspect(engine)
    assert "seq" in {c["name"] for c in inspector.get_columns("rollup_venue_day")}
    assert "ix_rollup_venue_day_day_seq" in {i["name"] for i in
                                             inspector.get_indexes("rollup_venue_day")}
    scan_indexes = {i["name"] for i in inspector.get_indexes("scans")}
    assert {"ix_scans_red_ts", "ix_scans_venue_ts_person"} <= scan_indexes
    assert "ix_scans_venue_ts" not in scan_indexes  # replaced by the covering index
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT scans, seq FROM rollup_venue_day").all() == [(5, None)]
        assert migrations.current(conn) == migrations.head()


def test_schema_init_db_fills_a_derived_column_it_adds(db_url):
    """persons.last_test_at (testing progress) added to an older database is filled from its
    tests at once, or every resident would show as untested."""
    engine = legacy_db(db_url)
    with engine.begin() as conn:
        conn.execute(b.districts.insert().values(id=1, name_zh="区", name_en="D", population=1,
                                                 label_lon=0, label_lat=0, geometry="{}"))
        conn.execute(b.persons.insert(), [{"id": i, "person_key": f"k{i}", "district_id": 1}
                                          for i in (1, 2)])
        conn.execute(b.tests.insert(), [
            {"person_id": 1, "kind": "nucleic", "sampled_at": datetime(2026, 11, 22, 9),
             "result": "negative"},
            {"person_id": 1, "kind": "antigen", "sampled_at": datetime(2026, 11, 23, 8),
             "result": "negative"}])
        conn.exec_driver_sql("DROP INDEX ix_persons_district_community_building_test")
        conn.exec_driver_sql("ALTER TABLE persons DROP COLUMN last_test_at")
    init_db(engine)
    with engine.connect() as conn:
        got = dict(conn.execute(select(b.persons.c.id, b.persons.c.last_test_at)).all())
    assert got == {1: datetime(2026, 11, 23, 8), 2: None}
