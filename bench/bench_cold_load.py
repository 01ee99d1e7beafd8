"""A page's cold load in headless Chromium: bytes over the wire (as compressed on the wire) and
the time until the network is idle, for pages a user opens first thing in the morning.

    python bench/bench_cold_load.py --url http://127.0.0.1:8050 --user NAME --password PW \
        [--path /trace --path / ...] [--runs 3]

Logs in once, then opens each path in a fresh browser context with that login (nothing cached).
Prints one Markdown row per path: median MB and seconds over the runs, and the largest files.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("PLACECODE_CHROMIUM", "/usr/bin/chromium")


def one_load(browser, state: dict, url: str) -> tuple[float, float, list[tuple[int, str]]]:
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, storage_state=state)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    names, sizes = {}, {}
    cdp.on("Network.responseReceived",
           lambda e: names.__setitem__(e["requestId"], e["response"]["url"]))
    cdp.on("Network.loadingFinished",
           lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    started = time.perf_counter()
    page.goto(url, wait_until="networkidle", timeout=120_000)
    seconds = time.perf_counter() - started
    context.close()
    files = sorted(((n, names.get(k, "?")) for k, n in sizes.items()), reverse=True)
    return sum(sizes.values()) / 1e6, seconds, files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--path", action="append", default=None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        login = browser.new_context()
        page = login.new_page()
        page.goto(args.url + "/login")
        page.fill("#username", args.user)
        page.fill("#password", args.password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda u: "/login" not in u)
        state = login.storage_state()
        login.close()
        print("| path | MB over the wire | s to network idle | largest files |")
        print("| --- | ---: | ---: | --- |")
        for path in args.path or ["/trace"]:
            runs = [one_load(browser, state, args.url + path) for _ in range(args.runs)]
            top = ", ".join(f"{name.split('/')[-1].split('?')[0][:28]} {size / 1e6:.2f}"
                            for size, name in runs[-1][2][:3])
            print(f"| {path} | {statistics.median(r[0] for r in runs):.2f} | "
                  f"{statistics.median(r[1] for r in runs):.2f} | {top} |")
        browser.close()


if __name__ == "__main__":
    main()
