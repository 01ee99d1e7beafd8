"""kill -9 of `placecode serve` in the middle of ingest, then a restart: devices retry what was not
acknowledged (same scan_ids) and every acknowledged scan is stored once, counted once."""

from __future__ import annotations

import time
import uuid

from tests.reliability.conftest import (
    Devices,
    artifact_line,
    assert_rollups_match_scans,
    assert_stored_exactly_once,
    device_token,
    point_webhooks,
    scan_inputs,
)


def test_reliability_kill9_during_ingest_loses_and_duplicates_nothing(city_db, serve_factory):
    engine = city_db.engine
    point_webhooks(engine, None)  # alerts are not this test's subject
    server = serve_factory(city_db.instance, city_db.url)
    server.start()
    venues, people = scan_inputs(engine, city_db.instance)
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
    artifact_line("crash", backend=city_db.backend, scans=len(rows),
                  acked_at_kill=acked_at_kill, restart_s=round(startup_s, 2),
                  kill_to_first_ack_s=round(devices.first_ack_after(killed_at), 2),
                  retried_answers=sum(n > 1 for n in devices.answers.values()),
                  outcomes=dict(devices.outcomes))
