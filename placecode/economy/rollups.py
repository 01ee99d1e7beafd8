"""Distinct persons per foot-traffic cell, counted from the scans of one day at a time.

Persons do not add up the way scans do (one person in two hours is one person in the day), so
the ingest cannot keep them; they are recounted here: by the demo build, by `serve` every
PLACECODE_ECONOMY_REFRESH_MINUTES for today, and once for days that lack them (an upgraded
database). A count taken while scans still arrive can only be below the truth, so small-cell
suppression errs on the side of hiding.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, and_, bindparam, distinct, func, select, update

from placecode.db import schema as t
from placecode.db.fast import epoch_seconds
from placecode.db.upsert import insert_new

EPOCH = datetime(1970, 1, 1)


@dataclass
class Recount:
    day: date
    cells: int
    inserted: int
    seconds: float


def _cells(day: date):
    """(table, key columns, select) for the three grains, restricted to the day's scans.

    Venues drive the join so that both databases walk the (venue_id, ts, person_id) index."""
    s, v = t.scans, t.venues
    start = datetime.combine(day, datetime.min.time())
    joined = v.join(s, and_(s.c.venue_id == v.c.id, s.c.ts >= start,
                            s.c.ts < start + timedelta(days=1)))
    persons = func.count(distinct(s.c.person_id)).label("persons")
    scans = func.count().label("scans")
    hour = (epoch_seconds(s.c.ts) // 3600).label("hour")
    return (
        (t.rollup_industry_district_day, ("kind", "district_id", "day"),
         select(v.c.kind, v.c.district_id, scans, persons).select_from(joined)
         .group_by(v.c.kind, v.c.district_id)),
        (t.rollup_industry_subdistrict_day, ("kind", "subdistrict_id", "day"),
         select(v.c.kind, v.c.subdistrict_id, v.c.district_id, scans, persons)
         .select_from(joined).group_by(v.c.kind, v.c.subdistrict_id, v.c.district_id)),
        (t.rollup_industry_district_hour, ("kind", "district_id", "hour"),
         select(v.c.kind, v.c.district_id, hour, scans, persons).select_from(joined)
         .group_by(v.c.kind, v.c.district_id, hour)),
    )


def recount_day(engine: Engine, day: date) -> Recount:
    """Count the day's distinct persons per cell (a read), then write them (a short write).

    Cells the rollups lack (a database from before these rollups) are inserted with their scans;
    existing cells keep the scans the ingest counted."""
    started = time.perf_counter()
    with engine.connect() as conn:
        counted = [(table, keys, conn.execute(query).all()) for table, keys, query
                   in _cells(day)]
    cells = inserted = 0
    with engine.begin() as conn:
        for table, keys, rows in counted:
            records = []
            for row in rows:
                rec = dict(row._mapping)
                if "hour" in rec:  # hours since 1970 on the city's clock
                    rec["hour"] = EPOCH + timedelta(hours=int(rec["hour"]))
                else:
                    rec["day"] = day
                records.append(rec)
            if records:
                before = _count(conn, table, day)
                insert_new(conn, table, keys, records)
                inserted += _count(conn, table, day) - before
            if records:
                where = and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys))
                conn.execute(update(table).where(where).values(persons=bindparam("p")),
                             [{f"k_{k}": r[k] for k in keys} | {"p": r["persons"]}
                              for r in records])
            cells += len(records)
    return Recount(day, cells, inserted, time.perf_counter() - started)


def _count(conn, table, day: date) -> int:
    if "hour" in table.c:
        start = datetime.combine(day, datetime.min.time())
        where = and_(table.c.hour >= start, table.c.hour < start + timedelta(days=1))
    else:
        where = table.c.day == day
    return conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()


def days_missing_persons(engine: Engine) -> list[date]:
    """Days with scans counted in the day rollup but persons not (yet) counted for some cell,
    or no sub-district cells at all (a database from before these rollups)."""
    r, sub = t.rollup_industry_district_day, t.rollup_industry_subdistrict_day
    with engine.connect() as conn:
        missing = set(conn.execute(select(r.c.day).where(r.c.persons.is_(None)).distinct())
                      .scalars())
        have_sub = set(conn.execute(select(sub.c.day).distinct()).scalars())
        days = set(conn.execute(select(r.c.day).distinct()).scalars())
    return sorted(missing | (days - have_sub))


def backfill(engine: Engine, keep_from: date | None = None,
             report: Callable[[Recount], None] | None = None) -> list[Recount]:
    """Recount every day that lacks persons (and whose scans are still kept)."""
    done = []
    for day in days_missing_persons(engine):
        if keep_from is not None and day < keep_from:
            continue  # purged: its scans are gone, the rollup keeps what it had
        done.append(recount_day(engine, day))
        if report:
            report(done[-1])
    return done


class PersonsWorker(threading.Thread):
    """Inside `placecode serve`: recount today's persons every few minutes, and yesterday's once
    more after midnight (its last scans arrived after the previous count)."""

    def __init__(self, engine: Engine, now: Callable[[], datetime], every_s: float,
                 retention_days: int):
        super().__init__(name="economy-persons", daemon=True)
        self.engine, self.now, self.every_s = engine, now, every_s
        self.retention_days = retention_days
        self.stopped = threading.Event()
        self.last_day: date | None = None

    def run(self) -> None:
        try:  # first the days an older placecode left uncounted
            backfill(self.engine, self.now().date() - timedelta(days=self.retention_days),
                     report=lambda r: print(f"economy persons: counted {r.day} "
                                            f"({r.cells} cells, {r.seconds:.1f} s)", flush=True))
        except Exception as exc:
            print(f"economy persons: backfill: {type(exc).__name__}: {str(exc)[:200]}",
                  flush=True)
        while not self.stopped.is_set():
            try:
                today = self.now().date()
                if self.last_day is not None and self.last_day != today:
                    recount_day(self.engine, self.last_day)
                recount_day(self.engine, today)
                self.last_day = today
            except Exception as exc:  # keep counting after a database hiccup
                print(f"economy persons: {type(exc).__name__}: {str(exc)[:200]}", flush=True)
            self.stopped.wait(self.every_s)

    def stop(self) -> None:
        self.stopped.set()

