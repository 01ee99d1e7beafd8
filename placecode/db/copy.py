"""Move a pilot's SQLite database into an empty PostgreSQL one (`placecode copy-db`).

A city that started on the embedded SQLite database (a pilot, a demo) moves to production
PostgreSQL without rebuilding or re-importing anything: every row of every placecode table is
copied, ids included, so person keys, alerts, incidents, audit rows and users stay as they were.
The PostgreSQL server must then run with the pilot's secret key (PLACECODE_SECRET_KEY or the
instance folder's `secret_key`): it keys the pseudonyms of ID numbers and signs the sessions.

How:
- `init_db(target)` makes the schema (PostGIS geometry columns generated from lon/lat and the
  GeoJSON text; `scans` partitioned by day), then the daily partitions of the source's days are
  made as the scans arrive, so that no scan lands in the default partition;
- each table of `schema.metadata`, parents first, is read with the raw sqlite3 cursor in chunks
  of CHUNK_ROWS rows and written with COPY (psycopg's `write_row`); only the columns both sides
  have are copied (never the generated `geom` columns). PostgreSQL's text input reads what
  SQLite stores as it is: 'YYYY-MM-DDTHH:MM:SS' timestamps, 'YYYY-MM-DD' dates, 0/1 booleans;
- a big table (more than BIG_TABLE_ROWS rows in the source) loses its secondary indexes (the
  metadata's `Index` objects, not the primary key) and its foreign keys for the load; both are
  rebuilt afterwards in one pass each, which is many times faster than maintaining them during
  tens of millions of inserts, and re-adding a foreign key checks every row;
- every id sequence moves past the largest copied id, so a new row never collides;
- everything above is one PostgreSQL transaction: a failed copy leaves no rows behind. Then
  VACUUM ANALYZE gives the planner its statistics and the index-only scans of contact tracing
  their visibility map.

The source is read in one SQLite read transaction (one consistent snapshot), but scans that
arrive after it starts are not copied: stop the pilot's server first. A target that already has
rows in any placecode table is refused.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import psycopg
from sqlalchemy import Connection, Table, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.schema import CreateIndex

from placecode.db.engine import DatabaseError, check_connection, get_engine, init_db, redact
from placecode.db.partitions import ensure_scan_partitions
from placecode.db.postgis import GEOMETRY_COLUMN
from placecode.db.schema import metadata

CHUNK_ROWS = 200_000
# a table with more rows than this is loaded without its secondary indexes and foreign keys
BIG_TABLE_ROWS = 200_000

Progress = Callable[[str], None]
LOCK_KEY = 0x7C0DEC0B  # one copy into a database at a time


def source_path(source_url: str) -> Path:
    """The SQLite file of `source_url` (a sqlite:/// URL or a plain file path)."""
    if "://" not in source_url:
        path = Path(source_url)
    else:
        try:
            url = make_url(source_url)
        except ArgumentError:
            raise DatabaseError(f"source {source_url!r} is not a valid database URL") from None
        if url.get_backend_name() != "sqlite":
            raise DatabaseError(f"source {redact(source_url)}: copy-db reads a SQLite database "
                                "(sqlite:///path/placecode.db)")
        if not url.database or url.database == ":memory:":
            raise DatabaseError("source: an in-memory SQLite database cannot be copied")
        path = Path(url.database)
    if not path.is_file():
        raise DatabaseError(f"source {path} does not exist")
    return path


def copy_database(source_url: str, target_url: str,
                  progress: Progress | None = None) -> dict[str, int]:
    """Copy every placecode table of the SQLite database `source_url` into the empty PostgreSQL
    database `target_url` (see the module's docstring for how).

    Parameters
    ----------
    source_url : sqlite:///path (or the path itself); only read.
    target_url : postgresql+psycopg://...; PostGIS must be available in it (created by a
        superuser if the owner may not), and no placecode table in it may have rows.
    progress : called with one line of text per step (and per tenth of a big table's rows).

    Returns
    -------
    dict[str, int]
        Rows copied per table, in copy order.

    Raises
    ------
    DatabaseError
        The source is not a placecode SQLite database, the target is not PostgreSQL, cannot be
        reached, or already has rows (named in the message).
    """
    say = progress or (lambda _line: None)
    path = source_path(source_url)
    engine = get_engine(target_url)
    if engine.dialect.name != "postgresql":
        raise DatabaseError(f"target {redact(target_url)}: copy-db writes into PostgreSQL "
                            "(postgresql+psycopg://...)")
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    started = time.monotonic()
    try:
        source_tables = {name for (name,) in src.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "scans" not in source_tables or "persons" not in source_tables:
            raise DatabaseError(f"source {path} is not a placecode database (no scans or "
                                "persons table)")
        check_connection(engine)
        with engine.connect() as conn:
            _refuse_rows(conn, target_url)  # before init_db: a database in use is not migrated
        init_db(engine)
        src.execute("BEGIN")  # one snapshot of the source for every table
        counts: dict[str, int] = {}
        with engine.begin() as conn:
            # a second copy into the same target waits here, then finds the rows and stops
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            _refuse_rows(conn, target_url)
            for table in metadata.sorted_tables:
                if table.name not in source_tables:
                    say(f"{table.name}: not in the source, left empty")
                    counts[table.name] = 0
                    continue
                try:
                    counts[table.name] = _copy_table(src, conn, table, say, started)
                except (psycopg.Error, DBAPIError) as exc:
                    error = exc.orig if isinstance(exc, DBAPIError) else exc
                    reason = (str(error).strip().splitlines() or ["failed"])[0]
                    raise DatabaseError(f"copying table {table.name} into {redact(target_url)}: "
                                        f"{reason} (no rows were kept)") from None
            _sync_sequences(conn)
        src.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"source {path}: {exc} (no rows were kept)") from None
    finally:
        src.close()
    say(f"committed {sum(counts.values()):,} rows in {time.monotonic() - started:,.0f} s; "
        "VACUUM ANALYZE")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) " + ", ".join(
            f'"{table.name}"' for table in metadata.sorted_tables))
    say(f"done in {time.monotonic() - started:,.0f} s")
    return counts


def _refuse_rows(conn: Connection, target_url: str) -> None:
    present = set(inspect(conn).get_table_names())
    for table in metadata.sorted_tables:
        if table.name in present and conn.execute(
                text(f'SELECT EXISTS (SELECT 1 FROM "{table.name}")')).scalar():
            raise DatabaseError(
                f"target {redact(target_url)} already has rows (table {table.name}): "
                "copy-db fills an empty database only; create a new one (createdb) and "
                "copy into it")


def _columns(src: sqlite3.Connection, table: Table) -> list[str]:
    have = [row[1] for row in src.execute(f'PRAGMA table_info("{table.name}")')]
    columns = [c for c in have if c in table.c and c != GEOMETRY_COLUMN]
    for column in table.c:
        if (column.name not in columns and not column.nullable
                and column.server_default is None
                and not (column.primary_key and column.autoincrement is True)):
            raise DatabaseError(
                f"source table {table.name} has no column {column.name}, which the PostgreSQL "
                "schema requires: upgrade the source first (placecode init-db --db SOURCE)")
    return columns


def _copy_table(src: sqlite3.Connection, conn: Connection, table: Table, say: Progress,
                started: float) -> int:
    columns = _columns(src, table)
    quoted = ", ".join(f'"{c}"' for c in columns)
    total = src.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()[0]
    if total == 0:
        return 0
    big = total > BIG_TABLE_ROWS
    foreign_keys = _suspend(conn, table) if big else []
    raw = conn.connection.driver_connection
    ts_at = columns.index("ts") if table.name == "scans" else None
    cursor = src.execute(f'SELECT {quoted} FROM "{table.name}"')
    copied = 0
    while rows := cursor.fetchmany(CHUNK_ROWS):
        if ts_at is not None:  # each day's scans into its own partition, made before they come
            days = [row[ts_at] for row in rows]
            ensure_scan_partitions(conn, _day(min(days)), _day(max(days)))
        with raw.cursor() as cur, cur.copy(
                f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        tenths = (copied * 10 // total, (copied + len(rows)) * 10 // total)
        copied += len(rows)
        if big and tenths[1] > tenths[0] and copied < total:  # a line per tenth of the rows
            say(f"{table.name}: {copied:,} / {total:,} rows "
                f"({time.monotonic() - started:,.0f} s)")
    if big:
        _restore(conn, table, foreign_keys, say, started)
    say(f"{table.name}: {copied:,} rows ({time.monotonic() - started:,.0f} s)")
    return copied


def _day(value) -> date:
    """The day of a timestamp as SQLite stores it ('YYYY-MM-DDTHH:MM:SS' text)."""
    return date.fromisoformat(str(value)[:10])


def _suspend(conn: Connection, table: Table) -> list[tuple[str, str]]:
    """Drop the table's metadata indexes and its foreign keys; returns the keys' definitions."""
    for index in table.indexes:
        conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{index.name}"')
    foreign_keys = conn.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(:name) AND contype = 'f' ORDER BY conname"),
        {"name": table.name}).all()
    for name, _definition in foreign_keys:
        conn.exec_driver_sql(f'ALTER TABLE "{table.name}" DROP CONSTRAINT "{name}"')
    return [tuple(fk) for fk in foreign_keys]


def _restore(conn: Connection, table: Table, foreign_keys: list[tuple[str, str]], say: Progress,
             started: float) -> None:
    for index in table.indexes:
        conn.execute(CreateIndex(index))
        say(f"{table.name}: index {index.name} ({time.monotonic() - started:,.0f} s)")
    for name, definition in foreign_keys:
        conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD CONSTRAINT "{name}" {definition}')
        say(f"{table.name}: foreign key {name} checked ({time.monotonic() - started:,.0f} s)")


def _sync_sequences(conn: Connection) -> None:
    """Every sequence behind a primary-key column moves past the largest copied value."""
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                    {"t": table.name, "c": column.name}).scalar()
            if sequence is None:
                continue
            conn.execute(text(
                f'SELECT setval(:seq, (SELECT coalesce(max("{column.name}"), 0) + 1 '
                f'FROM "{table.name}"), false)'), {"seq": sequence})
