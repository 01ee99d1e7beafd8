"""Daily `scans` partitions on PostgreSQL (a plain table on SQLite): made ahead, a scan on a day
without one still lands, retention drops whole days, and a repeated scan_id is stored once."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, func, select

from placecode.db import schema as t
from placecode.db.engine import get_engine, init_db
from placecode.db.partitions import (
    drop_scan_partitions_before,
    ensure_scan_partitions,
    is_partitioned,
    partition_name,
    scan_partitions,
)
from placecode.ingest.scans import Ingestor
from tests.conftest import SECRET


def place(conn: Connection) -> None:
    """One district, sub-district, venue and person for scans to point at."""
    area = {"name_zh": "区", "name_en": "D", "label_lon": 0, "label_lat": 0, "geometry": "{}"}
    conn.execute(t.districts.insert().values(id=1, population=1, **area))
    conn.execute(t.subdistricts.insert().values(id=1, district_id=1, **area))
    conn.execute(t.venues.insert().values(id=1, code="V1", name="v", kind="shop", district_id=1,
                                          subdistrict_id=1, lon=122.1, lat=37.5))
    conn.execute(t.persons.insert().values(id=1, person_key="k1"))


def add_scans(conn: Connection, *times: datetime) -> None:
    conn.execute(t.scans.insert(), [
        {"scan_id": uuid.uuid4().hex, "venue_id": 1, "person_id": 1, "ts": ts,
         "verdict": "green", "reasons": ""} for ts in times])


def where(conn: Connection) -> list[tuple[str, date]]:
    """(table, day) of every scan: which partition holds it."""
    if not is_partitioned(conn):
        return [("scans", ts.date()) for ts in conn.execute(select(t.scans.c.ts)).scalars()]
    return sorted(tuple(r) for r in conn.exec_driver_sql(
        "SELECT tableoid::regclass::text, ts::date FROM scans"))


def test_partitions_ensure_makes_each_missing_day_once(db_url):
    engine = get_engine(db_url)
    init_db(engine)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        assert is_partitioned(conn) == pg
        assert ensure_scan_partitions(conn, date(2025, 1, 30), date(2025, 2, 1)) == 3 * pg
        assert ensure_scan_partitions(conn, datetime(2025, 1, 31, 12), date(2025, 2, 2)) == pg
        made = scan_partitions(conn)
    if pg:
        assert made[date(2025, 2, 2)] == "scans_p20250202"
        assert {date(2025, 1, 30) + timedelta(days=n) for n in range(4)} <= made.keys()
        today = datetime.now().date()  # init_db made the days around today ahead
        assert {today, today + timedelta(days=3)} <= made.keys()
    else:
        assert made == {}


def test_partitions_a_scan_on_a_day_without_partition_lands_and_moves_later(db_url):
    engine = get_engine(db_url)
    init_db(engine)
    with engine.begin() as conn:
        place(conn)
        add_scans(conn, datetime(2025, 3, 1, 9), datetime(2025, 3, 2, 9))
        partitioned = is_partitioned(conn)
        if partitioned:
            assert where(conn) == [("scans_default", date(2025, 3, 1)),
                                   ("scans_default", date(2025, 3, 2))]
        ids = sorted(conn.execute(select(t.scans.c.id)).scalars())
        ensure_scan_partitions(conn, date(2025, 3, 1), date(2025, 3, 1))
        if partitioned:  # the default partition hands the day's scans to the new partition
            assert where(conn) == [("scans_default", date(2025, 3, 2)),
                                   ("scans_p20250301", date(2025, 3, 1))]
        assert sorted(conn.execute(select(t.scans.c.id)).scalars()) == ids


def test_partitions_drop_before_removes_whole_days_and_strays(db_url):
    engine = get_engine(db_url)
    init_db(engine)
    with engine.begin() as conn:
        place(conn)
        ensure_scan_partitions(conn, date(2025, 4, 2), date(2025, 4, 3))
        add_scans(conn, datetime(2025, 4, 1, 23, 59, 59),  # no partition: the default one
                  datetime(2025, 4, 2, 0, 0, 0), datetime(2025, 4, 2, 18),
                  datetime(2025, 4, 3, 0, 0, 0), datetime(2025, 4, 3, 7))
        assert drop_scan_partitions_before(conn, date(2025, 4, 3)) == 3
        assert [day for _, day in where(conn)] == [date(2025, 4, 3)] * 2
        assert date(2025, 4, 2) not in scan_partitions(conn)
        assert drop_scan_partitions_before(conn, datetime(2025, 4, 4, 12)) == 2
        assert conn.execute(select(func.count()).select_from(t.scans)).scalar() == 0
        if is_partitioned(conn):  # an emptied partition goes too, and later days stay
            assert min(scan_partitions(conn)) > date(2025, 4, 3)


def test_partitions_demo_city_loads_each_day_into_its_partition(demo_db):
    with demo_db.engine.connect() as conn:
        if not is_partitioned(conn):
            assert demo_db.backend == "sqlite"
            return
        placed = where(conn)
        assert placed and all(part == partition_name(day) for part, day in placed)
        assert conn.exec_driver_sql(
            "SELECT count(*) FROM venues WHERE geom IS NULL").scalar() == 0


def test_partitions_ingest_stores_a_repeated_scan_id_once(city_db):
    """On a day without a partition too: the ingest makes it, and a repeat (or a clash) sent
    later is answered from the stored scan, not stored again."""
    engine = city_db.engine
    people = pd.read_parquet(city_db.instance / "demo-people.parquet")
    who = people["id_number"].iloc[0]
    ingest = Ingestor(engine, SECRET, "Asia/Shanghai", 28)
    now = ingest.now() - timedelta(days=20)  # a day older than the demo's and init_db's
    scan_id = f"repeat-{uuid.uuid4().hex[:12]}"
    scan = {"scan_id": scan_id, "venue_code": "371002S000001", "person": who,
            "ts": (now - timedelta(hours=1)).isoformat() + "+08:00"}
    first = ingest.ingest([scan], now=now)
    assert first[0]["verdict"] in ("green", "yellow", "red")
    assert ingest.ingest([scan, scan], now=now) == first * 2
    assert Ingestor(engine, SECRET, "Asia/Shanghai", 28).ingest([scan], now=now) == first
    clash = scan | {"ts": now.isoformat() + "+08:00"}
    assert ingest.ingest([clash], now=now)[0]["status"] == 409
    with engine.connect() as conn:
        stored = conn.execute(select(t.scans.c.ts).where(t.scans.c.scan_id == scan_id)).all()
        assert len(stored) == 1
        if is_partitioned(conn):
            day = stored[0].ts.date()
            assert conn.exec_driver_sql(
                "SELECT tableoid::regclass::text FROM scans WHERE scan_id = %s",
                (scan_id,)).scalar() == partition_name(day)
