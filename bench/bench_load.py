"""Soak: scans at a fixed rate for minutes through the served API; count lost and duplicated.

    python bench/bench_load.py [--backend sqlite|postgresql] [--minutes 10] [--rate 1000]
                               [--mode batch|single] [--batch 10] [--workers K]
                               [--receiver-outage] [--db URL --instance DIR] [--no-record]

Builds the `small` demo city (3,000 venues) in a temporary folder (SQLite, or a PostgreSQL 15
cluster of its own with fsync and synchronous_commit on), unless --db/--instance name a built one.
Starts `placecode serve --workers K` (K > 1: gunicorn; the outbox worker in its parent) and a
webhook receiver (`placecode receiver`) that the alerts are pushed to; with --receiver-outage the
receiver is down for the whole run and started only afterwards, and the time until every alert is
pushed is measured.

Devices: --devices threads, each with one keep-alive connection, offer requests open-loop (request
k is due at k / request-rate seconds whether or not earlier ones are answered): one scan per
request (`single`, a venue's scanner posting each scan as it happens: the worst case) or --batch
scans per request (`batch`, a gate that uploads what it scanned in the last moments). A request
that fails (refused or cut connection, timeout, 503) is sent again, byte for byte (same scan_ids),
after Retry-After (at most 1 s), until acknowledged; after the window the devices get --drain
seconds to finish. Latency per scan: from the moment its request was due to its verdict (a queue
in the server or a late client counts against it), per minute and over the run.

Afterwards: stored scans are counted by scan_id against the acknowledged ones (lost, duplicated,
stored without acknowledgement), every rollup table's total must have grown by exactly the scans
stored, and every outbox row must be delivered with the receiver having counted each
Idempotency-Key once. The row goes to the "Reliability" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from bench_demo_build import machine, record_section
from bench_ingest import TZ, busy_cpu, free_port, tree_cpu, wait_quiet
from source_stamp import source_stamp
from sqlalchemy import create_engine, func, select, text, update

from placecode.auth.tokens import issue_token
from placecode.db import schema as t
from placecode.db.engine import get_engine, redact

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Reliability (issue 9)"
SOAK_TABLE = (
    "| date | machine | database | served as | devices × mode | offered scans/s | minutes | "
    "acked | achieved scans/s (run; slowest minute answered) | p50 / p99 / p99.9 / max ms | "
    "worst minute p99 ms | retried requests | stored check | rollups | alert pushes | "
    "server RSS first → last minute | CPU client / app / db / other | source |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | "
    "--- | --- | --- |\n")
PG_BIN = Path("/usr/lib/postgresql/15/bin")


# -- processes ---------------------------------------------------------------------------------

def pg_bin(name: str) -> str:
    return str(PG_BIN / name) if (PG_BIN / name).exists() else (shutil.which(name) or name)


class PgCluster:
    """A PostgreSQL 15 cluster in a temporary folder, durable as in production."""

    def __init__(self, base: Path) -> None:
        self.base, self.data, self.port = base, base / "pgdata", free_port()
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.run_as:
            shutil.chown(base, "postgres", "postgres")
        self._run(pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8")
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(base / "pg.log"), "-w",
                  "-o", f"-p {self.port} -k {base} -c listen_addresses=127.0.0.1 "
                  "-c shared_buffers=512MB -c max_connections=200", "start")

    def _run(self, *cmd: str) -> None:
        done = subprocess.run([*self.run_as, *cmd], capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"PostgreSQL: {cmd[0]} failed: {(done.stderr or done.stdout)[-600:]}")

    def create_database(self) -> str:
        admin = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres",
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE soak"))
        admin.dispose()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/soak"

    def pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        subprocess.run([*self.run_as, pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast",
                        "stop"], capture_output=True)


def start(args: list[str], env: dict, log: Path, url: str | None = None,
          timeout: float = 120) -> subprocess.Popen:
    """`python -m placecode.cli ARGS` (this spelling: a colleague's `pkill -f "placecode serve"`
    on this shared machine must not stop it), waiting for `url` to answer."""
    with open(log, "a") as out:
        proc = subprocess.Popen([sys.executable, "-m", "placecode.cli", *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while url:
        try:
            with urllib.request.urlopen(url, timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"`placecode {args[0]}` did not start; see {log}") from None
            time.sleep(0.3)
    return proc


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (gunicorn's workers), MiB."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines()
                          if ":" in line)
        except OSError:
            continue
        if int(fields.get("Pid", 0)) == pid or int(fields.get("PPid", 0)) == pid:
            total += int(fields.get("VmRSS", "0 kB").split()[0])
    return total / 1024


# -- the devices -------------------------------------------------------------------------------

@dataclass
class Window:
    mode: str
    rate: int
    batch: int
    devices: int
    seconds: float
    tag: str
    acked: dict = field(default_factory=dict)  # scan_id -> verdict
    unacked: set = field(default_factory=set)  # sent, never acknowledged (after the drain)
    latency: list = field(default_factory=list)  # (due, seconds) per scan: due from the start
    outcomes: Counter = field(default_factory=Counter)  # per request attempt
    retried: int = 0  # requests that needed more than one attempt
    unsent: int = 0  # scans never offered: the devices fell too far behind
    minutes: list = field(default_factory=list)  # per-minute samples (dicts)
    cpu: dict = field(default_factory=dict)
    cpu_series: list = field(default_factory=list)  # (t, client, app, db, other) cores per 10 s
    wall: float = 0.0


def run_window(w: Window, port: int, token: str, venues: list[str], people: np.ndarray,
               server_pid: int, db_pid: int | None, db_mib: Callable[[], float], drain: float,
               grace: float) -> None:
    requests_total = int(w.rate * w.seconds / w.batch)
    per_second = w.rate / w.batch
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    t0 = time.perf_counter() + 0.5
    give_up = threading.Event()

    def device(k: int) -> None:
        rng = random.Random(f"{w.tag}-{k}")
        conn = None
        lat, acked, unacked, outcomes = [], {}, set(), Counter()
        retried = unsent = 0
        for i in range(k, requests_total, w.devices):
            due = t0 + i / per_second
            now = time.perf_counter()
            if now > t0 + w.seconds + grace:  # hopelessly behind: stop offering
                unsent += w.batch
                continue
            if due > now:
                time.sleep(due - now)
            stamp = datetime.now(TZ).replace(microsecond=0).isoformat()
            scans = [{"scan_id": f"{w.tag}-{i}-{j}", "venue_code": rng.choice(venues),
                      "person": str(people[rng.randrange(len(people))]), "ts": stamp,
                      "temperature_c": round(rng.uniform(36.0, 37.2), 1), "mask": True,
                      "credential": "app"} for j in range(w.batch)]
            ids = [s["scan_id"] for s in scans]
            body = json.dumps(scans[0] if w.batch == 1 else scans).encode()
            attempts = 0
            while True:
                attempts += 1
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    conn.request("POST", "/api/v1/scans", body=body, headers=headers)
                    response = conn.getresponse()
                    status, raw = response.status, response.read()
                    retry_after = response.getheader("Retry-After")
                except (OSError, http.client.HTTPException) as exc:
                    outcomes[type(exc).__name__] += 1
                    if conn is not None:
                        conn.close()
                    conn = None
                    status, raw, retry_after = 0, b"", "0.2"
                if status:
                    outcomes[str(status)] += 1
                if status == 200:
                    answer = json.loads(raw)
                    results = [answer] if w.batch == 1 else answer.get("results", [])
                    if len(results) == len(ids) and all(
                            r.get("scan_id") == sid and "verdict" in r
                            for sid, r in zip(ids, results, strict=True)):
                        break
                    outcomes["200 without verdicts"] += 1
                if give_up.is_set():
                    unacked.update(ids)
                    break
                time.sleep(min(1.0, float(retry_after or 1)))
            if attempts > 1:
                retried += 1
            if ids[0] in unacked:
                continue
            done = time.perf_counter()
            for sid, r in zip(ids, results, strict=True):
                acked[sid] = r["verdict"]
                lat.append((due - t0, done - due))
        if conn is not None:
            conn.close()
        with lock:
            w.acked.update(acked)
            w.unacked.update(unacked)
            w.latency.extend(lat)
            w.outcomes.update(outcomes)
            w.retried += retried
            w.unsent += unsent

    cpu0 = (time.process_time(), tree_cpu(server_pid), tree_cpu(db_pid), busy_cpu())
    threads = [threading.Thread(target=device, args=(k,), daemon=True) for k in range(w.devices)]
    for th in threads:
        th.start()
    # one sample a minute: server memory, database size, progress; CPU every 10 s, to tell a
    # stall of our own from one caused by other work on this shared machine
    next_sample = t0
    last = (time.perf_counter(), *cpu0)
    while any(th.is_alive() for th in threads):
        now = time.perf_counter()
        if now - last[0] >= 10:
            cpu = (now, time.process_time(), tree_cpu(server_pid), tree_cpu(db_pid), busy_cpu())
            span = cpu[0] - last[0]
            used = [(a - b) / span for a, b in zip(cpu[1:], last[1:], strict=True)]
            w.cpu_series.append((now - t0, used[0], used[1], used[2],
                                 max(0.0, used[3] - used[0] - used[1] - used[2])))
            last = cpu
        if now >= next_sample:
            w.minutes.append({"t": round(now - t0), "rss_mib": tree_rss_mib(server_pid),
                              "db_mib": db_mib()})
            print(f"  {w.mode} t={now - t0:5.0f} s  server RSS {w.minutes[-1]['rss_mib']:.0f} MiB"
                  f"  database {w.minutes[-1]['db_mib']:.0f} MiB", flush=True)
            next_sample += 60
        if now > t0 + w.seconds + grace + drain:
            give_up.set()
        time.sleep(0.5)
    elapsed = time.perf_counter() - t0
    w.wall = elapsed
    w.cpu = {"client": (time.process_time() - cpu0[0]) / elapsed,
             "app": (tree_cpu(server_pid) - cpu0[1]) / elapsed,
             "db": (tree_cpu(db_pid) - cpu0[2]) / elapsed if db_pid else None,
             "all": (busy_cpu() - cpu0[3]) / elapsed}


# -- checks ------------------------------------------------------------------------------------

def rollup_totals(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table.name: int(conn.execute(select(func.coalesce(func.sum(table.c.scans), 0)))
                                .scalar()) for table in t.ROLLUPS}


def stored_ids(engine, tag: str) -> pd.Series:
    with engine.connect() as conn:
        return pd.Series(list(conn.execute(select(t.scans.c.scan_id)
                                           .where(t.scans.c.scan_id.like(f"{tag}-%")))
                              .scalars()), dtype=object)


def outbox_state(engine, since_id: int) -> tuple[int, int, set[str]]:
    """(pending, delivered, delivered keys) of the outbox rows after `since_id`."""
    o = t.outbox
    with engine.connect() as conn:
        rows = conn.execute(select(o.c.state, o.c.idempotency_key).where(o.c.id > since_id)).all()
    pending = sum(r.state == "pending" for r in rows)
    return pending, len(rows) - pending, {r.idempotency_key for r in rows
                                          if r.state == "delivered"}


def receiver_state(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


# -- main --------------------------------------------------------------------------------------

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--db", help="a database with a built demo city (default: build one)")
    p.add_argument("--instance", type=Path, help="its instance folder (demo-people.parquet)")
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--rate", type=int, default=1000, help="offered scans per second")
    p.add_argument("--mode", choices=("batch", "single"), default="batch")
    p.add_argument("--batch", type=int, default=10, help="scans per request in batch mode")
    p.add_argument("--devices", type=int, help="device threads (default 64 single, 16 batch)")
    p.add_argument("--workers", type=int,
                   help="placecode serve --workers (default: 1 on SQLite, where gunicorn's fork "
                        "is unsafe while serve's threads hold SQLite handles; 2 on PostgreSQL)")
    p.add_argument("--receiver-outage", action="store_true",
                   help="the webhook receiver is down for the whole run")
    p.add_argument("--drain", type=float, default=60,
                   help="seconds after the window for retries to be acknowledged")
    p.add_argument("--grace", type=float, default=30,
                   help="seconds after the window in which late requests are still offered")
    p.add_argument("--quiet-wait", type=float, default=60,
                   help="wait up to this long for the machine to be idle first")
    p.add_argument("--note", default="")
    p.add_argument("--no-record", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = p.parse_args()
    batch = 1 if args.mode == "single" else args.batch
    devices = args.devices or (64 if args.mode == "single" else 16)
    sqlite = args.db.startswith("sqlite") if args.db else args.backend == "sqlite"
    args.workers = args.workers or (1 if sqlite else 2)

    tmp = Path(tempfile.mkdtemp(prefix="placecode-soak-"))
    pg = None
    procs: list[subprocess.Popen] = []
    try:
        instance = args.instance or tmp / "instance"
        if args.db:
            url = args.db
        elif args.backend == "postgresql":  # a folder of its own: the postgres user owns it
            pg = PgCluster(Path(tempfile.mkdtemp(prefix="placecode-soak-pg-")))
            url = pg.create_database()
        else:
            url = f"sqlite:///{tmp / 'soak.db'}"
        env = os.environ | {"PLACECODE_INSTANCE_DIR": str(instance),
                            "PLACECODE_DATABASE_URL": url}
        if not args.db:
            print(f"building the small demo in {redact(url)} ...", flush=True)
            subprocess.run([sys.executable, "-m", "placecode.cli", "demo", "--preset", "small",
                            "--quiet"], env=env, check=True, stdout=subprocess.DEVNULL)
        engine = get_engine(url)
        with engine.connect() as conn:
            venues = list(conn.execute(select(t.venues.c.code)).scalars())
            outbox_start = conn.execute(select(func.coalesce(func.max(t.outbox.c.id), 0))
                                        ).scalar()
        people = pd.read_parquet(instance / "demo-people.parquet", columns=["id_number"]
                                 )["id_number"].to_numpy()
        receiver_port, port = free_port(), free_port()
        receiver_url = f"http://127.0.0.1:{receiver_port}"
        with engine.begin() as conn:
            for hook in conn.execute(select(t.webhooks)).all():
                path = "/" + hook.url.split("://", 1)[1].split("/", 1)[1]
                conn.execute(update(t.webhooks).where(t.webhooks.c.id == hook.id)
                             .values(url=receiver_url + path, active=True))
            token = issue_token(conn, "device", "bench_load", None,
                                datetime.now(TZ).replace(tzinfo=None))[1]
        receiver = None
        if not args.receiver_outage:
            receiver = start(["receiver", "--port", str(receiver_port)], env,
                             tmp / "receiver.log", receiver_url + "/")
            procs.append(receiver)
        served = f"gunicorn gthread, {args.workers} workers × 4 threads" if args.workers > 1 \
            else "werkzeug threaded, 1 process"
        stamp = source_stamp()
        server = start(["serve", "--port", str(port), "--workers", str(args.workers)], env,
                       tmp / "serve.log", f"http://127.0.0.1:{port}/healthz")
        procs.append(server)
        db_pid = pg.pid() if pg else None

        def db_mib() -> float:
            if engine.dialect.name == "postgresql":
                with engine.connect() as conn:
                    return conn.execute(text("select pg_database_size(current_database())")
                                        ).scalar() / 2**20
            path = Path(engine.url.database)
            return sum(f.stat().st_size for f in (path, path.with_name(path.name + "-wal"))
                       if f.exists()) / 2**20
        print(f"{redact(url)}: {len(venues):,} venues, {len(people):,} people; serving on {port} "
              f"({served}); receiver {'DOWN for the run' if args.receiver_outage else 'up'}",
              flush=True)

        warm = Window("warm", 100, 1, 8, 10, f"soakw{uuid.uuid4().hex[:6]}")
        run_window(warm, port, token, venues, people, server.pid, db_pid, db_mib, 10, 5)
        before = rollup_totals(engine)
        idle = wait_quiet(args.quiet_wait)
        print(f"machine busy before the run: {idle:.2f} cores", flush=True)
        w = Window(args.mode, args.rate, batch, devices, args.minutes * 60,
                   f"soak{uuid.uuid4().hex[:6]}")
        run_window(w, port, token, venues, people, server.pid, db_pid, db_mib, args.drain,
                   args.grace)
        if server.poll() is not None:
            raise SystemExit(f"the server exited during the run; see {tmp / 'serve.log'}")

        # alerts: bring the receiver back (after an outage) and wait for the outbox to empty
        outage_note = ""
        pending, _, _ = outbox_state(engine, outbox_start)
        if args.receiver_outage:
            print(f"receiver back after {w.wall / 60:.1f} min down; {pending:,} pushes pending",
                  flush=True)
            receiver = start(["receiver", "--port", str(receiver_port)], env,
                             tmp / "receiver.log", receiver_url + "/")
            procs.append(receiver)
        back = time.perf_counter()
        while True:
            pending, delivered, keys = outbox_state(engine, outbox_start)
            if not pending or time.perf_counter() - back > 900:
                break
            time.sleep(1)
        catch_up = time.perf_counter() - back
        got = receiver_state(receiver_url + "/")
        got_keys = [a["idempotency_key"] for a in got["received"]]
        once = len(got_keys) == len(set(got_keys)) and set(got_keys) == keys
        if args.receiver_outage:
            outage_note = (f"receiver down {w.wall / 60:.1f} min: all delivered "
                           f"{catch_up:.0f} s after it came back; ")
        alerts = (f"{outage_note}{delivered:,} delivered, {pending} pending; receiver counted "
                  f"{len(set(got_keys)):,} keys {'each once' if once else 'NOT each once'} "
                  f"({got['requests'] - len(got_keys)} repeats on the wire)")
    except BaseException:
        if pg:
            pg.stop()
        raise
    finally:
        for proc in reversed(procs):
            stop(proc)

    # scans: acknowledged vs stored; rollups grew by the scans stored
    ids = stored_ids(engine, w.tag)
    stored = set(ids)
    lost = len(w.acked.keys() - stored)
    dup = len(ids) - len(stored)
    extra = len(stored - w.acked.keys())
    after = rollup_totals(engine)
    grew = {name: after[name] - before[name] for name in after}
    rollups_ok = all(v == len(stored) for v in grew.values())
    if pg:
        pg.stop()
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
        if pg:
            shutil.rmtree(pg.base, ignore_errors=True)

    lat = np.array([s for _, s in w.latency]) * 1000
    minute_of = np.array([int(d // 60) for d, _ in w.latency])
    per_minute = [(m, int((minute_of == m).sum()), float(np.percentile(lat[minute_of == m], 99)))
                  for m in np.unique(minute_of)] if len(lat) else []
    full = [pm for pm in per_minute if pm[0] < int(w.seconds // 60)] or per_minute
    # the slowest minute by when verdicts arrived (by due time every minute is full when the
    # devices catch up later)
    answered = Counter(int((d + s) // 60) for d, s in w.latency)
    slowest = min((answered[m] for m in range(int(w.seconds // 60))), default=0) / 60
    worst_p99 = max((p for _, _, p in full), default=float("nan"))
    pct = (lambda q: float(np.percentile(lat, q))) if len(lat) else (lambda q: float("nan"))
    bad = {k: v for k, v in w.outcomes.items() if k != "200"}
    check = (f"stored {len(ids):,}, lost {lost}, dup {dup}"
             + (f", stored unacked {extra}" if extra else "")
             + (f", never acked {len(w.unacked):,}" if w.unacked else "")
             + (f", unsent {w.unsent:,}" if w.unsent else ""))
    rss = f"{w.minutes[0]['rss_mib']:.0f} → {w.minutes[-1]['rss_mib']:.0f} MiB" \
        if w.minutes else "–"
    db_cpu = f"{w.cpu['db']:.2f}" if w.cpu.get("db") is not None else "–"
    other = max(0.0, w.cpu["all"] - w.cpu["client"] - w.cpu["app"] - (w.cpu["db"] or 0))
    row = (f"| {date.today()} | {machine()} | {engine.dialect.name} (small demo) | {served} | "
           f"{devices} × {'single' if batch == 1 else f'batch ×{batch}'} | {args.rate:,} | "
           f"{args.minutes:g} | {len(w.acked):,} | {len(w.acked) / w.seconds:,.0f}; "
           f"{slowest:,.0f} | {pct(50):.1f} / {pct(99):.1f} / {pct(99.9):.0f} / {pct(100):.0f} | "
           f"{worst_p99:.0f} | {w.retried:,}" + (f" ({dict(bad)})" if bad else "")
           + f" | **{check}** | {'each grew by the scans stored' if rollups_ok else grew} | "
           f"{alerts} | {rss} | {w.cpu['client']:.2f} / {w.cpu['app']:.2f} / {db_cpu} / "
           f"{other:.2f} | {stamp}{'; ' + args.note if args.note else ''} |")
    for m, n, p99 in per_minute:
        cores = [c for c in w.cpu_series if m * 60 <= c[0] < (m + 1) * 60]
        app = np.mean([c[2] for c in cores]) if cores else float("nan")
        other = np.mean([c[4] for c in cores]) if cores else float("nan")
        print(f"  minute {m + 1:3}: {n:7,} scans acked, p99 {p99:8.1f} ms; cores: app {app:.2f}, "
              f"other processes {other:.2f} (max 10 s: "
              f"{max((c[4] for c in cores), default=float('nan')):.2f})")
    slow = sorted({int(d) for d, s in w.latency if s > 1})
    if slow:
        print(f"  stalls (a scan waited > 1 s), seconds into the run: {slow[:40]}")
    print(f"outcomes {dict(w.outcomes)}; verdicts {Counter(w.acked.values())}")
    print(row)
    if not args.no_record:
        record_section(RESULTS, HEADING, "", [row])
    ok = lost == 0 and dup == 0 and not w.unacked and rollups_ok and once and not pending
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
