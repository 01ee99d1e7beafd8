"""The in-place upgrade of a database that placecode made before migrations (no revision, the
schema of revision 0001) to the newest revision: what the first `placecode init-db` / `serve`
after the upgrade does to it. On PostgreSQL that is PostGIS columns and every scan copied into
daily partitions, in one transaction.

    python bench/bench_migrate.py DATABASE_URL

It changes the database for good: run it on a copy (`createdb -T city city_copy`). The time of
each statement over a second is printed too (the steps of revision 0002).
"""

from __future__ import annotations

import sys
import time

from sqlalchemy import event, func, select

from bench.source_stamp import source_stamp
from placecode.db import migrations
from placecode.db import schema as t
from placecode.db.engine import get_engine, init_db, redact
from placecode.db.partitions import scan_partitions


def facts(engine) -> dict:
    with engine.connect() as conn:
        out = {"revision": migrations.current(conn),
               "scans": conn.execute(select(func.count()).select_from(t.scans)).scalar()}
        if engine.dialect.name == "postgresql":
            out["size"] = conn.exec_driver_sql(
                "SELECT pg_size_pretty(pg_database_size(current_database()))").scalar()
            out["partitions"] = len(scan_partitions(conn))
            if out["partitions"]:
                out["in default"] = conn.exec_driver_sql(
                    "SELECT count(*) FROM scans_default").scalar()
    return out


def main(url: str) -> None:
    engine = get_engine(url)
    before = facts(engine)
    print(f"{redact(url)}; source {source_stamp()}; before: {before}")
    slow: list[tuple[float, str]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):
        conn.info["began"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _end(conn, cursor, statement, parameters, context, executemany):
        took = time.perf_counter() - conn.info.pop("began")
        if took > 1:
            slow.append((took, " ".join(statement.split())[:110]))

    began = time.perf_counter()
    init_db(engine)
    total = time.perf_counter() - began
    after = facts(engine)
    print(f"init_db {total:.1f} s; after: {after}")
    for took, statement in slow:
        print(f"  {took:7.1f} s  {statement}")
    if after["scans"] != before["scans"]:
        sys.exit(f"scans before {before['scans']:,} != after {after['scans']:,}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
