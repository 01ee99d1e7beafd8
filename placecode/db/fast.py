"""Bulk reads for feeds and re-evaluation: raw driver rows and temporary key tables.

SQLAlchemy's per-row result processing (a regex per SQLite timestamp) and `IN (...)` lists of
hundreds of parameters cost more than the queries themselves at a million rows; these helpers
keep the SQL in SQLAlchemy Core and skip that overhead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from sqlalchemy import Column, Connection, MetaData, Table
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
