"""The deny list partners poll and the dispatch board's reads at the city preset: how long a full
and an incremental pull take (each pull first brings the list in step with person_status), and
the board's queries. Adds the demo units to a database that has none.

    python bench/bench_dispatch.py DATABASE_URL
"""
import statistics
import sys
import time
from datetime import datetime

import numpy as np
from sqlalchemy import func, select

from placecode.auth.scope import Scope
from placecode.db import schema as t
from placecode.db.engine import get_engine, init_db
from placecode.demo.units import make_units
from placecode.dispatch import denylist as deny
from queries import dispatch as q

e = get_engine(sys.argv[1])
init_db(e)
now = datetime(2026, 11, 23, 21, 0)
with e.begin() as conn:
    if not conn.execute(select(func.count()).select_from(t.units)).scalar():
        print("units, staff", make_units(conn, now, np.random.default_rng(1)))
    red = conn.execute(select(func.count()).select_from(t.person_status).where(t.person_status.c.verdict == "red")).scalar()
print("red persons", red)
for label in ("first pull (list built)", "pull, nothing changed", "pull, nothing changed"):
    t0 = time.perf_counter()
    with e.begin() as conn:
        deny.sync(conn, now)
        f = deny.changes(conn, None)
    print(f"{label}: {len(f)} entries, {(time.perf_counter()-t0)*1000:.0f} ms")
t0 = time.perf_counter()
with e.begin() as conn:
    deny.sync(conn, now)
    seq = conn.execute(select(func.max(t.denylist.c.seq))).scalar()
    f = deny.changes(conn, seq)
print(f"incremental pull (?since=last): {len(f)} entries, {(time.perf_counter()-t0)*1000:.0f} ms")
scope = Scope("city_commander")
for name, fn in [("open incidents", lambda: q.open_incidents(e, scope, now)),
                 ("units", lambda: q.units(e, scope)),
                 ("timeline", lambda: q.timeline(e, scope, now.date())),
                 ("wall dispatch panel", lambda: q.wall_summary(e, scope, now))]:
    times = []
    for _ in range(5):
        t0 = time.perf_counter(); r = fn(); times.append((time.perf_counter()-t0)*1000)
    print(f"{name}: median {statistics.median(times):.1f} ms")
