"""The testing page's reads at the city preset: a district's overview (every community), one
community's buildings, the volunteer-pass check and the arrivals × hotels list, plus today's
sampling-site throughput; and, for comparison, the same overview computed from the tests table
(what persons.last_test_at and its covering index replace).

    python bench/bench_testing.py DATABASE_URL [--prepare]

--prepare brings a database built before issue 8 up to the schema (init_db: persons.last_test_at,
the covering index, the tests (sampled_at, site) index) and fills last_test_at from the tests
table; run it on a copy when the database must stay as it is.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from bench.source_stamp import source_stamp
from placecode.auth.policy import Viewer
from placecode.db import schema as t
from placecode.db.engine import get_engine, init_db
from placecode.testing.progress import refresh_last_tests
from queries import testing as q

CITY = Viewer("city_commander")
WHO = {"username": "bench"}


def timed(fn, repeats: int = 5) -> tuple[float, float, object]:
    """Median and max milliseconds of `repeats` calls after one warm-up, and the last result."""
    out = fn()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times), out


def from_tests(engine, district: int, now: datetime):
    """The overview the slow way: each resident's latest test read from the tests table."""
    p, ts = t.persons.c, t.tests.c
    latest = (select(ts.person_id, func.max(ts.sampled_at).label("last"))
              .where(ts.sampled_at >= now - timedelta(hours=48)).group_by(ts.person_id)
              .subquery())
    with engine.connect() as conn:
        return conn.execute(
            select(p.community_id, func.count(), func.count(latest.c.last))
            .select_from(t.persons.outerjoin(latest, latest.c.person_id == p.id))
            .where(p.district_id == district).group_by(p.community_id)).all()


def main(url: str, prepare: bool) -> None:
    engine = get_engine(url)
    if prepare:
        began = time.perf_counter()
        init_db(engine)
        with engine.begin() as conn:
            refresh_last_tests(conn)
            if engine.dialect.name == "postgresql":
                conn.execute(text("ANALYZE persons"))
                conn.execute(text("ANALYZE tests"))
            else:
                conn.execute(text("ANALYZE"))
        print(f"prepared (columns, indexes, last_test_at filled) in "
              f"{time.perf_counter() - began:.1f} s")
    with engine.connect() as conn:
        now = datetime.fromisoformat(conn.execute(select(t.meta.c.value)
                                                  .where(t.meta.c.key == "now")).scalar())
        sizes = {name: conn.execute(select(func.count()).select_from(getattr(t, name))).scalar()
                 for name in ("persons", "tests", "volunteer_passes", "arrivals",
                              "sampling_sites")}
    print(f"{engine.dialect.name}; now {now}; source {source_stamp()}; {sizes}")
    districts = q.district_options(engine, CITY)["district_id"].tolist()
    rows = []
    for district in districts:
        ms, top, frame = timed(lambda d=district: q.district_progress(engine, CITY, d, now))
        rows.append((f"district overview {district} ({int(frame['residents'].sum()):,} "
                     f"residents, {len(frame)} communities)", ms, top))
    biggest = max(districts, key=lambda d: int(q.district_progress(engine, CITY, d, now)
                                                ["residents"].sum()))
    overview = q.district_progress(engine, CITY, biggest, now)
    community = int(overview.sort_values("residents").iloc[-1]["community_id"])
    ms, top, (_, buildings) = timed(lambda: q.community_buildings(engine, CITY, community, now))
    rows.append((f"one community's buildings ({len(buildings)} buildings, "
                 f"{int(buildings['residents'].sum()):,} residents)", ms, top))
    ms, top, check = timed(lambda: q.check_passes(engine, CITY, None, now, 48, audit=False,
                                                  **WHO))
    rows.append((f"pass check, city ({check.holders:,} passes, {len(check.passes):,} at fault, "
                 f"{len(check.shared)} shared pairs)", ms, top))
    ms, top, check = timed(lambda: q.check_passes(engine, CITY, biggest, now, 48, audit=False,
                                                  **WHO))
    rows.append((f"pass check, district {biggest} ({check.holders:,} passes)", ms, top))
    ms, top, (_, arrivals) = timed(lambda: q.arrivals_hotels(engine, CITY, None, now,
                                                             audit=False, **WHO))
    rows.append((f"arrivals × hotels, city ({len(arrivals):,} arrivals, "
                 f"{int(arrivals['flagged'].sum()):,} flagged)", ms, top))
    ms, top, (_, arrivals) = timed(lambda: q.arrivals_hotels(engine, CITY, biggest, now,
                                                             audit=False, **WHO))
    rows.append((f"arrivals × hotels, district {biggest} ({len(arrivals):,})", ms, top))
    ms, top, sites = timed(lambda: q.site_throughput(engine, CITY, biggest, now))
    rows.append((f"sampling sites, district {biggest} ({len(sites)} sites)", ms, top))
    ms, top, _ = timed(lambda: from_tests(engine, biggest, now), repeats=3)
    rows.append((f"for comparison: overview {biggest} from the tests table (48 h only)", ms,
                 top))
    for label, ms, top in rows:
        print(f"| {label} | {ms:,.0f} ms ({top:,.0f}) |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], "--prepare" in sys.argv[2:])
