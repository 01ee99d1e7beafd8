"""Benchmark: contact tracing at city scale (issue 6) -> bench/RESULTS.md.

    python bench/bench_trace.py [URL ...] [--persons 50] [--typical 20] [--repeats 3] [--record]

Issue 6 asks for one person's 14-day trajectory in < 50 ms and for close + secondary contacts in
< 1 s. This times `person_visits` and `trace_contacts` (placecode.tracing.contacts) on databases
holding the `city` preset, for random persons with scans and for heavy index persons, cold (the
first call on a new database connection) and warm (the median of repeats on it).
Without URLs it runs on the two 7-day city databases of /tmp/pcbench.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from bench_demo_build import machine, record_section
from source_stamp import source_stamp
from sqlalchemy import exists, func, select

from placecode.db.engine import get_engine, init_db, redact
from placecode.db.schema import persons, rollup_venue_day, scans
from placecode.tracing.contacts import TraceParams, person_visits, trace_contacts

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Contact tracing (issue 6)"
SQLITE_URL = "sqlite:////tmp/pcbench/city23/placecode.db"
PG_URL_FILE = Path("/tmp/pcbench/pg-city23/db-url.txt")
TOP_VENUES = 10  # the heavy index person is searched among the regulars of the busiest venues

HEADER = ("| date | machine | database | scans (days) | query | index persons | result | "
          "cold ms median / tail | warm ms median / tail | source |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
PREAMBLE = """\
Goals: one person's 14-day trajectory in < 50 ms; close + secondary contacts in < 1 s.
`bench/bench_trace.py` times `person_visits(conn, [person], until - 14 d, until)` and
`trace_contacts(conn, person, until)` (14 days, tolerance 30 min), `until` = the newest scan + 1 s.
Index persons: drawn uniformly (seeded) among persons with a scan in the window; and heavy ones:
of the 30 persons with the most scans at the 10 venues with the most scans in the window, the one
with the most close contacts and the one with the most contacts in both tiers. Cold = the first
call on a new connection (the OS page cache and PostgreSQL's shared buffers are not dropped);
warm = median of 3 more calls on it. "tail" = p95 (trajectories) or p90 (traces) over the persons.

"""


def timed(engine, call, repeats: int):
    """ms of the first call on a new connection and the median ms of `repeats` more calls on
    it; the last result."""
    engine.dispose()  # a new connection: SQLite's page cache / a new PostgreSQL backend
    times = []
    for _ in range(1 + repeats):
        with engine.connect() as conn:
            start = time.perf_counter()
            result = call(conn)
            times.append((time.perf_counter() - start) * 1000)
    return times[0], statistics.median(times[1:]), result


def persons_with_scans(conn, start, until, count: int, rng: random.Random) -> list[int]:
    """`count` persons drawn uniformly from those with a scan in [start, until)."""
    low, high = conn.execute(select(func.min(persons.c.id), func.max(persons.c.id))).one()
    found: list[int] = []
    while len(found) < count:
        pid = rng.randint(low, high)
        if pid not in found and conn.execute(select(exists().where(
                scans.c.person_id == pid, scans.c.ts >= start, scans.c.ts < until))).scalar():
            found.append(pid)
    return found


def heavy_persons(conn, start, until, candidates: int) -> tuple[dict[int, list[str]], list[int]]:
    """Heavy index persons among the regulars of the busiest venues: of the `candidates` persons
    with the most scans at the TOP_VENUES venues with the most scans in the window (rollups), the
    one with the most close contacts and the one with the most contacts in both tiers (ties:
    the lowest id), each with why it was picked; and those venues."""
    top = [v for v, in conn.execute(
        select(rollup_venue_day.c.venue_id).where(rollup_venue_day.c.day >= start.date())
        .group_by(rollup_venue_day.c.venue_id)
        .order_by(func.sum(rollup_venue_day.c.scans).desc(), rollup_venue_day.c.venue_id)
        .limit(TOP_VENUES))]
    regulars = [p for p, in conn.execute(
        select(scans.c.person_id).where(scans.c.venue_id.in_(top), scans.c.ts >= start,
                                        scans.c.ts < until)
        .group_by(scans.c.person_id)
        .order_by(func.count().desc(), scans.c.person_id).limit(candidates))]
    counts = {p: tiers(trace_contacts(conn, p, until)) for p in regulars}
    picks: dict[int, list[str]] = {}
    for why, rank in (("most close contacts", lambda p: counts[p][0]),
                      ("most contacts", lambda p: sum(counts[p]))):
        picks.setdefault(max(regulars, key=lambda p, rank=rank: (rank(p), -p)), []).append(why)
    return picks, top


def tiers(contacts) -> tuple[int, int]:
    counts = contacts["tier"].value_counts()
    return int(counts.get(1, 0)), int(counts.get(2, 0))


def spread(values, q: int) -> str:
    return f"**{statistics.median(values):,.1f}** / {np.percentile(values, q):,.1f} (p{q})"


def bench(url: str, args, stamp: str) -> list[str]:
    engine = get_engine(url)
    init_db(engine)  # the current schema's indexes (not timed)
    with engine.connect() as conn:
        until = conn.execute(select(func.max(scans.c.ts))).scalar() + timedelta(seconds=1)
        start = until - timedelta(days=TraceParams().days)
        total, days = conn.execute(select(func.sum(rollup_venue_day.c.scans),
                                          func.count(rollup_venue_day.c.day.distinct()))).one()
        sample = persons_with_scans(conn, start, until, args.persons + args.typical,
                                    random.Random(args.seed))
        heavy, top = heavy_persons(conn, start, until, args.candidates)
    print(f"{redact(url)}: until {until}, heavy {heavy} (of {args.candidates} regulars "
          f"of venues {top})", flush=True)
    lead = f"| {date.today()} | {machine()} | {engine.dialect.name} | {total:,} ({days} d) |"
    rows = []

    walks = [timed(engine, lambda c, p=p: person_visits(c, [p], start, until, TraceParams()),
                   args.repeats) for p in sample[:args.persons]]
    visits = statistics.median(len(r) for _, _, r in walks)
    rows.append(f"{lead} trajectory (`person_visits`, 14 d) | {len(walks)} random | "
                f"{visits:.0f} visits (median) | {spread([c for c, _, _ in walks], 95)} | "
                f"{spread([w for _, w, _ in walks], 95)} | {stamp} |")

    traces = [timed(engine, lambda c, p=p: trace_contacts(c, p, until), args.repeats)
              for p in sample[args.persons:]]
    close, second = zip(*(tiers(r) for _, _, r in traces), strict=True)
    rows.append(f"{lead} close + secondary (`trace_contacts`) | {len(traces)} random | "
                f"{statistics.median(close):,.0f} close, {statistics.median(second):,.0f} "
                f"secondary (median) | {spread([c for c, _, _ in traces], 90)} | "
                f"{spread([w for _, w, _ in traces], 90)} | {stamp} |")

    for pid, why in heavy.items():
        cold, warm, contacts = timed(engine, lambda c, p=pid: trace_contacts(c, p, until),
                                     args.repeats)
        close, second = tiers(contacts)
        rows.append(f"{lead} close + secondary (`trace_contacts`) | heavy ({', '.join(why)}): "
                    f"person {pid} | {close:,} close, {second:,} secondary | **{cold:,.1f}** | "
                    f"**{warm:,.1f}** | {stamp} |")
    engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("urls", nargs="*")
    parser.add_argument("--persons", type=int, default=50, help="random persons, trajectories")
    parser.add_argument("--typical", type=int, default=20, help="random persons, traces")
    parser.add_argument("--candidates", type=int, default=30, help="heavy-person search cap")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--record", action="store_true", help="append the rows to RESULTS.md")
    args = parser.parse_args()
    urls = args.urls or [SQLITE_URL, PG_URL_FILE.read_text().strip()]
    stamp = source_stamp()  # the source this process imported (it may change meanwhile)
    rows = [row for url in urls for row in bench(url, args, stamp)]
    print(f"\n{HEADER}" + "\n".join(rows))
    if args.record:
        record_section(RESULTS, HEADING, PREAMBLE + HEADER, rows)


if __name__ == "__main__":
    main()
