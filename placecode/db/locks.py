"""A job lock every process sees: one re-evaluation at a time across all workers and hosts.

PostgreSQL: a session-level advisory lock on a connection of its own, so it is gone the moment
the holder's connection drops (a killed worker never leaves it held). SQLite (one machine): a row
in `meta` naming the holder's process id; a row whose process is gone is taken over.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, delete, insert, select, text
from sqlalchemy.exc import IntegrityError

from placecode.db.schema import meta


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine with this pid still runs (a lock or job holder)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def job_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Yields True to the one caller that holds `name`, False to every other meanwhile."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            key = conn.execute(text("SELECT hashtextextended(:n, 0)"), {"n": name}).scalar()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
            try:
                yield bool(got)
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        return
    row = f"lock:{name}"
    got = _take_row(engine, row)
    try:
        yield got
    finally:
        if got:
            with engine.begin() as conn:
                conn.execute(delete(meta).where(meta.c.key == row,
                                                meta.c.value == str(os.getpid())))


def _take_row(engine: Engine, row: str) -> bool:
    for _ in range(2):
        try:
            with engine.begin() as conn:
                conn.execute(insert(meta).values(key=row, value=str(os.getpid())))
            return True
        except IntegrityError:
            with engine.begin() as conn:
                holder = conn.execute(select(meta.c.value).where(meta.c.key == row)).scalar()
                if holder is not None and holder.isdigit() and pid_alive(int(holder)):
                    return False
                conn.execute(delete(meta).where(meta.c.key == row, meta.c.value == holder))
    return False
