"""kill -9 of `placecode serve` in the middle of ingest, then a restart: devices retry what was not
acknowledged (same scan_ids) and every acknowledged scan is stored once, counted once. One process
on each database, and gunicorn with two workers (all its processes killed at once) on PostgreSQL.

(Not gunicorn on SQLite: `serve --workers N` forks its workers from a process whose outbox and
economy threads hold SQLite handles, and a child that inherits SQLite's lock state can wait for a
lock forever; reported with the fix, see bench/RESULTS.md "Reliability".)"""

from __future__ import annotations

import time
import uuid

from tests.conftest import DemoDb, build_small, demo_now
from tests.reliability.conftest import (
    Devices,
    artifact_line,
    assert_rollups_match_scans,
    assert_stored_exactly_once,
    device_token,
    point_webhooks,
    scan_inputs,
)


def crash_and_recover(db: DemoDb, serve_factory, workers: int) -> None:
    engine = db.engine
    point_webhooks(engine, None)  # alerts are not this test's subject
    server = serve_factory(db.instance, db.url, workers=workers)
    server.start()
    venues, people = scan_inputs(engine, db.instance)
    devices = Devices(server.url, device_token(engine), venues, people,
                      tag=f"crash{uuid.uuid4().hex[:8]}")
    devices.start()
    devices.wait_acks(150)
    server.kill9()  # four devices keep a request in flight: the kill lands mid-ingest
    killed_at = time.monotonic()
    acked_at_kill = len(devices.acked)
    devices.wait_outcome("refused")  # the devices see the server gone and keep retrying
    time.sleep(1)
    startup_s = server.start()
    devices.wait_acks(acked_at_kill + 150)
    devices.stop_and_drain()

    rows = assert_stored_exactly_once(engine, devices)
    assert_rollups_match_scans(engine, {ts.date() for ts in rows["ts"]})
    assert server.starts == 2 and devices.outcomes["refused"] > 0
    artifact_line("crash", backend=db.backend, workers=workers, scans=len(rows),
                  acked_at_kill=acked_at_kill, restart_s=round(startup_s, 2),
                  kill_to_first_ack_s=round(devices.first_ack_after(killed_at), 2),
                  retried_answers=sum(n > 1 for n in devices.answers.values()),
                  outcomes=dict(devices.outcomes))


def test_reliability_kill9_during_ingest_loses_and_duplicates_nothing(city_db, serve_factory):
    crash_and_recover(city_db, serve_factory, workers=1)


def test_reliability_kill9_of_gunicorn_workers_on_postgres(pg_server, serve_factory, tmp_path):
    db = build_small(pg_server.create_database(), tmp_path, demo_now())
    crash_and_recover(db, serve_factory, workers=2)
