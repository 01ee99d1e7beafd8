"""Benchmark: server time of one wall refresh (all its queries) -> bench/RESULTS.md.

    python bench/bench_wall_queries.py --db URL [--db URL ...] [--runs 20]

Point it at databases holding a demo city (e.g. the `city` preset). It times the queries the wall's
refresh callback runs, per role scope, and records min / median / max in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, datetime
from pathlib import Path

from bench_demo_build import machine, record_section

from placecode.auth.policy import Viewer
from placecode.db.engine import get_engine, redact
from queries import wall as q

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Wall refresh (`bench/bench_wall_queries.py`)"


def refresh_once(engine, scope: Viewer, clock: datetime) -> None:
    info = q.city_meta(engine)
    q.district_shapes(engine)
    as_of, _ = q.wall_time(info, clock)
    q.district_metrics(engine, as_of.date(), scope)
    q.kpis(engine, as_of.date(), scope)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", nargs="+", required=True)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    rows = []
    for url in args.db:
        engine = get_engine(url)
        info = q.city_meta(engine)
        for scope in (Viewer("city_commander"), Viewer("district_commander", 371002),
                      Viewer("planner")):
            refresh_once(engine, scope, datetime.now())  # warm the cache
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                refresh_once(engine, scope, datetime.now())
                times.append((time.perf_counter() - start) * 1000)
            row = (f"| {date.today()} | {machine()} | {engine.dialect.name} | "
                   f"{info.get('preset', '?')} ({info.get('city', '?')}) | {scope.role} | "
                   f"{min(times):.1f} | **{statistics.median(times):.1f}** | {max(times):.1f} |")
            print(row, " <-", redact(url))
            rows.append(row)
    record(rows)


def record(rows: list[str]) -> None:
    record_section(RESULTS, HEADING, (
                 "One refresh = city meta, district shapes, per-district metrics and KPIs, "
                 "from rollups and\nthe flagged-person index (never raw scans). "
                 "Milliseconds over repeated runs, warm.\n\n"
                 "| date | machine | database | city | scope | min ms | median ms | max ms |\n"
                 "| --- | --- | --- | --- | --- | --- | --- | --- |\n"), rows)


if __name__ == "__main__":
    main()
