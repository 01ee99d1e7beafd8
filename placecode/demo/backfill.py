"""The demo city's older scan days, loaded while the city is already served.

A week of a 3M-a-day city is 20M scans: loading them and rebuilding the scan indexes takes SQLite
here about five minutes more, longer than anyone waits for `make run`. So the build loads today's
scans and every day's rollups (all the wall reads: its day-over-day figures, trends and the
economy's weeks), and leaves the older days' scans as Parquet files in the
instance folder. `placecode demo --backfill`, which `make run` starts beside the server, inserts
them day by day, newest first, in small committed chunks that skip rows already stored; an
interrupted backfill simply runs again.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from tqdm import tqdm

from placecode.db import schema as t
from placecode.db.bulk import bulk_insert
from placecode.demo.activity import read_day

BACKLOG = "demo-backfill"
STAMP = "built_at"
PAUSE = 0.5  # seconds between committed chunks: the live scans waiting for the lock get it


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


def backfill(engine: Engine, instance: Path, *, progress: bool = True) -> Backfill:
    """Load the pending days into `scans`; see the module docstring."""
    start = time.perf_counter()
    days = pending(instance)
    if not days:
        return Backfill(message="no scan days waiting to be loaded")
    stamp_file = backlog(instance) / STAMP
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
            done.rows += bulk_insert(conn, t.scans, cols, bar.update, skip_existing=True,
                                     pause=PAUSE)
        path.unlink()
        done.days += 1
    discard(instance)
    done.seconds = round(time.perf_counter() - start, 1)
    done.message = f"loaded {done.days} older days ({done.rows:,} scans) in {done.seconds} s"
    return done
