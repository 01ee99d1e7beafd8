"""The webhook receiver down for a while (`placecode receiver` killed, later started again on the
same port) while alerts are raised through the scan API: the outbox of the real `placecode serve`
keeps them and retries, and afterwards each alert reaches each receiver exactly once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, update

from placecode.db import schema as t
from placecode.dispatch.outbox import deliver_due
from placecode.dispatch.receiver import Receiver
from placecode.ingest.scans import Ingestor
from tests.conftest import SECRET, free_port
from tests.reliability.conftest import (
    TZ,
    artifact_line,
    device_token,
    point_webhooks,
    scan_inputs,
)

OUTAGE_S = 6


class ReceiverProcess:
    """`placecode receiver` on `port`, its output appended to `log`."""

    def __init__(self, port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        with open(log, "a") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "placecode.cli", "receiver",
                                          "--port", str(port)], stdout=out,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.state()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"placecode receiver did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.1)

    def state(self) -> dict:
        with urllib.request.urlopen(self.url + "/", timeout=2) as response:
            return json.loads(response.read())

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


def managed_people(db) -> list[str]:
    """ID numbers of managed residents with a home community: each scan of theirs is an alert
    pushed to the district HQ and to the community."""
    with db.engine.connect() as conn:
        managed = set(conn.execute(select(t.person_status.c.person_id).join(
            t.persons, t.persons.c.id == t.person_status.c.person_id).where(
            t.person_status.c.managed.is_(True), t.persons.c.community_id.is_not(None)))
            .scalars())
    people = pd.read_parquet(db.instance / "demo-people.parquet")
    return people[people.person_id.isin(managed)]["id_number"].astype(str).tolist()


def outbox(engine, scan_ids: list[str]) -> pd.DataFrame:
    o, a, sc = t.outbox, t.alerts, t.scans
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(
            select(sc.c.scan_id, o.c.alert_id, o.c.receiver, o.c.idempotency_key, o.c.state,
                   o.c.attempts, o.c.last_error)
            .join(a, a.c.id == o.c.alert_id).join(sc, sc.c.id == a.c.scan_id)
            .where(sc.c.scan_id.in_(scan_ids))).all(),
            columns=["scan_id", "alert_id", "receiver", "key", "state", "attempts", "last_error"])


def wait_for(predicate, timeout: float, what: str) -> float:
    began = time.monotonic()
    while not predicate():
        assert time.monotonic() - began < timeout, f"not within {timeout} s: {what}"
        time.sleep(0.1)
    return time.monotonic() - began


def test_reliability_receiver_outage_delivers_each_alert_once_after(city_db, serve_factory,
                                                                    tmp_path):
    engine = city_db.engine
    port = free_port()
    point_webhooks(engine, f"http://127.0.0.1:{port}")
    log = tmp_path / "receiver.log"
    receiver = ReceiverProcess(port, log)
    server = serve_factory(city_db.instance, city_db.url,
                           {"PLACECODE_OUTBOX_MAX_BACKOFF_SECONDS": "1"})
    server.start()
    venue = scan_inputs(engine, city_db.instance)[0][0]
    people = managed_people(city_db)
    assert len(people) >= 9, "the small demo has fewer managed residents than this test needs"
    token, tag = device_token(engine), f"out{uuid.uuid4().hex[:8]}"

    def red_scans(names: list[str]) -> list[str]:
        ids = []
        for who in names:
            scan_id = f"{tag}-{len(ids)}-{who[-6:]}"
            body = {"scan_id": scan_id, "venue_code": venue, "person": who,
                    "ts": datetime.now(TZ).replace(microsecond=0).isoformat()}
            request = urllib.request.Request(
                server.url + "/api/v1/scans", data=json.dumps(body).encode(), method="POST",
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert json.loads(response.read())["verdict"] == "red"
            ids.append(scan_id)
        return ids

    def delivered(ids: list[str]) -> bool:
        rows = outbox(engine, ids)
        return len(rows) == 2 * len(ids) and (rows["state"] == "delivered").all()

    # before: the receiver is up, the first alerts arrive
    before = red_scans(people[:3])
    wait_for(lambda: delivered(before), 20, "alerts delivered while the receiver is up")
    first = receiver.state()
    receiver.kill9()
    down_at = time.monotonic()

    # the outage: alerts raised at its start and in its middle stay pending, attempts fail
    during = red_scans(people[3:6])
    time.sleep(OUTAGE_S / 2)
    during += red_scans(people[6:9])
    wait_for(lambda: (outbox(engine, during)["attempts"] >= 2).all(), 20,
             "each pending alert retried at least twice")
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
    pending = outbox(engine, during)
    assert (pending["state"] == "pending").all()
    assert pending["last_error"].str.contains("connection refused").all(), pending["last_error"]

    receiver = ReceiverProcess(port, log)
    up_at = time.monotonic()
    catch_up_s = wait_for(lambda: delivered(during), 30, "alerts delivered after the outage")
    second = receiver.state()
    receiver.kill9()

    rows = outbox(engine, before + during)
    assert rows.groupby("alert_id")["receiver"].apply(
        lambda r: sorted(x.split(":")[0] for x in r)).tolist() == [["community", "district"]] * 9
    for state, ids in ((first, before), (second, during)):
        keys = [a["idempotency_key"] for a in state["received"]]
        assert sorted(keys) == sorted(rows[rows.scan_id.isin(ids)]["key"])  # each once...
        assert state["requests"] == len(keys)  # ...and not even repeated on the wire
    artifact_line("receiver-outage", backend=city_db.backend, alerts=9, pushes=len(rows),
                  outage_s=round(up_at - down_at, 1), catch_up_s=round(catch_up_s, 2),
                  attempts_during_outage=int(pending["attempts"].sum()),
                  max_backoff_s=1)


class HungReceiver:
    """Accepts connections and never answers (a receiver stuck behind a dead proxy)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_reliability_hung_receiver_costs_one_timeout_and_holds_up_no_other(city_db):
    engine = city_db.engine
    hung, healthy = HungReceiver(), Receiver("127.0.0.1", free_port())
    threading.Thread(target=healthy.serve_forever, daemon=True).start()
    try:
        with engine.begin() as conn:  # district HQs' receiver hangs, communities' answers
            for level, port in (("district", hung.port), ("community", healthy.server_port)):
                conn.execute(update(t.webhooks).where(t.webhooks.c.level == level).values(
                    url=f"http://127.0.0.1:{port}/{level}/{{{level}_id}}", active=True))
        ingest = Ingestor(engine, SECRET, "Asia/Shanghai", 28)
        tag = f"hung{uuid.uuid4().hex[:8]}"
        now = ingest.now()
        results = ingest.ingest([
            {"scan_id": f"{tag}-{i}", "venue_code": scan_inputs(engine, city_db.instance)[0][0],
             "person": who, "ts": now.isoformat() + "+08:00"}
            for i, who in enumerate(managed_people(city_db)[20:24])])
        assert [r["verdict"] for r in results] == ["red"] * 4
        ids = [r["scan_id"] for r in results]

        report = deliver_due(engine, ingest.now)  # one pass of the outbox worker

        rows = outbox(engine, ids)
        district = rows[rows.receiver.str.startswith("district")]
        community = rows[rows.receiver.str.startswith("community")]
        assert len(district) == len(community) == 4
        assert (community.state == "delivered").all()
        assert sorted(a["idempotency_key"] for a in healthy.received.values()
                      if a["idempotency_key"] in set(community.key)) == sorted(community.key)
        assert len(hung.held) == 1  # one request to the hung receiver, not four
        assert (district.state == "pending").all() and (district.attempts == 1).all()
        assert district.last_error.str.startswith("timed out").all(), district.last_error
        assert report.sent >= 4 and report.failed >= 4  # (other rows: earlier tests of the module)
    finally:
        hung.close()
        healthy.shutdown()
        healthy.server_close()
