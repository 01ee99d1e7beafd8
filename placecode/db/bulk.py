"""Bulk loading of generated columns: executemany on SQLite, COPY on PostgreSQL.

Columns arrive as numpy arrays (datetime64 for timestamps, bool, numbers, strings) so the demo never
builds a Python object per cell it does not have to.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, text
from sqlalchemy.schema import AddConstraint, DropConstraint

from placecode.db.partitions import ensure_partitions_for

CHUNK_ROWS = 200_000


def _as_sql_values(values: np.ndarray | list, sqlite: bool) -> list:
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.datetime64):
        unit = "D" if arr.dtype == np.dtype("datetime64[D]") else "s"
        text = np.datetime_as_string(arr, unit=unit).astype(object)
        text[np.isnat(arr)] = None
        return text.tolist()
    if arr.dtype == bool and sqlite:
        return arr.astype(np.int8).tolist()
    return arr.tolist()


def bulk_insert(
    conn: Connection,
    table: Table,
    columns: Mapping[str, np.ndarray | list],
    progress: Callable[[int], None] | None = None,
    *,
    skip_existing: bool = False,
) -> int:
    """Insert equal-length columns into `table`; returns the number of rows given.

    skip_existing: rows that collide with a unique key already stored are left out (SQLite
    INSERT OR IGNORE; PostgreSQL COPY into a staging table, then one INSERT .. ON CONFLICT DO
    NOTHING), so that an interrupted load can simply run again.
    """
    names = list(columns)
    n = len(next(iter(columns.values()))) if names else 0
    if n == 0:
        return 0
    sqlite = conn.dialect.name == "sqlite"
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        chunk = {k: np.asarray(v)[start:stop] for k, v in columns.items()}
        if "ts" in chunk:  # scans on PostgreSQL: each day into its own partition
            ensure_partitions_for(conn, table, chunk["ts"])
        if sqlite:
            rows = list(zip(*(_as_sql_values(chunk[k], True) for k in names), strict=True))
            verb = "INSERT OR IGNORE" if skip_existing else "INSERT"
            sql = (f'{verb} INTO {table.name} ({", ".join(names)}) '
                   f'VALUES ({", ".join("?" * len(names))})')
            conn.connection.driver_connection.executemany(sql, rows)
        elif skip_existing:
            stage = f"stage_{table.name}"
            conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {stage} "
                                 f"(LIKE {table.name} INCLUDING DEFAULTS)")
            conn.exec_driver_sql(f"TRUNCATE {stage}")
            _copy(conn, stage, names, chunk)
            cols = ", ".join(names)
            conn.exec_driver_sql(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {stage} "
                                 "ON CONFLICT DO NOTHING")
        else:
            _copy(conn, table.name, names, chunk)
        if progress:
            progress(stop - start)
    return n


def commit(conn: Connection) -> None:
    """Commit what the driver wrote, whether or not SQLAlchemy began the transaction (SQLite's
    driver opens one of its own for an executemany)."""
    if conn.in_transaction():
        conn.commit()
    else:
        conn.connection.commit()


def _copy(conn: Connection, into: str, names: list[str], chunk: dict[str, np.ndarray]) -> None:
    # object columns: integers with NULLs must not turn into floats ("270.0")
    frame = pd.DataFrame({k: pd.Series(_as_sql_values(chunk[k], False), dtype=object)
                          for k in names})
    buf = io.StringIO()
    # \N marks NULL so that empty strings stay empty strings
    frame.to_csv(buf, index=False, header=False, na_rep=r"\N")
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(
        f'COPY {into} ({", ".join(names)}) FROM STDIN '
        r"WITH (FORMAT csv, NULL '\N')"
    ) as copy:
        copy.write(buf.getvalue())


def suspend_checks(conn: Connection, table: Table) -> None:
    """Before a bulk load: drop the table's secondary indexes and (PostgreSQL) foreign keys.

    Row-by-row foreign-key checks make COPY ten times slower here (21 s against 2 s for 1M scans);
    re-adding the key afterwards validates it in one set-based pass.
    """
    for index in table.indexes:
        index.drop(conn, checkfirst=True)
    if conn.dialect.name == "postgresql":
        for fk in table.foreign_key_constraints:
            conn.execute(DropConstraint(fk, if_exists=True))


def restore_checks(conn: Connection, table: Table) -> None:
    """After a bulk load: rebuild the indexes and re-add (and so validate) the foreign keys.

    SQLite sorts an index's keys faster with a small page cache: 6.6 s against 15.4 s for an
    index of 4.8M scans at 256 MB here (the sort's runs stay in the CPU caches).
    """
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql("PRAGMA cache_size=-2000")
    for index in table.indexes:
        index.create(conn, checkfirst=True)
    if sqlite:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(cache)}")
    else:
        for fk in table.foreign_key_constraints:
            # isolate_from_table=False: else SQLAlchemy drops the key from every later
            # CREATE TABLE of this metadata in the process (a SQLite city would lose its FKs)
            conn.execute(AddConstraint(fk, isolate_from_table=False))


def sqlite_foreign_keys(conn: Connection, on: bool, verify: Iterable[Table] = ()) -> None:
    """SQLite cannot drop a foreign key: switch checking off for the load, and when switching it
    back on, verify the rows of `verify` (raises if a loaded row points nowhere). The caller
    checks the keys of tables it leaves out some cheaper way: SQLite takes 17-40 s for 4.8M
    scans here."""
    if conn.dialect.name != "sqlite":
        return
    conn.commit()  # the pragma is ignored inside a transaction
    for table in verify if on else ():
        broken = conn.exec_driver_sql(f"PRAGMA foreign_key_check({table.name})").fetchmany(5)
        if broken:
            raise ValueError(f"rows with dangling foreign keys after the load: {broken}")
    conn.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    conn.commit()


def sync_id_sequence(conn: Connection, table: Table) -> None:
    """After loading explicit ids on PostgreSQL, move the id sequence past them (else the next
    insert without an id collides with row 1)."""
    if conn.dialect.name != "postgresql" or "id" not in table.c:
        return
    conn.execute(text(
        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
        f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
    ))
