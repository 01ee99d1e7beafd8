"""PostgreSQL restarted under ingest (its own cluster, not the shared test server): while it is
down the devices get 503 + Retry-After naming the database, never a 500; the server's pool
recovers by itself, and the retried scans are stored once."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.conftest import build_small, demo_now
from tests.reliability.conftest import (
    Devices,
    artifact_line,
    assert_rollups_match_scans,
    assert_stored_exactly_once,
    device_token,
    point_webhooks,
    scan_inputs,
)

DOWN_S = 3


@pytest.mark.parametrize("mode", ["immediate", "fast"])
def test_reliability_postgres_restart_gives_retryable_503_and_loses_nothing(
        private_pg, serve_factory, tmp_path, mode):
    db = build_small(private_pg.create_database(), tmp_path, demo_now())
    point_webhooks(db.engine, None)
    server = serve_factory(tmp_path, db.url)
    server.start()
    venues, people = scan_inputs(db.engine, tmp_path)
    devices = Devices(server.url, device_token(db.engine), venues, people,
                      tag=f"pgre{uuid.uuid4().hex[:8]}")
    devices.start()
    devices.wait_acks(150)
    began = time.monotonic()
    private_pg.stop(mode)  # immediate: a crash (recovery on start); fast: an orderly restart
    down_at = time.monotonic()
    acked_while_up = len(devices.acked)
    devices.wait_outcome("503")
    time.sleep(max(0.0, DOWN_S - (time.monotonic() - down_at)))
    up_began = time.monotonic()
    private_pg.start()
    up_at = time.monotonic()
    devices.wait_acks(acked_while_up + 150, timeout=30)
    devices.stop_and_drain()

    assert server.proc.poll() is None and server.starts == 1, "the server had to be restarted"
    assert set(devices.outcomes) <= {"200", "503", "reset"}, devices.outcomes
    for headers, body in devices.unavailable:
        assert headers.get("Retry-After", "").isdigit(), headers
        message = body["error"]["message"]
        assert "database is unavailable" in message and "retry" in message, body
        assert body["retryable"] is True
    rows = assert_stored_exactly_once(db.engine, devices)
    assert_rollups_match_scans(db.engine, {ts.date() for ts in rows["ts"]})
    artifact_line("postgres-restart", mode=mode, scans=len(rows), stop_s=round(down_at - began, 2),
                  down_s=round(up_at - down_at, 2), start_s=round(up_at - up_began, 2),
                  pg_up_to_first_ack_s=round(devices.first_ack_after(up_at), 2),
                  outcomes=dict(devices.outcomes))
