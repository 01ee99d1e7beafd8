"""The key flows against `placecode serve --workers 2` on PostgreSQL, and a scan_id sent many
times at once through several workers on both databases.

Every request may land on another gunicorn process: whatever a page needs across requests (the
trace map, the login, the re-evaluation lock, a scan_id's uniqueness) must live where every
worker sees it. The wall, trace and dispatch tests are the same as on the one-process server;
here `server` is the multi-worker one.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, select

from placecode.auth.tokens import issue_token
from placecode.db import schema as t
from tests.browser.conftest import Server, add_test_users, start_server, stop_server
from tests.browser.test_dispatch import (  # noqa: F401  (collected here, on this server)
    receiver,
    test_dispatch_runs_a_red_scan_to_a_closed_pickup,
)
from tests.browser.test_trace import (  # noqa: F401
    case,
    test_trace_shows_the_engines_contacts_and_plays_back,
    trace_by_id,
)
from tests.browser.test_wall import test_wall_draws_every_venue_and_shows_true_kpis  # noqa: F401
from tests.conftest import build_small, demo_now


def _workers_server(tmp_path_factory, request, db_url: str | None, workers: int) -> Server:
    instance = tmp_path_factory.mktemp(f"workers{workers}")
    url = db_url or f"sqlite:///{instance / 'city.db'}"
    db = build_small(url, instance, demo_now())
    add_test_users(db)
    address, proc, log = start_server(instance, db.url, workers=workers)
    request.addfinalizer(lambda: stop_server(proc, log))
    return Server(address, db)


@pytest.fixture(scope="module")
def server(tmp_path_factory, request, pg_server) -> Server:
    """The small demo city on PostgreSQL behind two gunicorn workers."""
    return _workers_server(tmp_path_factory, request, pg_server.create_database(), 2)


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory, request) -> Server:
    """The small demo city on SQLite behind four gunicorn workers."""
    return _workers_server(tmp_path_factory, request, None, 4)


def _fresh_get(url: str, cookies: list[dict]) -> tuple[int, bytes]:
    """A GET on a new connection (so gunicorn may hand it to any worker)."""
    jar = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    request = urllib.request.Request(url, headers={"Cookie": jar, "Connection": "close"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_trace_map_is_served_by_every_worker(page, server, case):  # noqa: F811
    """The trace's map is computed on one worker and fetched again, on new connections, as a
    wall or a second screen would: per-process caches answered 404 on the other worker."""
    maps: list[str] = []
    page.on("request", lambda r: maps.append(r.url) if "/trace-data/" in r.url else None)
    trace_by_id(page, server, case["raw"])
    page.wait_for_function("window.placecodeMaps?.state('trace-map')?.trips === 1",
                           timeout=30_000)
    assert maps, "the page fetched no trace map"
    cookies = page.context.cookies()
    answers = [_fresh_get(maps[-1], cookies) for _ in range(12)]
    assert [status for status, _ in answers] == [200] * 12
    assert len({body for _, body in answers}) == 1  # the same trace, whichever worker


def _post_scan(url: str, token: str, scan: dict) -> tuple[int, dict]:
    body = json.dumps(scan).encode()
    for _ in range(20):  # a 503 says retry (the database was busy): a device would
        request = urllib.request.Request(url + "/api/v1/scans", body, {
            "Authorization": f"Bearer {token}", "Content-Type": "application/json",
            "Connection": "close"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code != 503:
                return exc.code, json.loads(exc.read())
    return 503, {}


@pytest.mark.parametrize("backend", ["postgresql-2-workers", "sqlite-4-workers"])
def test_a_scan_id_sent_twenty_times_at_once_is_stored_once(request, backend):
    """Twenty copies of one scan_id, each with another time (a device's clock corrected
    between retries), at the same moment: one is stored, the rest are told the scan_id names
    another scan. Without a lock across processes, each worker's check found nothing yet and
    several copies were stored."""
    target: Server = request.getfixturevalue(
        "server" if backend.startswith("postgresql") else "sqlite_server")
    engine = target.db.engine
    with engine.begin() as conn:
        token = issue_token(conn, "device", "burst", None, datetime.now())[1]
        code = conn.execute(select(t.venues.c.code).limit(1)).scalar()
    people = pd.read_parquet(target.db.instance / "demo-people.parquet")
    now = datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=2)
    scan_id = f"burst-{backend}-{now:%H%M%S%f}"
    answers: list[tuple[int, dict]] = []
    start = threading.Barrier(20)

    def send(i: int) -> None:
        scan = {"scan_id": scan_id, "venue_code": code, "person": people["id_number"].iloc[0],
                "ts": (now - timedelta(seconds=i)).isoformat(timespec="seconds")}
        start.wait()
        answers.append(_post_scan(target.url, token, scan))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(t.scans)
                              .where(t.scans.c.scan_id == scan_id)).scalar()
    assert stored == 1
    assert sorted(status for status, _ in answers) == [200] + [409] * 19, answers
