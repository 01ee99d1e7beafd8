"""Alert push through the outbox to a real local HTTP receiver: delivered once per receiver, kept
through an outage, and delivered after the receiver comes back."""

from __future__ import annotations

import socket
import threading
import uuid
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from placecode.db import schema as t
from placecode.dispatch.outbox import backoff, deliver_due
from placecode.dispatch.receiver import Receiver
from placecode.ingest.scans import Ingestor
from tests.conftest import SECRET, free_port


@pytest.fixture
def receiver():
    server = Receiver("127.0.0.1", free_port())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def point_webhooks_at(engine, port: int) -> None:
    with engine.begin() as conn:
        for hook in conn.execute(select(t.webhooks)).all():
            path = "/" + hook.url.split("://", 1)[1].split("/", 1)[1]
            conn.execute(update(t.webhooks).where(t.webhooks.c.id == hook.id)
                         .values(url=f"http://127.0.0.1:{port}{path}"))


def make_alerts(city_db, n: int) -> list[int]:
    """n red scans by managed residents through the ingest path; returns their alert ids."""
    engine = city_db.engine
    ingest = Ingestor(engine, SECRET, "Asia/Shanghai", 28)
    with engine.connect() as conn:
        managed = set(conn.execute(select(t.person_status.c.person_id).join(
            t.persons, t.persons.c.id == t.person_status.c.person_id).where(
            t.person_status.c.managed.is_(True), t.persons.c.community_id.is_not(None))).scalars())
    people = pd.read_parquet(city_db.instance / "demo-people.parquet")
    ids = people[people.person_id.isin(managed)]["id_number"].tolist()[:n]
    assert len(ids) == n
    now = ingest.now()
    batch = uuid.uuid4().hex[:12]  # the clock has whole seconds: make scan ids unique per call
    results = ingest.ingest([{"scan_id": f"alert-{batch}-{i}",
                              "venue_code": "371002S000001", "person": who,
                              "ts": now.isoformat() + "+08:00"} for i, who in enumerate(ids)])
    assert all(r["verdict"] == "red" for r in results), results
    with engine.connect() as conn:
        return list(conn.execute(select(t.alerts.c.id).order_by(t.alerts.c.id.desc())
                                 .limit(n)).scalars())


def pending(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.outbox)
                            .where(t.outbox.c.state == "pending")).scalar()


def test_alerts_reach_hq_and_community_exactly_once(city_db, receiver):
    engine = city_db.engine
    point_webhooks_at(engine, receiver.server_address[1])
    alert_ids = make_alerts(city_db, 3)
    clock = Ingestor(engine, SECRET, "Asia/Shanghai", 28).now
    report = deliver_due(engine, clock)
    assert (report.sent, report.failed) == (6, 0)  # 3 alerts x (district HQ, community)
    got = [a for a in receiver.received.values() if a["alert_id"] in alert_ids]
    assert len(got) == 6
    assert sorted(a["path"].split("/")[1] for a in got) == ["community"] * 3 + ["district"] * 3
    assert {a["venue"]["code"] for a in got} == {"371002S000001"}
    assert all(a["reasons"][0]["rule"] == "managed" for a in got)
    # a second worker pass (or a crash and restart) sends nothing again
    assert deliver_due(engine, clock).sent == 0
    # a request repeated on the wire is recognised by its idempotency key
    with engine.begin() as conn:
        conn.execute(update(t.outbox).where(t.outbox.c.alert_id == alert_ids[0])
                     .values(state="pending", next_attempt_at=clock()))
    assert deliver_due(engine, clock).sent == 2
    assert len([a for a in receiver.received.values() if a["alert_id"] in alert_ids]) == 6


def test_receiver_outage_keeps_alerts_until_it_is_back(city_db):
    engine = city_db.engine
    # the receiver is down: its port is held (bound, not listening), so connections are refused
    # and no other process can take it meanwhile
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    port = held.getsockname()[1]
    point_webhooks_at(engine, port)
    alert_ids = make_alerts(city_db, 2)
    base = Ingestor(engine, SECRET, "Asia/Shanghai", 28).now()
    clock = {"now": base}
    for minute in range(10):  # ten minutes of outage, the worker keeps trying
        clock["now"] = base + timedelta(minutes=minute)
        deliver_due(engine, lambda: clock["now"])
    with engine.connect() as conn:
        rows = conn.execute(select(t.outbox.c.attempts, t.outbox.c.last_error, t.outbox.c.state)
                            .where(t.outbox.c.alert_id.in_(alert_ids))).all()
    assert len(rows) == 4 and all(r.state == "pending" and r.attempts >= 5 for r in rows)
    assert all("refused" in r.last_error.lower() for r in rows)
    held.close()
    server = Receiver("127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        clock["now"] = base + timedelta(minutes=10, seconds=backoff(99).seconds)
        assert deliver_due(engine, lambda: clock["now"]).sent >= 4
        got = [a for a in server.received.values() if a["alert_id"] in alert_ids]
        assert len(got) == 4 and server.requests == len(server.received)
    finally:
        server.shutdown()
        server.server_close()


def test_backoff_grows_and_is_capped():
    assert [backoff(n).seconds for n in (1, 2, 3, 4, 10, 50)] == [1, 2, 4, 8, 60, 60]


def test_a_redirect_is_not_a_delivery(city_db):
    """A webhook URL that redirects (e.g. to a login page) stays pending with the reason."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.send_response(302)
            self.send_header("Location", "/login")
            self.end_headers()

        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        point_webhooks_at(city_db.engine, server.server_address[1])
        alert_ids = make_alerts(city_db, 1)
        deliver_due(city_db.engine, Ingestor(city_db.engine, SECRET, "Asia/Shanghai", 28).now)
        with city_db.engine.connect() as conn:
            rows = conn.execute(select(t.outbox.c.state, t.outbox.c.last_error)
                                .where(t.outbox.c.alert_id.in_(alert_ids))).all()
        assert rows and all(r.state == "pending" and "HTTP 302" in r.last_error for r in rows)
    finally:
        server.shutdown()
        server.server_close()
