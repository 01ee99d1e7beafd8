"""Daily partitions of `scans` on PostgreSQL, so that retention drops whole days.

Partitions are named `scans_pYYYYMMDD` and cover one city-local day of `ts`; `scans_default`
catches a scan on a day that has no partition yet, so a write never fails for want of one.
A daily partition is made as a plain table and then attached (attaching locks `scans` less than
`CREATE TABLE ... PARTITION OF`, so ingest keeps running); scans that the default partition
caught for that day move into it first. SQLite keeps one unpartitioned table: there, and on a
PostgreSQL database that is not partitioned, ensuring is a no-op and dropping falls back to a
DELETE.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import numpy as np
from sqlalchemy import Connection, Table, delete, text

DEFAULT_PARTITION = "scans_default"
NAME = re.compile(r"^scans_p(\d{8})$")
# one key for every process that creates partitions: two creating the same day would collide
LOCK_KEY = 0x7C0DE5CA


def partition_name(day: date) -> str:
    """`scans_pYYYYMMDD`: the partition that holds the scans of `day`."""
    return f"scans_p{day:%Y%m%d}"


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def is_partitioned(conn: Connection) -> bool:
    """Whether `scans` is a partitioned table (PostgreSQL from schema revision 0002 on)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass('scans')"))
    return kind.scalar() == "p"


def scan_partitions(conn: Connection) -> dict[date, str]:
    """The daily partitions that exist: day → table name (empty when not partitioned)."""
    if not is_partitioned(conn):
        return {}
    names = conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass('scans')")).scalars()
    return {datetime.strptime(m.group(1), "%Y%m%d").date(): name
            for name in names if (m := NAME.match(name))}


def ensure_scan_partitions(conn: Connection, first_day: date | datetime,
                           last_day: date | datetime) -> int:
    """Create the daily partitions of `first_day`..`last_day` (inclusive) that are missing.

    Parameters
    ----------
    conn : a connection in a transaction; the partitions are created in it.
    first_day, last_day : city-local days (a datetime counts as its day).

    Returns
    -------
    int
        The number of partitions created (0 on SQLite or an unpartitioned `scans`).
    """
    first, last = _day(first_day), _day(last_day)
    if last < first or not is_partitioned(conn):
        return 0
    wanted = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    if set(wanted) <= scan_partitions(conn).keys():
        return 0
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    existing = scan_partitions(conn)  # again, under the lock: another process may have made some
    missing = [day for day in wanted if day not in existing]
    for day in missing:
        _create_partition(conn, day)
    return len(missing)


def ensure_partitions_for(conn: Connection, table: Table, ts) -> None:
    """Before bulk-writing rows of `table`: if it is `scans`, the partitions of the days from the
    earliest to the latest `ts` (numpy datetime64 or datetimes)."""
    if table.name != "scans" or conn.dialect.name != "postgresql" or len(ts) == 0:
        return
    days = np.asarray(ts, dtype="datetime64[D]")
    ensure_scan_partitions(conn, days.min().item(), days.max().item())


def _create_partition(conn: Connection, day: date) -> None:
    name, start, end = partition_name(day), day.isoformat(), (day + timedelta(days=1)).isoformat()
    conn.exec_driver_sql(f"CREATE TABLE {name} (LIKE scans INCLUDING DEFAULTS)")
    # bounds are literals from a date object: DDL takes no bound parameters
    conn.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE ts >= '{start}' AND ts < '{end}' "
        f"RETURNING *) INSERT INTO {name} SELECT * FROM moved")
    conn.exec_driver_sql(
        f"ALTER TABLE scans ATTACH PARTITION {name} FOR VALUES FROM ('{start}') TO ('{end}')")


def drop_scan_partitions_before(conn: Connection, day: date | datetime) -> int:
    """Remove every scan with `ts` before `day` (retention): whole daily partitions are dropped,
    the rest (the default partition; every row on SQLite or unpartitioned PostgreSQL) deleted.

    Rows that reference these scans are the caller's to remove first: on SQLite
    `alerts.scan_id` is a foreign key to `scans.id` (on partitioned PostgreSQL it cannot be).

    Parameters
    ----------
    conn : a connection in a transaction.
    day : the first city-local day to keep.

    Returns
    -------
    int
        The number of scan rows removed.
    """
    from placecode.db import schema as t  # the schema module imports this one

    cutoff = _day(day)
    removed = 0
    for part_day, name in sorted(scan_partitions(conn).items()):
        if part_day < cutoff:
            removed += conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar()
            conn.exec_driver_sql(f"DROP TABLE {name}")
    result = conn.execute(delete(t.scans).where(t.scans.c.ts < datetime.combine(cutoff, time())))
    return removed + result.rowcount
