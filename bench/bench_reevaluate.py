"""Benchmark: re-evaluating every person's status (`placecode reevaluate`) -> bench/RESULTS.md.

    python bench/bench_reevaluate.py --db URL [--db URL ...] [--runs 2] [--profile] [--no-record]

Point it at databases holding a demo city (the goal is about the `city` preset: 2.9M persons).
Each run calls `placecode.rules.status.reevaluate_all(engine, now)` (what a rule change triggers),
which recomputes person_status chunk by chunk; the first run after a build may read cold pages.
With --profile one more run goes under cProfile and its top functions are printed.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from datetime import date
from pathlib import Path

import numpy as np
from bench_demo_build import machine, record_section
from source_stamp import source_stamp
from sqlalchemy import text

from placecode.clock import city_now
from placecode.db.engine import get_engine, redact
from placecode.rules.status import reevaluate_all

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Re-evaluate all persons (`bench/bench_reevaluate.py`)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", nargs="+", required=True)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    rows = []
    stamp = source_stamp()  # the source this process imported (it may change meanwhile)
    for url in args.db:
        engine = get_engine(url)
        with engine.connect() as conn:
            meta = dict(conn.execute(text("select key, value from meta")).all())
        for run in range(1, args.runs + 1):
            now = np.datetime64(city_now(meta.get("timezone", "Asia/Shanghai")), "s")
            start = time.perf_counter()
            result = reevaluate_all(engine, now)
            wall = time.perf_counter() - start
            flagged = ", ".join(f"{k} {v:,}" for k, v in sorted(result.flagged.items()))
            row = (f"| {date.today()} | {machine()} | {engine.dialect.name} | "
                   f"{meta.get('preset', '?')} ({meta.get('city', '?')}) | {run} | "
                   f"{result.persons:,} | **{wall:.1f} s** | {result.persons / wall:,.0f} | "
                   f"{flagged or 'none'} | {stamp} |")
            print(row, " <-", redact(url), flush=True)
            rows.append(row)
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            result = reevaluate_all(engine, np.datetime64(city_now(), "s"))
            prof.disable()
            out = Path(f"/tmp/bench-reevaluate-{engine.dialect.name}.prof")
            prof.dump_stats(out)
            print(f"profiled run: {result.persons:,} persons in {result.seconds:.1f} s ({out})")
            stats = pstats.Stats(prof)
            stats.sort_stats("cumulative").print_stats(35)
            stats.sort_stats("tottime").print_stats(20)
    if not args.no_record:
        record(rows)


def record(rows: list[str]) -> None:
    record_section(RESULTS, HEADING, (
            "Goal: every person of the `city` preset (2.9M) re-evaluated in < 60 s. "
            "`reevaluate_all(engine, now)`:\nfacts per person read in id-range chunks of "
            "250,000, verdicts computed, person_status replaced chunk by\nchunk. Run 1 is the "
            "first after the build (cold pages possible).\n\n"
            "| date | machine | database | city | run | persons | time | persons/s | "
            "not green now | source |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"), rows)


if __name__ == "__main__":
    main()
