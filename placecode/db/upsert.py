"""INSERT ... ON CONFLICT for both engines (SQLite ≥ 3.24 and PostgreSQL speak the same clause)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def _insert(conn: Connection, table: Table):
    return (sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert)(table)


@functools.cache
def _increment_statement(dialect: str, table: Table, keys: tuple[str, ...],
                         counters: tuple[str, ...], latest: tuple[str, ...]):
    """Built once per shape: constructing the statement costs more than running it."""
    stmt = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: table.c[c] + stmt.excluded[c] for c in counters}
        | {c: stmt.excluded[c] for c in latest})


def increment(conn: Connection, table: Table, keys: Sequence[str], rows: list[dict],
              latest: Sequence[str] = ()) -> None:
    """Add the rows' counters to the rows with the same key, creating missing ones (rollups);
    the `latest` columns (a change stamp) take the new row's value instead."""
    if not rows:
        return
    counters = tuple(c for c in rows[0] if c not in keys and c not in latest)
    conn.execute(_increment_statement(conn.dialect.name, table, tuple(keys), counters,
                                      tuple(latest)), rows)


def insert_new(conn: Connection, table: Table, keys: Sequence[str], rows: list[dict]) -> None:
    """Insert the rows whose unique key is not there yet; existing rows are left as they are."""
    if rows:
        conn.execute(_insert(conn, table).on_conflict_do_nothing(index_elements=list(keys)), rows)


def upsert_columns(conn: Connection, table: Table, columns: dict, keys: Sequence[str],
                   update: Sequence[str] = ()) -> None:
    """Fast path for feeds: equal-length numpy columns, inserted through the driver's executemany
    with ON CONFLICT (keys) DO UPDATE SET `update` (or DO NOTHING when `update` is empty)."""
    from placecode.db.bulk import _as_sql_values
    from placecode.db.partitions import ensure_partitions_for

    names = list(columns)
    if not names or len(columns[names[0]]) == 0:
        return
    if "ts" in columns:  # scans on PostgreSQL: each day into its own partition
        ensure_partitions_for(conn, table, columns["ts"])
    sqlite_ = conn.dialect.name == "sqlite"
    mark = "?" if sqlite_ else "%s"
    action = ("DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in update)
              if update else "DO NOTHING")
    sql = (f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
           f"({', '.join([mark] * len(names))}) ON CONFLICT ({', '.join(keys)}) {action}")
    rows = list(zip(*(_as_sql_values(columns[n], sqlite_) for n in names), strict=True))
    raw = conn.connection.driver_connection
    if sqlite_:
        raw.executemany(sql, rows)
    else:
        with raw.cursor() as cur:
            cur.executemany(sql, rows)
