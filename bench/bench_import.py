"""Benchmark: feed import speed (`placecode import`) -> bench/RESULTS.md.

    python bench/bench_import.py --instance DIR --db URL [--rows 500000] [--kinds scans tests]
                                 [--profile] [--no-record]

DIR and URL must hold a built demo city (DIR has demo-people.parquet and the instance secret, so
the rows name real residents). For each kind it writes a CSV of --rows test rows into DIR (scans:
new scan_ids at registered venues within the last 2 days; tests: nucleic/antigen, mostly
negative, sampled within the last 2 days, one row per person, time and kind), imports it with
`placecode.ingest.feeds.import_file`, then imports the same file again, which must add no row.
rows/s is the importer's own figure (report.rows_per_s: validation, pseudonymisation, load,
rollups/status; not the CSV read), "wall" adds reading the file. With --profile a further file
of the same size is imported under cProfile and the top functions are printed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from bench_demo_build import machine, record_section
from source_stamp import source_stamp
from sqlalchemy import func, select, text

from placecode.clock import city_now
from placecode.db import schema as t
from placecode.db.engine import get_engine, redact
from placecode.ingest import feeds
from placecode.ingest.feeds import import_file
from placecode.settings import Settings

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Feed import (`bench/bench_import.py`)"
TWO_DAYS = 2 * 86_400


def iso(now: datetime, seconds_ago: np.ndarray) -> np.ndarray:
    """ISO 8601 texts with the +08:00 offset (the city's), `seconds_ago` before `now`."""
    stamps = np.datetime64(now, "s") - seconds_ago.astype("timedelta64[s]")
    return np.char.add(np.datetime_as_string(stamps, unit="s").astype(str), "+08:00")


def scans_csv(path: Path, n: int, tag: str, people: np.ndarray, venues: np.ndarray,
              now: datetime, rng: np.random.Generator) -> None:
    frame = pd.DataFrame({
        "scan_id": np.char.add(f"{tag}-", np.arange(n).astype(str)),
        "venue_code": venues[rng.integers(0, len(venues), n)],
        "person": people[rng.integers(0, len(people), n)],
        "ts": iso(now, rng.integers(60, TWO_DAYS, n)),
        "temperature_c": np.round(rng.normal(36.5, 0.25, n).clip(35.5, 37.9), 1),
        "mask": np.where(rng.random(n) < 0.97, "true", "false"),
        "credential": rng.choice(["app", "id_card", "social_security_card", "face"], n,
                                 p=[0.85, 0.1, 0.03, 0.02]),
    })
    frame.to_csv(path, index=False)


def tests_csv(path: Path, n: int, people: np.ndarray, now: datetime,
              rng: np.random.Generator) -> None:
    frame = pd.DataFrame({
        "person": people[rng.integers(0, len(people), n * 2)],
        "kind": rng.choice(["nucleic", "antigen"], n * 2, p=[0.8, 0.2]),
        "sampled_at": iso(now, rng.integers(60, TWO_DAYS, n * 2)),
    }).drop_duplicates(["person", "kind", "sampled_at"]).head(n)  # natural key unique
    n = len(frame)
    frame["result"] = rng.choice(["negative", "positive", "pending"], n, p=[0.985, 0.001, 0.014])
    frame["site"] = np.char.add("S", rng.integers(1, 2000, n).astype(str))
    frame["lab"] = np.char.add("L", rng.integers(1, 40, n).astype(str))
    frame.to_csv(path, index=False)


def table_count(engine, kind: str) -> int:
    table = {"scans": t.scans, "tests": t.tests}[kind]
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def timed_import(engine, kind: str, path: Path, settings: Settings):
    start = time.perf_counter()
    report = import_file(engine, kind, path, secret=settings.secret_key,
                         now=city_now(settings.timezone), timezone=settings.timezone)
    return report, time.perf_counter() - start


def profile_import(engine, kind: str, path: Path, settings: Settings, out: Path) -> str:
    prof = cProfile.Profile()
    prof.enable()
    report = import_file(engine, kind, path, secret=settings.secret_key,
                         now=city_now(settings.timezone), timezone=settings.timezone)
    prof.disable()
    prof.dump_stats(out)
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    buf.write(f"{kind}: {report.rows:,} rows, {report.new:,} new in {report.seconds:.1f} s "
              f"under cProfile\n")
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance", required=True, type=Path)
    parser.add_argument("--db", required=True)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--kinds", nargs="+", default=["scans", "tests"],
                        choices=["scans", "tests"])
    parser.add_argument("--chunk", type=int,
                        help="override placecode.ingest.feeds.CHUNK (rows per transaction, "
                             "default 100,000) for this run; noted in the table")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    if args.chunk:
        feeds.CHUNK = args.chunk
    os.environ["PLACECODE_INSTANCE_DIR"] = str(args.instance)
    os.environ["PLACECODE_DATABASE_URL"] = args.db
    settings = Settings.load()
    engine = get_engine(args.db)
    with engine.connect() as conn:
        venues = np.array([r[0] for r in conn.execute(select(t.venues.c.code))])
        meta = dict(conn.execute(text("select key, value from meta")).all())
    people = pd.read_parquet(args.instance / "demo-people.parquet", columns=["id_number"]
                             )["id_number"].to_numpy().astype(str)
    rng = np.random.default_rng(int(time.time()))
    now = city_now(settings.timezone)
    tag = f"imp{int(time.time())}"
    print(f"{redact(args.db)}: {meta.get('preset')} demo, {len(venues):,} venues, "
          f"{len(people):,} people", flush=True)
    rows, profiles = [], []
    stamp = source_stamp()  # the source this process imported (it may change meanwhile)
    for kind in args.kinds:
        path = args.instance / f"bench-{tag}-{kind}.csv"
        if kind == "scans":
            scans_csv(path, args.rows, f"{tag}-a", people, venues, now, rng)
        else:
            tests_csv(path, args.rows, people, now, rng)
        before = table_count(engine, kind)
        label = kind + (f" (chunk {feeds.CHUNK:,})" if args.chunk else "")
        try:
            first, first_wall = timed_import(engine, kind, path, settings)
        except Exception as exc:  # an app error is a result too: record it, go on
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:160]
            print(f"{kind}: import FAILED: {type(exc).__name__}: {reason}", flush=True)
            rows.append(f"| {date.today()} | {machine()} | {engine.dialect.name} | "
                        f"{meta.get('preset', '?')} | {label} | {args.rows:,} | – | – | "
                        f"**failed**: {type(exc).__name__}: {reason} | – | – | – | – | {stamp} |")
            path.unlink()
            continue
        after = table_count(engine, kind)
        again, again_wall = timed_import(engine, kind, path, settings)
        final = table_count(engine, kind)
        ok = again.new == 0 and final == after
        print(f"{kind}: first {first.rows:,} rows, {first.valid:,} valid, {first.new:,} new, "
              f"{len(first.rejected):,} rejected in {first.seconds:.1f} s "
              f"({first.rows_per_s:,.0f} rows/s; wall {first_wall:.1f} s); table "
              f"{before:,} -> {after:,}", flush=True)
        print(f"{kind}: again {again.rows:,} rows, {again.new:,} new, {len(again.rejected):,} "
              f"rejected in {again.seconds:.1f} s ({again.rows_per_s:,.0f} rows/s; wall "
              f"{again_wall:.1f} s); table {after:,} -> {final:,}: "
              + ("OK, nothing added" if ok else "NOT idempotent"), flush=True)
        if first.rejected:
            print("  first rejects:", first.rejected[:5])
        rows.append(
            f"| {date.today()} | {machine()} | {engine.dialect.name} | {meta.get('preset', '?')} "
            f"| {label} | {first.rows:,} | {first.new:,} | {first.seconds:.1f} | "
            f"**{first.rows_per_s:,.0f}** | {first_wall:.1f} | {again.seconds:.1f} | "
            f"**{again.rows_per_s:,.0f}** | {again.new:,}"
            + ("" if ok else f" (table grew {final - after:,})") + f" | {stamp} |")
        path.unlink()
        for extra in path.parent.glob(path.name + ".rejects.csv"):
            extra.unlink()
        if args.profile:
            ppath = args.instance / f"bench-{tag}-{kind}-profile.csv"
            if kind == "scans":
                scans_csv(ppath, args.rows, f"{tag}-p", people, venues, now, rng)
            else:
                tests_csv(ppath, args.rows, people, now, rng)
            out = args.instance / f"bench-{tag}-{kind}-{engine.dialect.name}.prof"
            report = profile_import(engine, kind, ppath, settings, out)
            print(report, flush=True)
            profiles.append(out)
            ppath.unlink()
    for r in rows:
        print(r)
    if profiles:
        print("profiles:", *profiles)
    if not args.no_record:
        record(rows)


def record(rows: list[str]) -> None:
    record_section(RESULTS, HEADING, (
            "Goal: ≥ 200,000 rows/s for scans and tests on SQLite. `import_file` of a generated "
            "CSV (rows naming real\nresidents of the demo), then the same file again (must add "
            "0 rows). s and rows/s are the importer's\nown (report.seconds: validate, "
            "pseudonymise, load, rollups or status); wall adds reading the CSV.\n\n"
            "| date | machine | database | demo | feed | rows | new | first s | first rows/s | "
            "first wall s | again s | again rows/s | new on again | source |\n"
            + "| --- " * 14 + "|\n"), rows)


if __name__ == "__main__":
    main()
