"""Benchmark: how long `placecode demo` takes per preset and database -> bench/RESULTS.md.

    python bench/bench_demo_build.py [--preset small city] [--db URL ...] [--days 1]

Without --db it builds into a fresh SQLite file. Each --db must point at an empty database (a
full one is rebuilt with --replace, and dropping it would count in the time).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from placecode.clock import DEFAULT_TIMEZONE
from placecode.db.engine import get_engine, redact
from placecode.demo.build import build_demo, parse_now

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem:.0f} GiB, {platform.python_implementation()} " \
           f"{platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", nargs="+", default=["small", "city"])
    parser.add_argument("--db", nargs="*", default=[])
    parser.add_argument("--days", type=int, default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="placecode-bench-"))
    lines = []
    for preset in args.preset:
        for url in args.db or [f"sqlite:///{tmp / f'{preset}.db'}"]:
            engine = get_engine(url)
            # a whole day of scans (the goal's worst case), not today's so-far
            today = parse_now(None, DEFAULT_TIMEZONE).astype("datetime64[D]")
            now = today + np.timedelta64(86_399, "s")
            start = time.perf_counter()
            report = build_demo(engine, preset=preset, days=args.days, now=now, secret="bench",
                                instance=tmp, replace=True, progress=False)
            wall = time.perf_counter() - start
            rows = sum(report.counts.values())
            steps = ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items())
            line = (f"| {date.today()} | {machine()} | {preset} | {engine.dialect.name} | "
                    f"{report.counts['venues']:,} | {report.counts['persons']:,} | "
                    f"{report.counts['scans']:,} | {rows:,} | "
                    f"**{wall:.1f} s** | {rows / wall:,.0f} | {steps} |")
            print(line, f"  <- {redact(url)}")
            lines.append(line)
    record(lines)


def record(rows: list[str]) -> None:
    """Add rows at the end of the demo-build table (notes below it stay below)."""
    text = RESULTS.read_text().splitlines()
    last = max(i for i, line in enumerate(text) if line.startswith("| "))
    RESULTS.write_text("\n".join(text[: last + 1] + rows + text[last + 1:]) + "\n")


def record_section(results: Path, heading: str, preamble: str, rows: list[str]) -> None:
    """Append table rows to the section `heading` of RESULTS.md (notes below the table stay
    below); a missing section is created with `preamble` (its text and table header)."""
    text = results.read_text()
    if heading not in text:
        text = text.rstrip("\n") + f"\n\n{heading}\n\n{preamble}"
    lines = text.rstrip("\n").splitlines()
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    last = max(i for i in range(start, end) if lines[i].startswith("| "))
    results.write_text("\n".join(lines[: last + 1] + rows + lines[last + 1:]) + "\n")


if __name__ == "__main__":
    main()
