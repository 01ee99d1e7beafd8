"""The demo city's older scan days, loaded while the city is already served.

A week of a 3M-a-day city is 23M scans: loaded and indexed before serving, SQLite here takes
10 min for the build instead of 4 (bench/RESULTS.md). So the build loads today's scans and every
day's rollups (all the wall reads: its day-over-day figures, trends and the economy's weeks),
and leaves the older days' scans as Parquet files in the instance folder.
`placecode demo --backfill`, which `make run` starts beside the server, inserts them day by day,
newest first, in small committed slices that skip rows already stored; an interrupted backfill
simply runs again. Rows landing at random places of three big indexes make this slow (~5k scans/s
while the city is served), but the served city stays responsive: its own writes wait for one
slice at most."""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, inspect, select
from tqdm import tqdm

from placecode.db import schema as t
from placecode.db.bulk import bulk_insert, commit
from placecode.demo.activity import read_day

BACKLOG = "demo-backfill"
STAMP = "built_at"
LOCK_S = 0.5  # a slice's target time holding SQLite's write lock
PAUSE_S = 0.3  # between slices: the writers that waited get the lock


@dataclass
class Backfill:
    days: int = 0
    rows: int = 0
    seconds: float = 0.0
    message: str = ""


def backlog(instance: Path) -> Path:
    return instance / BACKLOG


def pending(instance: Path) -> list[Path]:
    """The days still to load, newest first (a trace looks back from today)."""
    return sorted(backlog(instance).glob("*.parquet"), reverse=True)


def discard(instance: Path) -> None:
    shutil.rmtree(backlog(instance), ignore_errors=True)


def stamp(instance: Path, built_at: str) -> None:
    """Tie the backlog to the build that wrote it: a later build's city never gets its days."""
    (backlog(instance) / STAMP).write_text(built_at)


def _insert_gently(conn, cols: dict[str, np.ndarray], progress) -> int:
    """Insert in committed slices sized so that each holds the write lock about LOCK_S (rows
    land in three indexes at random places, so a slice's time grows with the table), pausing
    between them: the served city's own writes (live scans, an officer's click) wait at most
    about that long."""
    n, start, size = len(cols["ts"]), 0, 50_000
    while start < n:
        part = {k: v[start:start + size] for k, v in cols.items()}
        began = time.perf_counter()
        bulk_insert(conn, t.scans, part, skip_existing=True)
        commit(conn)
        took = time.perf_counter() - began
        progress(len(part["ts"]))
        start += size
        size = int(np.clip(size * LOCK_S / max(took, 1e-3), 1_000, 200_000))
        time.sleep(PAUSE_S)
    return n


def backfill(engine: Engine, instance: Path, *, progress: bool = True) -> Backfill:
    """Load the pending days into `scans`; see the module docstring."""
    start = time.perf_counter()
    days = pending(instance)
    if not days:
        return Backfill(message="no scan days waiting to be loaded")
    stamp_file = backlog(instance) / STAMP
    built_at = None
    if inspect(engine).has_table("meta"):
        with engine.connect() as conn:
            built_at = conn.execute(
                select(t.meta.c.value).where(t.meta.c.key == "built_at")).scalar()
    if built_at is None or not stamp_file.exists() or stamp_file.read_text() != built_at:
        discard(instance)
        return Backfill(message="the waiting scan days belonged to an earlier build of the demo "
                                "city and were removed")
    done = Backfill()
    for path in days:
        cols = read_day(path)
        with engine.connect() as conn, tqdm(
                total=len(cols["ts"]), unit=" scans", unit_scale=True, desc=f"backfill {path.stem}",
                disable=not progress, file=sys.stderr) as bar:
            if conn.dialect.name == "sqlite":  # the scan indexes in memory: fewer page reads
                conn.exec_driver_sql("PRAGMA cache_size=-2097152")
            done.rows += _insert_gently(conn, cols, bar.update)
        path.unlink()
        done.days += 1
    discard(instance)
    done.seconds = round(time.perf_counter() - start, 1)
    done.message = f"loaded {done.days} older days ({done.rows:,} scans) in {done.seconds} s"
    return done
