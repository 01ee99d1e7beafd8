"""`placecode simulate --rate N`: live scans for the demo city, through the real scan API.

Persons are the demo's (their synthetic ID numbers from instance/demo-people.parquet, so the
API pseudonymises them like any device's); venues are weighted by their recorded popularity,
most visits stay in the person's district, the rate follows the time-of-day profile, and a small
share of visits come from flagged persons so that the wall and the alerts move.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from placecode.db import schema as t
from placecode.demo.activity import HOME_DISTRICT_SHARE, minute_profile

TICK_S = 0.2
RISKY_SHARE = 0.01


@dataclass
class Totals:
    sent: int = 0
    verdicts: dict | None = None
    errors: int = 0


class CityModel:
    """Who goes where, drawn from the demo city."""

    def __init__(self, engine: Engine, people: pd.DataFrame, seed: int = 11):
        self.rng = np.random.default_rng(seed)
        v, r = t.venues, t.rollup_venue_day
        with engine.connect() as conn:
            venues = pd.DataFrame(conn.execute(
                select(v.c.code, v.c.district_id, func.coalesce(func.sum(r.c.scans), 0) + 1)
                .select_from(v.outerjoin(r, r.c.venue_id == v.c.id))
                .group_by(v.c.id, v.c.code, v.c.district_id)).all(),
                columns=["code", "district_id", "weight"])
            flagged = set(conn.execute(select(t.person_status.c.person_id)
                                       .where(t.person_status.c.verdict != "green")).scalars())
        if venues.empty or people.empty:
            raise ValueError("the demo city has no venues or persons: run `placecode demo`")
        self.codes = venues["code"].to_numpy()
        self.city_cdf = np.cumsum(venues["weight"].to_numpy(float))
        self.by_district = {d: (g.index.to_numpy(), np.cumsum(g["weight"].to_numpy(float)))
                            for d, g in venues.groupby("district_id")}
        risky = people["person_id"].isin(flagged).to_numpy()
        self.ids = people["id_number"].to_numpy()
        self.district = people["district_id"].to_numpy()
        self.risky = np.flatnonzero(risky)
        self.ordinary = np.flatnonzero(~risky)
        self.profile = minute_profile()

    def draw(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(ID numbers, venue codes) for n scans."""
        pick = self.rng.choice(self.ordinary, n)
        risky = self.rng.random(n) < RISKY_SHARE
        if len(self.risky) and risky.any():
            pick[risky] = self.rng.choice(self.risky, int(risky.sum()))
        venue = np.searchsorted(self.city_cdf, self.rng.random(n) * self.city_cdf[-1])
        local = self.rng.random(n) < HOME_DISTRICT_SHARE
        for i in np.flatnonzero(local):
            rows, cdf = self.by_district.get(self.district[pick[i]], (None, None))
            if rows is not None:
                venue[i] = rows[np.searchsorted(cdf, self.rng.random() * cdf[-1])]
        return self.ids[pick], self.codes[np.minimum(venue, len(self.codes) - 1)]

    def rate_factor(self, minute: int) -> float:
        """Now's share of the day's scans against an even spread (0.1 at night, ~3 at peaks)."""
        return float(max(0.1, self.profile[minute] * len(self.profile)))


def post(url: str, token: str, scans: list[dict], timeout: float = 10) -> list[dict]:
    request = urllib.request.Request(url, data=json.dumps(scans).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (local)
        return json.loads(response.read())["results"]


def run(model: CityModel, url: str, token: str, rate: float, tz: str,
        duration_s: float | None = None, follow_rhythm: bool = True, quiet: bool = False
        ) -> Totals:
    """Send scans at `rate` per second (times the time-of-day factor) until stopped."""
    totals = Totals(verdicts={"green": 0, "yellow": 0, "red": 0})
    zone, start, carry, seq = ZoneInfo(tz), time.monotonic(), 0.0, 0
    run_id = f"sim-{int(time.time())}"
    last_report = start
    while duration_s is None or time.monotonic() - start < duration_s:
        tick = time.monotonic()
        now = datetime.now(zone)
        factor = model.rate_factor(now.hour * 60 + now.minute) if follow_rhythm else 1.0
        carry += rate * factor * TICK_S
        n, carry = int(carry), carry - int(carry)
        if n:
            ids, codes = model.draw(n)
            temps = np.round(model.rng.normal(36.5, 0.3, n), 1)
            masks = model.rng.random(n) < 0.985
            scans = [{"scan_id": f"{run_id}-{seq + i}", "venue_code": str(c), "person": str(p),
                      "ts": now.isoformat(timespec="seconds"), "temperature_c": float(tc),
                      "mask": bool(m), "credential": "app"}
                     for i, (p, c, tc, m) in enumerate(zip(ids, codes, temps, masks, strict=True))]
            seq += n
            try:
                for r in post(url, token, scans):
                    if "verdict" in r:
                        totals.verdicts[r["verdict"]] += 1
                    else:
                        totals.errors += 1
                totals.sent += n
            except (OSError, urllib.error.URLError, ValueError) as exc:
                totals.errors += n
                if not quiet:
                    print(f"simulate: {getattr(exc, 'reason', exc)}; retrying", file=sys.stderr)
                time.sleep(1)
        if not quiet and time.monotonic() - last_report >= 10:
            last_report = time.monotonic()
            print(f"simulate: {totals.sent:,} scans sent  {totals.verdicts}  "
                  f"errors {totals.errors}", flush=True)
        time.sleep(max(0.0, TICK_S - (time.monotonic() - tick)))
    return totals
