"""The economy page's server time per view at the city preset: each callback answered by the
real app (Flask test client, logged in as a planner), so the figure includes the rollup reads,
suppression, figures and JSON. Also the CLI export and one day's persons recount.

    python bench/bench_economy.py DATABASE_URL [--days 23]

With --days N (more than the database holds) the rollups are extended backwards, in a scratch
copy of the tables the page reads (districts, sub-districts, venues, rollups) beside the given
database, by repeating the kept weeks: the page reads rollups only, so their row count is what
a longer history changes. The given database is not modified beyond init_db.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select, text

from placecode.auth.policy import Viewer
from placecode.auth.users import create_user
from placecode.db import schema as t
from placecode.db.engine import get_engine, init_db
from placecode.economy.rollups import recount_day
from placecode.settings import Settings
from queries import economy as q

PAGE_TABLES = (t.districts, t.subdistricts, t.venues)
ROLLUPS = (t.rollup_industry_district_day, t.rollup_industry_subdistrict_day,
           t.rollup_industry_district_hour)


def scratch_copy(source, days: int, url: str):
    """The page's tables in a new database at `url`, rollups repeated back to `days` days."""
    target = get_engine(url)
    t.metadata.drop_all(target, tables=[*PAGE_TABLES, *ROLLUPS, t.users, t.audit_log])
    init_db(target)
    with source.connect() as src, target.begin() as dst:
        for table in PAGE_TABLES:
            frame = pd.read_sql(select(table), src)
            dst.execute(table.insert(), frame.to_dict("records"))
        for table in ROLLUPS:
            frame = pd.read_sql(select(table), src)
            when = "hour" if "hour" in table.c else "day"
            frame[when] = pd.to_datetime(frame[when])
            kept = frame[when].dt.normalize().nunique()
            parts, shift = [frame], 0
            while kept * (len(parts)) < days:
                shift += kept
                parts.append(frame.assign(**{when: frame[when] - timedelta(days=shift)}))
            out = pd.concat(parts)
            last = frame[when].max().normalize()
            out = out[out[when] > last - timedelta(days=days)]
            if when == "day":
                out["day"] = out["day"].dt.date
            else:
                out["hour"] = out["hour"].dt.to_pydatetime()
            dst.execute(table.insert(), out.to_dict("records"))
    return target


def callback_body(app, period: str, district: str, kind) -> dict:
    outputs = next(k for k in app.callback_map if "economy-tiles.children" in k)
    return {
        "output": outputs,
        "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1]}
                    for o in outputs.strip(".").split("...")],
        "inputs": [{"id": "shell-lang", "property": "data", "value": "zh"},
                   {"id": "economy-period", "property": "value", "value": period},
                   {"id": "economy-district", "property": "value", "value": district},
                   {"id": "economy-kind", "property": "value", "value": kind}],
        "changedPropIds": ["economy-period.value"], "state": [],
    }


def main(url: str, days: int | None) -> None:
    engine = get_engine(url)
    init_db(engine)
    span = q.data_days(engine)
    print("rollup days in the database:", span)
    work = Path(tempfile.mkdtemp(prefix="economy-bench-"))
    if days:
        scratch = (f"sqlite:///{work / 'economy.db'}" if engine.dialect.name == "sqlite"
                   else url.rsplit("/", 1)[0] + "/economy_bench")
        if engine.dialect.name != "sqlite":
            with get_engine(url.rsplit("/", 1)[0] + "/postgres").connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("DROP DATABASE IF EXISTS economy_bench"))
                conn.execute(text("CREATE DATABASE economy_bench"))
        began = time.perf_counter()
        engine = scratch_copy(engine, days, scratch)
        print(f"scratch copy with {days} days: {time.perf_counter() - began:.0f} s")
        url = scratch
    with engine.connect() as conn:
        for table in ROLLUPS:
            rows = conn.execute(select(func.count()).select_from(table)).scalar()
            print(f"  {table.name}: {rows:,} rows")
    span = q.data_days(engine)
    print("days read by the page:", span, (span[1] - span[0]).days + 1)

    from app import create_app

    settings = Settings.load(database_url=url, instance_dir=str(work))
    with engine.begin() as conn:
        conn.execute(t.users.delete().where(t.users.c.username == "bench-planner"))
        create_user(conn, "bench-planner", "planner", "bench-planner-pass-1")
    app = create_app(settings)
    client = app.server.test_client()
    form = client.get("/login").get_data(as_text=True)  # the form carries the CSRF token
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    client.post("/login", data={"username": "bench-planner", "password": "bench-planner-pass-1",
                                "csrf_token": token})
    csrf = {"X-CSRFToken": client.get_cookie("_csrf_token").value}
    district = str(pd.read_sql(select(t.districts.c.id).limit(1), engine)["id"][0])
    views = [("last 7 days, city", "7", "city", None),
             ("last 28 days, city", "28", "city", None),
             ("everything kept, city", "all", "city", None),
             ("everything kept, one district (sub-district map)", "all", district, None),
             ("everything kept, city, map: hotels", "all", "city", "hotel")]
    for label, period, area, kind in views:
        body = json.dumps(callback_body(app, period, area, kind))
        times = []
        for _ in range(7):
            began = time.perf_counter()
            response = client.post("/_dash-update-component", data=body,
                                   content_type="application/json", headers=csrf)
            times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.data[:300]
        print(f"{label}: median {statistics.median(times):.0f} ms, "
              f"max {max(times):.0f} ms, {len(response.data) / 1024:.0f} KiB")
    body = {"output": "economy-download.data", "outputs": {"id": "economy-download",
                                                            "property": "data"},
            "inputs": [{"id": "economy-csv", "property": "n_clicks", "value": 1},
                       {"id": "economy-parquet", "property": "n_clicks", "value": None}],
            "state": [{"id": "economy-period", "property": "value", "value": "all"},
                      {"id": "economy-district", "property": "value", "value": "city"}],
            "changedPropIds": ["economy-csv.n_clicks"]}
    began = time.perf_counter()
    response = client.post("/_dash-update-component", data=json.dumps(body),
                           content_type="application/json", headers=csrf)
    print(f"download CSV, industry × district × day, everything kept: "
          f"{(time.perf_counter() - began) * 1000:.0f} ms, {len(response.data) / 1024:.0f} KiB")
    cube = q.foot_traffic(engine, Viewer("planner"), ("industry", "subdistrict", "day"),
                          span[0], span[1])
    print(f"cells industry × sub-district × day: {len(cube.frame):,}, "
          f"suppressed {int(cube.frame['hidden'].sum()):,}")


def recount(url: str) -> None:
    engine = get_engine(url)
    last = q.data_days(engine)[1]
    done = recount_day(engine, last - timedelta(days=1))
    print(f"recount of one full day's persons ({done.day}): {done.seconds:.1f} s, "
          f"{done.cells} cells")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--days", type=int)
    parser.add_argument("--recount", action="store_true", help="also time one day's recount")
    args = parser.parse_args()
    main(args.url, args.days)
    if args.recount:
        recount(args.url)
