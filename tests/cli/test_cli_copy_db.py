"""`placecode copy-db`: a SQLite pilot moves into an empty PostgreSQL database, row for row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, inspect, select

from placecode.db import copy, migrations
from placecode.db import schema as t
from placecode.db.engine import get_engine
from tests.cli.test_cli import assert_one_line_error, placecode
from tests.conftest import SECRET

ENV = {"PLACECODE_SECRET_KEY": SECRET}
# compared value by value (the rest by row count): timestamps, dates, booleans, floats, text
COMPARED = (t.meta, t.districts, t.venues, t.persons, t.tests, t.vaccinations, t.users,
            t.rollup_venue_day, t.audit_log)


def counts(url: str) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        return {tb.name: conn.execute(select(func.count()).select_from(tb)).scalar_one()
                for tb in t.metadata.sorted_tables}


def rows(url: str, table, limit: int | None = None) -> list[tuple]:
    with get_engine(url).connect() as conn:
        order = list(table.primary_key.columns)
        return [tuple(r) for r in conn.execute(select(table).order_by(*order).limit(limit))]


@pytest.mark.parametrize("demo_db", ["sqlite"], indirect=True)
def test_copy_db_moves_a_sqlite_city_into_postgresql(demo_db, pg_server, tmp_path, monkeypatch):
    # small chunks and a low bar for "big": several chunks and partitions per table, and the
    # indexes and foreign keys dropped and rebuilt, as for a real city
    monkeypatch.setattr(copy, "CHUNK_ROWS", 7_000)
    monkeypatch.setattr(copy, "BIG_TABLE_ROWS", 5_000)
    target = pg_server.create_database()
    lines: list[str] = []
    copied = copy.copy_database(demo_db.url, target, progress=lines.append)
    assert any("index ix_scans_venue_ts_person" in line for line in lines)
    assert any("foreign key fk_scans_person_id checked" in line for line in lines)

    source_counts = counts(demo_db.url)
    assert source_counts["scans"] > 30_000 and source_counts["persons"] > 0
    assert copied == source_counts
    assert counts(target) == source_counts
    for table in COMPARED:
        assert rows(target, table) == rows(demo_db.url, table), table.name
    assert rows(target, t.scans, 2000) == rows(demo_db.url, t.scans, 2000)

    engine = get_engine(target)
    with engine.connect() as conn:
        assert migrations.current(conn) == migrations.head()
        # every scan in its day's partition, the PostGIS columns generated from the copied data
        assert conn.exec_driver_sql("SELECT count(*) FROM scans_default").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM venues WHERE geom IS NULL").scalar() == 0
        assert conn.exec_driver_sql(
            "SELECT count(*) FROM districts WHERE geom IS NULL").scalar() == 0
        # the indexes and foreign keys dropped for the load are back
        names = {ix["name"] for ix in inspect(conn).get_indexes("persons")}
        assert {ix.name for ix in t.persons.indexes} <= names
        scan_indexes = set(conn.exec_driver_sql(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'scans'").scalars())
        assert {ix.name for ix in t.scans.indexes} <= scan_indexes
        keys = set(conn.exec_driver_sql(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'scans'::regclass "
            "AND contype = 'f'").scalars())
        assert keys == {"fk_scans_venue_id", "fk_scans_person_id"}

    # new rows take ids after the copied ones
    with engine.begin() as conn:
        last = conn.execute(select(t.scans).order_by(t.scans.c.id.desc()).limit(1)).one()
        new_id = conn.execute(insert(t.scans).values(
            scan_id="after-the-copy", venue_id=last.venue_id, person_id=last.person_id,
            ts=last.ts + timedelta(minutes=1), verdict="green", reasons="").returning(
            t.scans.c.id)).scalar_one()
        assert new_id == last.id + 1
        audit_max = conn.execute(select(func.max(t.audit_log.c.id))).scalar()
        audit_id = conn.execute(insert(t.audit_log).values(
            ts=last.ts, username="tester", action="test", subject="copy-db").returning(
            t.audit_log.c.id)).scalar_one()
        assert audit_id == (audit_max or 0) + 1

    again = placecode("copy-db", demo_db.url, "--db", target, tmp_path=tmp_path, env=ENV)
    assert_one_line_error(again, "already has rows", "empty")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.scans)).scalar_one() == (
            source_counts["scans"] + 1)


def test_copy_db_names_what_is_wrong(tmp_path, pg_server):
    missing = placecode("copy-db", str(tmp_path / "nope.db"), "--db", pg_server.create_database(),
                        tmp_path=tmp_path, env=ENV)
    assert_one_line_error(missing, "nope.db", "does not exist")
    source = tmp_path / "pilot.db"
    source.write_bytes(b"")
    to_sqlite = placecode("copy-db", str(source), "--db", f"sqlite:///{tmp_path / 'x.db'}",
                          tmp_path=tmp_path, env=ENV)
    assert_one_line_error(to_sqlite, "PostgreSQL")
    not_ours = placecode("copy-db", str(source), "--db", pg_server.create_database(),
                         tmp_path=tmp_path, env=ENV)
    assert_one_line_error(not_ours, "pilot.db", "not a placecode database")

