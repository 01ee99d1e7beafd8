"""Migrations upgrade a database in place: from revision 0001 (the schema before migrations), with
rows in it, to the schema a fresh `init_db` makes, on SQLite and on PostgreSQL + PostGIS."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, bindparam, create_engine, inspect, select, text

from placecode.db import migrations
from placecode.db import schema as t
from placecode.db.engine import DatabaseError, get_engine, init_db
from placecode.db.migrations import baseline as b
from placecode.db.partitions import partition_name

pytestmark = pytest.mark.filterwarnings("ignore:Did not recognize type 'geometry'")

DAYS = [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 23)]
SQUARE = {"type": "Polygon", "coordinates": [[[122.0, 37.4], [122.2, 37.4], [122.2, 37.6],
                                              [122.0, 37.6], [122.0, 37.4]]]}


@pytest.fixture
def other_url(request, db_url, tmp_path) -> str:
    """A second empty database on the same backend as `db_url`."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'other.db'}"
    return request.getfixturevalue("pg_server").create_database()


def at_0001(url: str) -> Engine:
    """A database at revision 0001 with a small city's worth of rows in every kind of table
    0002 touches (scans on three days, one with a check-out, an alert on one)."""
    engine = get_engine(url)
    with engine.begin() as conn:
        migrations.upgrade(conn, "0001")
        area = {"name_zh": "区", "name_en": "D", "label_lon": 122.1, "label_lat": 37.5,
                "geometry": json.dumps(SQUARE)}
        conn.execute(b.districts.insert(), [area | {"id": 371002, "population": 10}])
        conn.execute(b.subdistricts.insert(), [
            area | {"id": 371002001, "district_id": 371002},
            area | {"id": 371002002, "district_id": 371002, "geometry": "{}"}])
        conn.execute(b.venues.insert(), [
            {"id": i, "code": f"V{i}", "name": f"venue {i}", "kind": "shop",
             "district_id": 371002, "subdistrict_id": 371002001, "lon": 122.0 + i / 100,
             "lat": 37.5} for i in (1, 2)])
        conn.execute(b.persons.insert(), [{"id": i, "person_key": f"k{i}"} for i in (1, 2, 3)])
        conn.execute(b.scans.insert(), [
            {"scan_id": f"s{n}", "venue_id": 1 + n % 2, "person_id": 1 + n % 3,
             "ts": datetime.combine(day, datetime.min.time()) + timedelta(hours=8 + n),
             "checkout_ts": (datetime.combine(day, datetime.min.time()) + timedelta(hours=12)
                             if n == 0 else None),
             "verdict": "red" if n == 4 else "green", "reasons": "r1" if n == 4 else ""}
            for n, day in enumerate(DAYS * 2)])
        conn.execute(b.alerts.insert().values(
            scan_id=5, person_id=2, venue_id=1, district_id=371002, rules="r1",
            ts=datetime(2026, 11, 20, 13)))
        conn.execute(b.rollup_venue_day.insert().values(venue_id=1, day=DAYS[0], scans=3, red=1,
                                                        yellow=0, seq=1))
    return engine


def rows(engine: Engine) -> dict[str, list]:
    """Every row of every baseline table, in key order (the columns all revisions share)."""
    with engine.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(
            select(table).order_by(*table.primary_key.columns))]
            for name, table in b.metadata.tables.items()}


def structure(engine: Engine) -> dict:
    """What a schema is made of, as the database reports it: columns, keys, indexes (with their
    full definitions on PostgreSQL), partitioning and geometry columns."""
    inspector = inspect(engine)
    out: dict = {}
    for name in sorted(t.metadata.tables):
        out[name] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"),
                         c.get("comment"), str(c.get("computed"))) for c in
                        inspector.get_columns(name)],
            "pk": inspector.get_pk_constraint(name)["constrained_columns"],
            "fks": sorted((fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"])
                          for fk in inspector.get_foreign_keys(name)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), i["unique"])
                              for i in inspector.get_indexes(name)),
        }
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            out["index sql"] = sorted(re.sub(r"\s+", " ", sql) for (sql,) in conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
            return out
        out["index sql"] = sorted(conn.execute(text(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename IN :names").bindparams(bindparam("names", expanding=True)),
            {"names": sorted(t.metadata.tables)}).scalars())
        out["partition key"] = conn.exec_driver_sql(
            "SELECT pg_get_partkeydef('scans'::regclass)").scalar()
        out["geometry"] = sorted(tuple(r) for r in conn.exec_driver_sql(
            "SELECT f_table_name, f_geometry_column, type, srid FROM geometry_columns"))
    return out


def schema_differences(engine: Engine) -> list:
    """What Alembic's autogenerate would change to make the database match the metadata."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_object": migrations.include_object, "compare_type": True})
        return compare_metadata(context, t.metadata)


def test_migrations_upgrade_from_0001_keeps_rows_and_reaches_the_fresh_schema(db_url, other_url):
    engine = at_0001(db_url)
    before = rows(engine)
    # an upgrade: only the tables of 0003 and 0004 are new
    assert init_db(engine) == ["login_sessions", "phone_registrations", "venue_applications"]
    assert rows(engine) == before
    with engine.connect() as conn:
        assert migrations.current(conn) == migrations.head()
    assert schema_differences(engine) == []
    fresh = get_engine(other_url)
    init_db(fresh)
    assert structure(engine) == structure(fresh)


def test_migrations_postgresql_gets_geometry_and_daily_scan_partitions(pg_server):
    engine = at_0001(pg_server.create_database())
    init_db(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql(
            "SELECT relkind FROM pg_class WHERE relname = 'scans'").scalar() == "p"
        placed = conn.exec_driver_sql(
            "SELECT tableoid::regclass::text, ts::date FROM scans").all()
        assert len(placed) == 6
        assert all(part == partition_name(day) for part, day in placed)
        assert conn.exec_driver_sql("SELECT count(*) FROM scans_default").scalar() == 0
        gist = dict(conn.execute(text(
            "SELECT tablename, indexdef FROM pg_indexes WHERE indexdef LIKE :gist"),
            {"gist": "%USING gist (geom)%"}).all())
        assert set(gist) == {"districts", "subdistricts", "venues"}
        assert conn.exec_driver_sql(
            "SELECT ST_AsText(geom) FROM venues WHERE id = 1").scalar() == "POINT(122.01 37.5)"
        assert conn.exec_driver_sql(
            "SELECT id, ST_Area(geom) > 0 FROM subdistricts ORDER BY id").all() == [
            (371002001, True), (371002002, None)]  # not GeoJSON: no geometry, row kept
        # the districts containing a venue, by the index: spatial SQL works on the upgrade
        assert conn.exec_driver_sql(
            "SELECT d.id FROM districts d JOIN venues v ON ST_Contains(d.geom, v.geom) "
            "WHERE v.id = 2").scalar() == 371002
        # the rewritten tables are vacuumed and analysed, not left for autovacuum
        assert conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL "
            "AND relname IN ('districts', 'subdistricts', 'venues')").scalar() == 3
        fks = {fk["name"] for fk in inspect(conn).get_foreign_keys("alerts")}
        assert "fk_alerts_scan_id" not in fks
        assert inspect(conn).get_pk_constraint("scans")["constrained_columns"] == ["id", "ts"]
    with engine.begin() as conn:  # the id sequence carries on past the copied rows
        new_id = conn.execute(t.scans.insert().values(
            scan_id="after", venue_id=1, person_id=1, ts=datetime(2026, 11, 23, 20),
            verdict="green", reasons="").returning(t.scans.c.id)).scalar()
        conn.execute(t.venues.update().where(t.venues.c.id == 2).values(lon=121.5))
        moved = conn.exec_driver_sql("SELECT ST_X(geom) FROM venues WHERE id = 2").scalar()
    assert new_id == 7
    assert moved == 121.5  # a write keeps the geometry in step


def test_migrations_upgrading_a_current_database_changes_nothing(db_url):
    engine = get_engine(db_url)
    init_db(engine)
    shape = structure(engine)
    with engine.begin() as conn:
        migrations.upgrade(conn)
        migrations.command.upgrade(migrations.config(conn), "head")  # the full path too
    assert init_db(engine) == []
    assert structure(engine) == shape
    with engine.connect() as conn:
        assert migrations.current(conn) == migrations.head() == "0004"


def test_migrations_without_the_right_to_add_postgis_say_what_to_do(pg_server):
    """A database user that may not create extensions gets one line naming the fix; once an
    administrator has added PostGIS, the same user sets the schema up."""
    url = pg_server.create_database()
    name = url.rsplit("/", 1)[1]
    admin = create_engine(pg_server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{name}_owner" LOGIN')
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" OWNER TO "{name}_owner"')
    admin.dispose()
    engine = get_engine(url.replace("postgres@", f"{name}_owner@"))
    with pytest.raises(DatabaseError, match=r"run `CREATE EXTENSION postgis;` in it as a super"):
        init_db(engine)
    superuser = create_engine(url)
    with superuser.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION postgis")
    superuser.dispose()
    assert "scans" in init_db(engine)


def test_migrations_go_forward_only_and_say_how_to_go_back(db_url):
    from alembic import command

    engine = get_engine(db_url)
    init_db(engine)
    with engine.begin() as conn, pytest.raises(DatabaseError, match="restore the backup"):
        command.downgrade(migrations.config(conn), "-1")
    with engine.connect() as conn:
        assert migrations.current(conn) == migrations.head()  # nothing undone
