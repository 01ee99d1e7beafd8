"""Bulk reads for feeds and re-evaluation: raw driver rows and temporary key tables.

SQLAlchemy's per-row result processing (a regex per SQLite timestamp) and `IN (...)` lists of
hundreds of parameters cost more than the queries themselves at a million rows; these helpers
keep the SQL in SQLAlchemy Core and skip that overhead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from sqlalchemy import BigInteger, Column, Connection, MetaData, Table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import TypeEngine

from placecode.db.bulk import bulk_insert


def raw_rows(conn: Connection, query) -> list[tuple]:
    """The rows as the driver returns them (SQLite timestamps stay ISO text for pandas)."""
    result = conn.execute(query)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


@contextmanager
def temp_values(conn: Connection, name: str, values, type_: TypeEngine) -> Iterator[Table]:
    """A temporary one-column table `name(v)` holding the distinct `values`, for joins."""
    table = Table(name, MetaData(), Column("v", type_, primary_key=True),
                  prefixes=["TEMPORARY"])
    table.drop(conn, checkfirst=True)
    table.create(conn)
    try:
        bulk_insert(conn, table, {"v": np.unique(np.asarray(values))})
        yield table
    finally:
        table.drop(conn)


class epoch_seconds(FunctionElement):  # noqa: N801 (used like a SQL function)
    """A timestamp as integer seconds since 1970: all-integer rows become one numpy array
    without parsing a string per row (330k rows: 30 ms against 250 ms)."""
    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element, compiler, **kw):
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"
