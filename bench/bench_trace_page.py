"""The trace page with a heavy index person in headless Chromium: how long a duty officer waits
for the numbers, the playback map and the contact graph (issue 6: "graph render of the heavy
case in headless Chromium"), and how many bytes the page pulled.

    python bench/bench_trace_page.py --db URL --instance DIR --user NAME --password PW \
        --person KEY [--runs 3]

Starts `placecode serve --no-worker` on a free port and stops it at the end. Timings are taken
in the page (performance.now() from navigation start): the KPI numbers drawn, the map's trails
drawn, the graph's WebGL plot drawn, the first block of the contact list shown.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = os.environ.get("PLACECODE_CHROMIUM", "/usr/bin/chromium")
MARKS = {
    "numbers": "document.querySelector(\"[id*='trace-kpi'][id*='close']\")",
    "map": "window.placecodeMaps && window.placecodeMaps.state('trace-map')"
           " && window.placecodeMaps.state('trace-map').frames > 0",
    "graph": "document.querySelector('#trace-graph .gl-container canvas')"
             " && document.querySelector('#trace-graph .scatterlayer, #trace-graph .gl-canvas')",
    "list": "document.querySelector('#trace-contacts .ag-row')",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(db: str, instance: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = os.environ | {"PLACECODE_INSTANCE_DIR": str(instance), "PLACECODE_DATABASE_URL": db}
    proc = subprocess.Popen([sys.executable, "-m", "placecode.cli", "serve", "--db", db,
                             "--port", str(port), "--no-worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    raise SystemExit("placecode serve did not start")


def one_run(browser, url: str, args) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    got = {"bytes": 0}
    page.on("response", lambda r: got.__setitem__(
        "bytes", got["bytes"] + int(r.headers.get("content-length") or 0)))
    page.goto(url + "/login")
    page.fill("#username", args.user)
    page.fill("#password", args.password)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")  # logged in: the wall; leave it before it loads its layer
    page.goto("about:blank")
    page.wait_for_timeout(2000)
    page.goto(f"{url}/trace?person={args.person}&days={args.days}")
    out = {}
    for name, condition in MARKS.items():
        page.wait_for_function(f"!!({condition})", timeout=args.timeout * 1000)
        out[name] = page.evaluate("performance.now()")
    # the trace callback is the biggest Dash response: its round trip, and drawing after it
    start, end = page.evaluate("""performance.getEntriesByType('resource')
        .filter(e => e.name.includes('_dash-update-component'))
        .sort((a, b) => b.encodedBodySize - a.encodedBodySize)
        .map(e => [e.startTime, e.responseEnd])[0]""")
    out["trace callback (round trip)"] = end - start
    out["graph drawn after the response"] = out["graph"] - end
    out["contacts"] = page.inner_text("[id*='trace-kpi'][id*='secondary']")
    out["close"] = page.inner_text("[id*='trace-kpi'][id*='close']")
    out["mb"] = got["bytes"] / 1e6
    context.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("db", "instance", "user", "password", "person"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=int, default=120)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    proc, url = serve(args.db, Path(args.instance))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM,
                                        args=["--no-sandbox", "--disable-gpu"])
            runs = [one_run(browser, url, args) for _ in range(args.runs)]
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
    print(f"index person: {runs[0]['close']} close, {runs[0]['contacts']} secondary; "
          f"{args.runs} runs, ms from navigation (median, min-max)")
    print("| from navigation to | median ms | range ms |\n|---|---:|---:|")
    for name in [*MARKS, "trace callback (round trip)", "graph drawn after the response"]:
        values = [r[name] for r in runs]
        print(f"| {name} | {statistics.median(values):,.0f} | "
              f"{min(values):,.0f}–{max(values):,.0f} |")
    mb = statistics.median(r["mb"] for r in runs)
    print(f"| bytes received (MB, by Content-Length) | {mb:.1f} | |")


if __name__ == "__main__":
    main()
