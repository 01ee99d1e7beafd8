"""Soak: a wall left open while scans stream in must not grow its memory -> bench/RESULTS.md.

    python bench/soak_wall.py --db URL --instance DIR --user NAME --password PW
        [--minutes 15] [--rate 20] [--refresh 1]

Serves the app with a short refresh period, streams live scans through the real scan API
(`placecode simulate`), keeps the wall open in headless Chromium, and samples the page's JS heap
after a forced garbage collection each minute. One refresh per second for 15 minutes is 900
updates, what a wall at the default 15 s refresh goes through in 3¾ hours; a heap that grows per
update shows as a slope. Adds the simulated scans to the database it is pointed at.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

from bench_demo_build import machine, record_section
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import free_port  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Wall soak: memory of a wall left open (`bench/soak_wall.py`)"
PREAMBLE = """A wall page open in headless Chromium (1920×1080) against `placecode serve`,
refreshing every second, while `placecode simulate` streams scans through the scan API. JS heap
after a forced GC (CDP `HeapProfiler.collectGarbage`, `Runtime.getHeapUsage`), first and last
minute, and the wall's own update count (venue-number deltas applied).

""" + "| date | machine | database | run | JS heap first | JS heap last | peak | updates applied " \
    "| scans added on the map |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"


def run(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--minutes", type=float, default=15)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--refresh", type=int, default=1)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PLACECODE_INSTANCE_DIR": args.instance,
           "PLACECODE_WALL_REFRESH_SECONDS": str(args.refresh)}
    logs = Path(tempfile.mkdtemp(prefix="soak-"))
    python = sys.executable
    server = run([python, "-m", "placecode.cli", "serve", "--db", args.db, "--port", str(port),
                  "--no-worker"], env, logs / "serve.log")
    simulator = None
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        simulator = run([python, "-m", "placecode.cli", "simulate", "--db", args.db, "--rate",
                         str(args.rate), "--flat", "--quiet", "--url", url + "/api/v1/scans"],
                        env, logs / "simulate.log")
        samples = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(url + "/login")
            page.fill("#username", args.user)
            page.fill("#password", args.password)
            page.click("button[type=submit]")
            page.wait_for_function("window.placecodeWall?.state().firstDrawMs > 0",
                                   timeout=60_000)
            cdp = page.context.new_cdp_session(page)
            start = time.time()
            while True:
                cdp.send("HeapProfiler.collectGarbage")
                heap = cdp.send("Runtime.getHeapUsage")["usedSize"] / 2**20
                st = page.evaluate("window.placecodeWall.state()")
                minute = (time.time() - start) / 60
                samples.append((minute, heap, st["updates"], st["scansShown"]))
                print(f"{minute:5.1f} min  heap {heap:6.1f} MiB  updates {st['updates']}  "
                      f"scans shown {st['scansShown']:,}", flush=True)
                if minute >= args.minutes:
                    break
                time.sleep(60)
            browser.close()
    finally:
        for proc in (simulator, server):
            if proc is not None:
                proc.terminate()
                proc.wait(15)
    first, last = samples[0], samples[-1]
    row = (f"| {date.today()} | {machine()} | {args.db.split(':')[0]} | {last[0]:.0f} min, "
           f"refresh {args.refresh} s, {args.rate:g} scans/s | {first[1]:.1f} MiB | "
           f"{last[1]:.1f} MiB | max {max(s[1] for s in samples):.1f} MiB | "
           f"{last[2] - first[2]} | {last[3] - first[3]:,} |")
    print(row)
    if not args.no_record:
        record_section(RESULTS, HEADING, PREAMBLE, [row])


if __name__ == "__main__":
    main()
