"""Fault tests with real processes: `placecode serve` started by the CLI, device clients over HTTP,
a webhook receiver (`placecode receiver`), and for database restarts a private PostgreSQL cluster.

The helpers count what matters: every scan a client saw acknowledged must be stored exactly once,
and the rollups must agree with the stored scans (a retried scan counted twice shows up there).
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, text, update

from placecode.auth.tokens import issue_token
from placecode.db import schema as t
from placecode.ingest.rollups import SPECS
from tests.conftest import SECRET, _pg_bin, free_port

TZ = ZoneInfo("Asia/Shanghai")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


class ServeProcess:
    """`placecode serve` on a fixed port, so that it can be killed and started again where the
    clients expect it: one process (Flask's threaded server) or, with workers > 1, gunicorn's
    arbiter and its forked workers, in a process group of their own."""

    def __init__(self, instance: Path, db_url: str, env: dict[str, str] | None = None,
                 workers: int = 1):
        self.instance, self.db_url, self.workers = instance, db_url, workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PLACECODE_INSTANCE_DIR": str(instance),
                    "PLACECODE_SECRET_KEY": SECRET, "PLACECODE_LANG": "en", **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.log_path = instance / f"serve-{self.port}.log"

    def start(self, timeout: float = 60) -> float:
        """Start and wait for /healthz; returns the seconds that took."""
        began = time.monotonic()
        log = open(self.log_path, "a")  # noqa: SIM115 (the child keeps writing to it)
        log.write(f"--- start {self.starts + 1}\n")
        log.flush()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "placecode.cli", "serve", "--db", self.db_url,
             "--port", str(self.port), "--workers", str(self.workers)], env=self.env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.starts += 1
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):
                    return time.monotonic() - began
            except OSError:
                if self.proc.poll() is not None or time.monotonic() - began > timeout:
                    pytest.fail(f"placecode serve did not start:\n{self.log()[-3000:]}")
                time.sleep(0.1)

    def kill9(self) -> None:
        """SIGKILL to every process of the server at once (a crashed machine or container): no
        shutdown code runs, connections and transactions are cut mid-way."""
        assert self.proc is not None and self.proc.poll() is None, "the server is not running"
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        deadline = time.monotonic() + 10
        while _group_alive(self.proc.pid):  # forked workers die with it; the port is free then
            assert time.monotonic() < deadline, "server processes survived SIGKILL"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


class Devices:
    """Scanning devices posting continuously over keep-alive HTTP connections.

    Each device sends one request at a time (a single scan, or a batch of `batch` scans) and
    retries it, byte for byte the same (same scan_ids), until it is acknowledged: after a refused
    or cut connection, a timeout, or a 503 (waiting as Retry-After says, capped at `max_wait_s`
    so that the test sees the recovery promptly). New scans are made only while `running`.
    """

    def __init__(self, url: str, token: str, venues: list[str], people: list[str], tag: str,
                 batches: tuple[int, ...] = (1, 1, 1, 5), max_wait_s: float = 0.5):
        self.host, self.port = url.removeprefix("http://").split(":")
        self.token, self.venues, self.people, self.tag = token, venues, people, tag
        self.batches, self.max_wait_s = batches, max_wait_s
        self.running = threading.Event()
        self.quit = threading.Event()
        self.lock = threading.Lock()
        self.ids = itertools.count()
        self.acked: dict[str, str] = {}  # scan_id -> verdict, as first acknowledged
        self.answers: Counter = Counter()  # scan_id -> acknowledgements (retries answer again)
        self.sent: set[str] = set()
        self.outcomes: Counter = Counter()  # "200", "503", "refused", "reset", ...
        self.unavailable: list[tuple[dict, dict]] = []  # (headers, body) of 503 answers
        self.bad: list[str] = []  # anything that is neither an acknowledgement nor retryable
        self.ack_times: list[float] = []  # time.monotonic() of every acknowledged request
        self.threads = [threading.Thread(target=self._device, args=(n,), daemon=True)
                        for n in batches]

    # -- control
    def start(self) -> None:
        self.running.set()
        for th in self.threads:
            th.start()

    def first_ack_after(self, moment: float) -> float:
        """Seconds from `moment` (time.monotonic()) to the first acknowledgement after it."""
        with self.lock:
            return min(a for a in self.ack_times if a > moment) - moment

    def stop_and_drain(self, timeout: float = 30) -> None:
        """Stop making new scans; wait until every scan sent is acknowledged."""
        self.running.clear()
        deadline = time.monotonic() + timeout
        for th in self.threads:
            th.join(max(0.1, deadline - time.monotonic()))
        self.quit.set()
        stuck = [th for th in self.threads if th.is_alive()]
        assert not stuck, (f"{len(stuck)} devices still retrying after {timeout} s; "
                           f"outcomes {dict(self.outcomes)}; unacknowledged "
                           f"{len(self.sent - self.acked.keys())}")

    def wait_acks(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            assert time.monotonic() < deadline, (f"only {len(self.acked)} of {count} scans "
                                                 f"acknowledged; outcomes {dict(self.outcomes)}")
            time.sleep(0.05)

    def wait_outcome(self, outcome: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not self.outcomes[outcome]:
            assert time.monotonic() < deadline, (f"no {outcome} answer within {timeout} s; "
                                                 f"outcomes {dict(self.outcomes)}")
            time.sleep(0.02)

    # -- one device
    def _new_request(self, batch: int) -> tuple[bytes, list[str]]:
        now = datetime.now(TZ).replace(microsecond=0)
        scans = []
        for _ in range(batch):
            n = next(self.ids)
            scans.append({"scan_id": f"{self.tag}-{n}", "venue_code": self.venues[n % len(
                self.venues)], "person": self.people[(n * 7919) % len(self.people)],
                "ts": (now - timedelta(seconds=n % 50)).isoformat(), "temperature_c": 36.6,
                "mask": True, "credential": "app"})
        body = scans[0] if batch == 1 else scans
        return json.dumps(body).encode(), [s["scan_id"] for s in scans]

    def _device(self, batch: int) -> None:
        conn = None
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        request = None
        while not self.quit.is_set():
            if request is None:
                if not self.running.is_set():
                    return
                request = self._new_request(batch)
                with self.lock:
                    self.sent.update(request[1])
            body, scan_ids = request
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.host, int(self.port), timeout=10)
                conn.request("POST", "/api/v1/scans", body=body, headers=headers)
                response = conn.getresponse()
                status, raw = response.status, response.read()
                answer_headers = dict(response.getheaders())
            except (OSError, http.client.HTTPException) as exc:
                self._count(_kind(exc))
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.1)
                continue
            self._count(str(status))
            if status == 503:
                try:
                    answer = json.loads(raw)
                except ValueError:
                    answer = {"not json": raw[:200].decode(errors="replace")}
                with self.lock:
                    if len(self.unavailable) < 50:
                        self.unavailable.append((answer_headers, answer))
                wait = float(answer_headers.get("Retry-After", 1))
                time.sleep(min(wait, self.max_wait_s))
                continue
            if status != 200:
                self.bad.append(f"HTTP {status}: {raw[:300]!r}")
                time.sleep(0.2)
                continue
            answer = json.loads(raw)
            results = [answer] if batch == 1 else answer.get("results", [])
            ok = len(results) == len(scan_ids) and all(
                r.get("scan_id") == sid and "verdict" in r
                for sid, r in zip(scan_ids, results, strict=True))
            if not ok:
                self.bad.append(f"HTTP 200 without a verdict for each scan: {raw[:300]!r}")
                time.sleep(0.2)
                continue
            with self.lock:
                for sid, r in zip(scan_ids, results, strict=True):
                    self.answers[sid] += 1
                    if sid in self.acked:
                        # a retry answers with the first verdict, stored once
                        if self.acked[sid] != r["verdict"]:
                            self.bad.append(f"{sid}: verdict {r['verdict']} after "
                                            f"{self.acked[sid]}")
                    else:
                        self.acked[sid] = r["verdict"]
                self.ack_times.append(time.monotonic())
            request = None
        if conn is not None:
            conn.close()

    def _count(self, outcome: str) -> None:
        with self.lock:
            self.outcomes[outcome] += 1


def _kind(exc: Exception) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | http.client.RemoteDisconnected):
        return "reset"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return type(exc).__name__


def device_token(engine: Engine) -> str:
    with engine.begin() as conn:
        return issue_token(conn, "device", f"reliability {uuid.uuid4().hex[:6]}", None,
                           datetime.now(TZ).replace(tzinfo=None))[1]


def scan_inputs(engine: Engine, instance: Path, venues: int = 40) -> tuple[list[str], list[str]]:
    """Venue codes and demo ID numbers to scan with."""
    with engine.connect() as conn:
        codes = list(conn.execute(select(t.venues.c.code).where(t.venues.c.kind != "bus")
                                  .order_by(t.venues.c.id).limit(venues)).scalars())
    people = pd.read_parquet(instance / "demo-people.parquet", columns=["id_number"])
    return codes, people["id_number"].astype(str).tolist()[:2000]


def point_webhooks(engine: Engine, url: str | None) -> None:
    """Send alert pushes to `url` (None: no pushes), so no test reaches a demo receiver."""
    with engine.begin() as conn:
        if url is None:
            conn.execute(update(t.webhooks).values(active=False))
            return
        for hook in conn.execute(select(t.webhooks)).all():
            path = "/" + hook.url.split("://", 1)[1].split("/", 1)[1]
            conn.execute(update(t.webhooks).where(t.webhooks.c.id == hook.id)
                         .values(url=url + path, active=True))


def stored(engine: Engine, tag: str) -> pd.DataFrame:
    """scan_id, verdict, ts of the stored scans whose id starts with `tag`."""
    sc = t.scans
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(select(sc.c.scan_id, sc.c.verdict, sc.c.ts)
                                         .where(sc.c.scan_id.like(f"{tag}-%"))).all(),
                            columns=["scan_id", "verdict", "ts"])


def assert_stored_exactly_once(engine: Engine, devices: Devices) -> pd.DataFrame:
    """Every acknowledged scan is stored once with the verdict it was answered with; nothing
    stored that was never sent; no acknowledgement carried a wrong verdict or an error."""
    rows = stored(engine, devices.tag)
    counts = rows["scan_id"].value_counts()
    assert (counts == 1).all(), f"stored twice: {counts[counts > 1].head().to_dict()}"
    acked = set(devices.acked)
    lost = acked - set(rows["scan_id"])
    assert not lost, f"{len(lost)} acknowledged scans are not stored, e.g. {sorted(lost)[:5]}"
    assert set(rows["scan_id"]) <= devices.sent, "stored scans nobody sent"
    assert acked == devices.sent, "drained, yet some scans were never acknowledged"
    verdicts = dict(zip(rows["scan_id"], rows["verdict"], strict=True))
    wrong = {s: (v, verdicts[s]) for s, v in devices.acked.items() if verdicts[s] != v}
    assert not wrong, f"answered verdict differs from the stored one: {list(wrong.items())[:5]}"
    assert devices.bad == [], devices.bad[:5]
    return rows


def assert_rollups_match_scans(engine: Engine, days: set) -> None:
    """Every rollup cell of `days` equals a recount of the stored scans (so no scan is counted
    twice or missed, whichever request path stored it)."""
    first, last = min(days), max(days)
    start = datetime(first.year, first.month, first.day)
    end = datetime(last.year, last.month, last.day) + timedelta(days=1)
    sc, v = t.scans, t.venues
    with engine.connect() as conn:
        scans = pd.DataFrame(conn.execute(
            select(sc.c.ts, sc.c.verdict, v.c.id.label("venue_id"), v.c.kind, v.c.district_id,
                   v.c.subdistrict_id).join(v, v.c.id == sc.c.venue_id)
            .where(sc.c.ts >= start, sc.c.ts < end)).all(),
            columns=["ts", "verdict", "venue_id", "kind", "district_id", "subdistrict_id"])
        tables = {table.name: pd.DataFrame(conn.execute(select(table)).mappings().all())
                  for table, *_ in SPECS}
    scans["ts"] = pd.to_datetime(scans["ts"])
    scans["day"] = scans["ts"].dt.strftime("%Y-%m-%d")
    scans["hour"] = scans["ts"].dt.strftime("%Y-%m-%d %H")
    scans["red"] = (scans["verdict"] == "red").astype(int)
    scans["yellow"] = (scans["verdict"] == "yellow").astype(int)
    for table, keys, _carry, flags in SPECS:
        cols = ["scans", "red", "yellow"] if flags else ["scans"]
        want = scans.assign(scans=1).groupby(list(keys))[cols].sum()
        got = tables[table.name]
        stamp = "day" if "day" in keys else "hour"
        got[stamp] = pd.to_datetime(got[stamp]).dt.strftime(
            "%Y-%m-%d" if stamp == "day" else "%Y-%m-%d %H")
        in_window = got[stamp].str[:10].between(first.isoformat(), last.isoformat())
        got = got[in_window].set_index(list(keys))[cols]
        got = got[got["scans"] > 0]
        joined = want.merge(got, how="outer", left_index=True, right_index=True,
                            suffixes=("_scans", "_rollup")).fillna(-1)
        for c in cols:
            off = joined[joined[f"{c}_scans"] != joined[f"{c}_rollup"]]
            assert off.empty, f"{table.name}.{c} disagrees with the scans:\n{off.head()}"


def count(engine: Engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar()


class PrivatePg:
    """A PostgreSQL cluster of this test's own (the shared session server stays up for the
    others), stopped and started as a real restart: `pg_ctl stop -m immediate` is a crash
    (no checkpoint; recovery replays the WAL on start). synchronous_commit is on, as in
    production, so a commit the server acknowledged survives it; fsync is off, which only
    matters to an operating-system crash."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="placecode-pg-restart-"))
        self.data = self.base / "data"
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.run_as:
            shutil.chown(self.base, "postgres", "postgres")
        self.port = free_port()
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")
        self.start()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *cmd: str) -> None:
        result = subprocess.run([*self.run_as, *cmd], capture_output=True, text=True)
        if result.returncode:
            pytest.fail(f"PostgreSQL: {' '.join(cmd[:2])} failed: "
                        f"{(result.stderr or result.stdout).strip()[-600:]}")

    def start(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.base / "log"), "-w",
                  "-t", "60", "-o", f"-p {self.port} -k {self.base} "
                  "-c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self) -> str:
        from sqlalchemy import create_engine

        name = f"r_{uuid.uuid4().hex[:10]}"
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def remove(self) -> None:
        subprocess.run([*self.run_as, _pg_bin("pg_ctl"), "-D", str(self.data), "-m",
                        "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def private_pg() -> Iterator[PrivatePg]:
    pg = PrivatePg()
    try:
        yield pg
    finally:
        pg.remove()


@pytest.fixture
def serve_factory() -> Iterator:
    """Make ServeProcess objects; every one still running at the end is stopped."""
    made: list[ServeProcess] = []

    def make(instance: Path, db_url: str, env: dict[str, str] | None = None,
             workers: int = 1) -> ServeProcess:
        made.append(ServeProcess(instance, db_url, env, workers))
        return made[-1]

    yield make
    for server in made:
        server.stop()


def artifact_line(test: str, **figures) -> None:
    """Append the test's measured timings to tests/artifacts/reliability.jsonl (bench/RESULTS.md
    quotes them; tests never assert on wall-clock time)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    line = {"test": test, "at": datetime.now(TZ).isoformat(timespec="seconds"), **figures}
    with open(ARTIFACTS / "reliability.jsonl", "a") as fh:
        fh.write(json.dumps(line) + "\n")
    print(line)
