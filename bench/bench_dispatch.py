"""The deny list partners poll and the dispatch board's reads at the city preset: how long a full
and an incremental pull take (each pull first brings the list in step with person_status), and
the board's queries. Adds the demo units to a database that has none.

    python bench/bench_dispatch.py DATABASE_URL
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime

import numpy as np
from sqlalchemy import func, select

from placecode.auth.policy import Viewer
from placecode.db import schema as t
from placecode.db.engine import get_engine, init_db
from placecode.demo.units import make_units
from placecode.dispatch import denylist as deny
from queries import dispatch as q

NOW = datetime(2026, 11, 23, 21, 0)


def pull(engine, since: int | None) -> tuple[int, float]:
    began = time.perf_counter()
    with engine.begin() as conn:
        deny.sync(conn, NOW)
        found = deny.changes(conn, since)
    return len(found), (time.perf_counter() - began) * 1000


def median_ms(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main(url: str) -> None:
    engine = get_engine(url)
    init_db(engine)
    with engine.begin() as conn:
        if not conn.execute(select(func.count()).select_from(t.units)).scalar():
            print("units, staff added:", make_units(conn, NOW, np.random.default_rng(1)))
        red = conn.execute(select(func.count()).select_from(t.person_status)
                           .where(t.person_status.c.verdict == "red")).scalar()
    print("red persons", red)
    for label in ("first pull (list built)", "pull, nothing changed", "pull, nothing changed"):
        n, ms = pull(engine, None)
        print(f"{label}: {n} entries, {ms:.0f} ms")
    with engine.connect() as conn:
        last = conn.execute(select(func.max(t.denylist.c.seq))).scalar()
    n, ms = pull(engine, last)
    print(f"incremental pull (?since=last): {n} entries, {ms:.0f} ms")
    scope = Viewer("city_commander")
    for name, fn in [("open incidents", lambda: q.open_incidents(engine, scope, NOW)),
                     ("units", lambda: q.units(engine, scope)),
                     ("timeline", lambda: q.timeline(engine, scope, NOW.date())),
                     ("wall dispatch panel", lambda: q.wall_summary(engine, scope, NOW))]:
        print(f"{name}: median {median_ms(fn):.1f} ms")


if __name__ == "__main__":
    main(sys.argv[1])
