"""Latency of single scans against a served city, e.g. while the demo backfill runs beside it.

    python bench/probe_scan_latency.py URL DEVICE_TOKEN VENUE_CODE [--seconds 60] \
        [--people instance/demo-people.parquet]

One scan every 0.2 s (of a demo person, at the venue), as a phone at a venue door sends them;
prints p50, p99 and max in milliseconds. The token: `placecode issue-token --kind device`.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("venue_code")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--people", default="instance/demo-people.parquet")
    args = parser.parse_args()
    ids = pd.read_parquet(args.people)["id_number"].head(5000).tolist()
    city = timezone(timedelta(hours=8))
    latencies, end = [], time.monotonic() + args.seconds
    while time.monotonic() < end:
        scan = {"scan_id": f"probe-{time.time_ns()}", "venue_code": args.venue_code,
                "person": ids[len(latencies) % len(ids)],
                "ts": datetime.now(city).isoformat(timespec="seconds")}
        request = urllib.request.Request(
            args.url.rstrip("/") + "/api/v1/scans", data=json.dumps([scan]).encode(),
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {args.token}"})
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (local)
            response.read()
        latencies.append((time.perf_counter() - start) * 1000)
        time.sleep(0.2)
    a = np.array(latencies)
    print(f"{len(a)} scans: p50 {np.percentile(a, 50):.0f} ms, p99 {np.percentile(a, 99):.0f} ms, "
          f"max {a.max():.0f} ms, over 1 s: {int((a > 1000).sum())}")


if __name__ == "__main__":
    main()
