"""Benchmark: the command wall as the browser meets it, end to end -> bench/RESULTS.md.

    python bench/bench_wall.py --db URL [--db URL ...] [--instance DIR ...] [--runs 20]
                               [--loads 3] [--no-record]

Three goals, per database (each must hold a built demo city, e.g. the `city` preset):

1. server time of one wall refresh < 300 ms: the Dash callbacks the wall runs, `check` (every
   tick) and `refresh` (when the version changed), captured from a real browser session per role
   scope and replayed --runs times over HTTP; also /wall-data/numbers.bin, whole day and a
   `since` delta;
2. bytes of the venue layer < 3 MB compressed: venues.bin + numbers.bin, gzip and raw;
3. navigation to the first frame drawn with every venue < 2 s in headless Chromium: a cold load
   (new browser context, empty cache) and a warm reload (same context), median of --loads.

Each phase first waits for the machine to be quiet (--quiet-wait, --max-other) and is repeated
(--retries) when other processes took more CPU meanwhile; the rows say how much they took.

It starts `placecode serve --no-worker` on a free port (PLACECODE_INSTANCE_DIR = --instance, one
for all databases or one per --db; default: a temporary folder), creates or reuses one user per
scope with `placecode create-user` (password below), logs in with Chromium through Playwright and
aborts any request that leaves 127.0.0.1. The server is stopped at the end, also on errors.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import requests
from bench_demo_build import machine, record_section
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright
from source_stamp import ROOT, source_stamp
from sqlalchemy import func, select

from placecode.db import schema as t
from placecode.db.engine import get_engine, redact

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Wall: refresh, venue layer, first draw (`bench/bench_wall.py`)"
SUBHEADING = "### Venue layer bytes and first draw (one row per database)"
CHROMIUM = os.environ.get("PLACECODE_CHROMIUM", "/usr/bin/chromium")
LOCAL = re.compile(r"^(https?://127\.0\.0\.1(:\d+)?/|data:|blob:|about:)")
PASSWORD = "bench-wall-pass-1"
ROLES = ("city_commander", "district_commander", "planner")
GOALS = {"refresh_ms": 300, "layer_bytes": 3_000_000, "first_draw_ms": 2000}
READY = ("() => { const w = window.placecodeWall; if (!w) return false; const s = w.state();"
         " return s.firstDrawMs !== null || s.error !== null; }")
# Every animation frame's start (performance.now() in the callback), so the bench can tell when
# the first frame after the first draw ran: in software WebGL deck.gl stamps firstDrawMs when it
# has issued a frame whose GPU work can then hold the main thread for seconds.
FRAMES = ("window.__benchFrames = []; (function frame() { const f = window.__benchFrames;"
          " f.push(performance.now()); if (f.length < 20000) requestAnimationFrame(frame); })();")
NEXT_FRAME = ("(t) => { const f = (window.__benchFrames || []).find(x => x > t);"
              " return f === undefined ? null : f; }")
# The page is smooth again: the start of the first 10 frame gaps in a row < 100 ms after t.
SMOOTH = """(t) => {
  const f = window.__benchFrames || [];
  let run = 0;
  for (let i = 1; i < f.length; i++) {
    if (f[i] <= t) continue;
    run = f[i] - f[i - 1] < 100 ? run + 1 : 0;
    if (run >= 10) return Math.max(f[i - 10], t);
  }
  return null;
}"""
TRANSFER = ("() => performance.getEntriesByType('navigation').concat("
            "performance.getEntriesByType('resource'))"
            ".reduce((n, e) => n + (e.transferSize || 0), 0)")
MILESTONES = """() => {
  const es = performance.getEntriesByType('resource');
  const end = re => { const e = es.find(e => re.test(e.name)); return e ? e.responseEnd : null; };
  const dash = es.filter(e => e.name.includes('/_dash-update-component'));
  const spec = dash.reduce((a, e) => !a || e.decodedBodySize > a.decodedBodySize ? e : a, null);
  const v = end(/\\/wall-data\\/venues\\.bin/), n = end(/\\/wall-data\\/numbers\\.bin/);
  return {spec: spec ? spec.responseEnd : null, layer: v === null || n === null ? null
          : Math.max(v, n)};
}"""


@dataclass
class DbInfo:
    backend: str
    venues: int
    scans: int
    days: int
    first_district: int


@dataclass
class ScopeResult:
    role: str
    others: float
    check_ms: list[float]
    refresh_ms: list[float]
    refresh_bytes: int
    numbers_ms: list[float]
    since_ms: list[float]
    since_rows: int


@dataclass
class Draw:
    first_draw_ms: float | None
    venues: int
    error: str | None
    transfer: int
    next_frame_ms: float | None  # the next animation frame after the first draw ran
    smooth_ms: float | None  # frames flowed again (10 gaps < 100 ms) after the first draw
    spec_ms: float | None  # the refresh answer (the map spec) arrived
    layer_ms: float | None  # venues.bin and numbers.bin both arrived


@dataclass
class BrowserResult:
    cold: list[Draw] = field(default_factory=list)
    warm: list[Draw] = field(default_factory=list)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # name: (gzip, raw)
    others: float = 0.0


class BenchError(RuntimeError):
    pass


# -- the server ---------------------------------------------------------------------------------

def asset_stamp() -> str:
    """The browser's own code: assets/*.js and *.css are read from disk per request, so an edit
    during a run reaches the browser at once (the .py code is what the server imported)."""
    files = sorted(p for p in (ROOT / "assets").glob("*.*") if p.suffix in (".js", ".css"))
    digest = hashlib.sha1()
    for p in files:
        digest.update(p.name.encode() + b"\0" + p.read_bytes())
    newest = datetime.fromtimestamp(max((p.stat().st_mtime for p in files), default=0))
    return f"assets {digest.hexdigest()[:8]} ({newest:%H:%M})"


def stamp_span(start: str, end: str) -> str:
    if start == end:
        return start
    print(f"  WARNING: the source changed during the run: {start} -> {end}", flush=True)
    return f"{start} → **changed during the run** → {end}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CLK_TCK = os.sysconf("SC_CLK_TCK")


def busy_cpu() -> float:
    """CPU seconds the whole machine has been busy (/proc/stat)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / CLK_TCK


def own_cpu() -> float:
    """CPU seconds of this process and every live descendant (the server, Playwright's driver,
    Chromium), with the children each has reaped (a closed tab's renderer counts)."""
    parents, times = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = sum(int(x) for x in fields[11:15])
    mine, todo = set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        mine.add(pid)
        todo += [c for c, parent in parents.items() if parent == pid and c not in mine]
    return sum(times.get(pid, 0) for pid in mine) / CLK_TCK


class Others:
    """Cores other processes kept busy while a phase ran: this is a shared 2-core machine
    (a colleague builds demos and runs tests), and figures taken under contention are noise."""

    def __enter__(self) -> Others:
        self.start, self.busy, self.own = time.perf_counter(), busy_cpu(), own_cpu()
        return self

    def __exit__(self, *_exc) -> None:
        elapsed = max(time.perf_counter() - self.start, 1e-3)
        self.cores = max(0.0, (busy_cpu() - self.busy - (own_cpu() - self.own)) / elapsed)


def wait_quiet(limit: float, max_other: float, window: float = 3.0) -> float:
    """Wait (up to `limit` s) until other processes use at most `max_other` cores."""
    deadline = time.time() + limit
    while True:
        with Others() as others:
            time.sleep(window)
        if others.cores <= max_other or time.time() > deadline:
            return others.cores
        print(f"  waiting: other processes busy {others.cores:.2f} cores", flush=True)
        time.sleep(10)


def measured(phase: Callable[[], object], args, what: str) -> tuple[object, float]:
    """Run `phase` when the machine is quiet; again (up to --retries) when others took more
    than --max-other cores meanwhile. Returns the result with the least contention."""
    best = None
    for attempt in range(1 + args.retries):
        wait_quiet(args.quiet_wait, args.max_other)
        with Others() as others:
            result = phase()
        if best is None or others.cores < best[1]:
            best = (result, others.cores)
        if others.cores <= args.max_other:
            break
        print(f"  {what}: other processes took {others.cores:.2f} cores"
              + (", again" if attempt < args.retries else ", kept the least contended"),
              flush=True)
    return best


class Server:
    """`placecode serve --no-worker` in its own process group (stopped by its id, also on
    errors). Spelled `python -m placecode.cli` like bench_ingest (see RESULTS.md)."""

    def __init__(self, db: str, instance: Path, log_dir: Path):
        self.db, self.instance, self.log_dir = db, instance, log_dir
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return os.environ | {"PLACECODE_INSTANCE_DIR": str(self.instance),
                             "PLACECODE_DATABASE_URL": self.db}

    def start(self, tries: int, wait: float) -> None:
        """Start and wait for /healthz; a server that exits (e.g. mid-edit source on the shared
        tree) is retried after `wait` seconds."""
        for attempt in range(1, tries + 1):
            self.port = free_port()
            self.log_path = self.log_dir / f"bench-wall-serve-{self.port}.log"
            with open(self.log_path, "w") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "placecode.cli", "serve", "--db", self.db,
                     "--port", str(self.port), "--no-worker"],
                    env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
            if self._healthy(timeout=180):
                return
            tail = "\n".join(self.log_path.read_text().splitlines()[-15:])
            self.stop()
            print(f"  server did not start (attempt {attempt}/{tries}):\n{tail}", flush=True)
            if attempt < tries:
                time.sleep(wait)
        raise BenchError(f"placecode serve did not start; log: {self.log_path}")

    def _healthy(self, timeout: float) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.3)
        return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # our own session: the server and its children
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        except ProcessLookupError:
            pass


def ensure_user(server: Server, role: str, district: int) -> str:
    """A user of `role` with PASSWORD: created by `placecode create-user`, or reused."""
    name = f"bench_wall_{role}"
    cmd = [sys.executable, "-m", "placecode.cli", "create-user", name, "--role", role,
           "--db", server.db]
    if role == "district_commander":
        cmd += ["--district", str(district)]
    done = subprocess.run(cmd, env=server.env() | {"PLACECODE_NEW_PASSWORD": PASSWORD},
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode != 0 and "exists already" not in done.stderr:
        raise BenchError(f"create-user {name}: {done.stderr.strip() or done.stdout.strip()}")
    return name


def db_info(url: str) -> DbInfo:
    engine = get_engine(url)
    with engine.connect() as conn:
        one = lambda q: conn.execute(q).scalar_one()  # noqa: E731
        info = DbInfo(
            engine.dialect.name,
            one(select(func.count()).select_from(t.venues)),
            one(select(func.count()).select_from(t.scans)),
            one(select(func.count(t.rollup_venue_day.c.day.distinct()))),
            one(select(func.min(t.districts.c.id))))
    engine.dispose()
    if not info.venues or info.first_district is None:
        raise BenchError(f"{redact(url)}: no demo city in it (build one with `placecode demo`)")
    return info


# -- the browser ----------------------------------------------------------------------------------

class Guard:
    """Route handler: requests that leave 127.0.0.1 are aborted and counted. Also keeps the
    browser's failed responses (HTTP >= 400) and JavaScript errors."""

    def __init__(self):
        self.external: list[str] = []
        self.failed: list[str] = []
        self.js_errors: list[str] = []

    def __call__(self, route) -> None:
        if LOCAL.match(route.request.url):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def watch(self, request) -> None:
        """For contexts without routing (it would disable the HTTP cache): count only; the
        browser's host-resolver rules resolve nothing but 127.0.0.1 anyway."""
        if not LOCAL.match(request.url):
            self.external.append(request.url)

    def response(self, response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.url}")

    def console(self, message) -> None:
        if message.type == "error":
            self.js_errors.append(message.text[:200])

    def web_error(self, error) -> None:
        self.js_errors.append(str(error.error)[:200])


def new_context(browser, guard: Guard, route: bool = True):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    if route:
        context.route("**/*", guard)
    else:
        context.on("request", guard.watch)
    context.add_init_script(FRAMES)
    context.on("response", guard.response)
    context.on("console", guard.console)
    context.on("weberror", guard.web_error)
    return context


def login_and_capture(browser, guard: Guard, base: str, username: str) -> tuple[dict, dict,
                                                                                 list, str]:
    """Log in, open the wall, keep the POST bodies of its first `check` and `refresh` calls;
    returns (check body, refresh body, the session's cookies, the user agent)."""
    context = new_context(browser, guard)
    bodies: list[dict] = []

    def on_request(request) -> None:
        if request.method == "POST" and "/_dash-update-component" in request.url:
            try:
                bodies.append(json.loads(request.post_data or "{}"))
            except ValueError:
                pass

    try:
        page = context.new_page()
        page.on("request", on_request)
        page.goto(base + "/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/", timeout=60_000)
        state = wait_drawn(page)
        if state["error"]:
            raise BenchError(f"{username}: the wall map failed: {state['error']}")
        deadline = time.time() + 60
        while time.time() < deadline and not (find(bodies, "wall-version.data")
                                              and find(bodies, "wall-map-spec.data")):
            page.wait_for_timeout(200)
        check, refresh = find(bodies, "wall-version.data"), find(bodies, "wall-map-spec.data")
        if not check or not refresh:
            outputs = [b.get("output") for b in bodies]
            raise BenchError(f"{username}: no check/refresh callback seen; outputs {outputs}")
        return check, refresh, context.cookies(), page.evaluate("navigator.userAgent")
    finally:
        context.close()


def find(bodies: list[dict], output: str) -> dict | None:
    return next((b for b in bodies if output in str(b.get("output", ""))), None)


def wait_drawn(page) -> dict:
    page.wait_for_function(READY, timeout=120_000)
    return page.evaluate("window.placecodeWall.state()")


def draw(page, navigate: Callable[[], None]) -> Draw:
    """Navigate, wait for the first draw, then until frames flow again (up to 60 s): a reload
    while the last page still renders would measure that page's leftovers."""
    navigate()
    state = wait_drawn(page)
    marks = page.evaluate(MILESTONES)
    first, smooth = state["firstDrawMs"], None
    if first is not None:
        try:
            page.wait_for_function(f"() => ({SMOOTH})({first}) !== null", timeout=60_000,
                                   polling=250)
            smooth = page.evaluate(SMOOTH, first)
        except PlaywrightTimeout:
            print(f"  frames did not flow again within 60 s of the first draw ({first} ms)")
    return Draw(first, state["venues"], state["error"], page.evaluate(TRANSFER),
                page.evaluate(NEXT_FRAME, first) if first is not None else None, smooth,
                marks["spec"], marks["layer"])


def first_draws(browser, guard: Guard, base: str, cookies: list, loads: int) -> BrowserResult:
    """Cold: a new context per load (empty cache; the session cookie added, no login page
    visited). Warm: `loads` reloads in one context after a first load that fills its cache;
    that context has no route handler, because Playwright's routing disables the HTTP cache."""
    out = BrowserResult()
    for _ in range(loads):
        context = new_context(browser, guard)
        try:
            context.add_cookies(cookies)
            page = context.new_page()
            out.cold.append(draw(page, lambda p=page: p.goto(base + "/", wait_until="commit")))
        finally:
            context.close()
    context = new_context(browser, guard, route=False)
    try:
        context.add_cookies(cookies)
        page = context.new_page()
        draw(page, lambda: page.goto(base + "/", wait_until="commit"))
        for _ in range(loads):
            out.warm.append(draw(page, lambda: page.reload(wait_until="commit")))
    finally:
        context.close()
    return out


# -- HTTP replays -------------------------------------------------------------------------------

def session_for(cookies: list, agent: str) -> requests.Session:
    s = requests.Session()
    for c in cookies:
        s.cookies.set(c["name"], c["value"], domain=c["domain"], path=c["path"])
    s.headers.update({"User-Agent": agent, "Accept-Encoding": "gzip, deflate"})
    return s


def timed(call: Callable[[int], requests.Response], runs: int) -> tuple[list[float],
                                                                       requests.Response]:
    call(-1)  # warm: not counted
    times, last = [], None
    for i in range(runs):
        start = time.perf_counter()
        last = call(i)
        times.append((time.perf_counter() - start) * 1000)
    return times, last


def ok(r: requests.Response, what: str) -> requests.Response:
    if r.status_code != 200:
        raise BenchError(f"{what}: HTTP {r.status_code}: {r.text[:300]}")
    return r


def replay_scope(s: requests.Session, base: str, role: str, check: dict, refresh: dict,
                 runs: int) -> ScopeResult:
    dash_url = base + "/_dash-update-component"
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               "X-CSRFToken": s.cookies.get("_csrf_token", "")}  # as dash-renderer sends it

    def call_check(_i: int) -> requests.Response:
        return ok(s.post(dash_url, data=json.dumps(check), headers=headers), f"{role} check")

    def call_refresh(i: int) -> requests.Response:
        body = json.loads(json.dumps(refresh))
        for item in body["inputs"]:
            if item.get("id") == "wall-version":
                item["value"] = f"{item.get('value')}:bench{i}"  # a new version: a real refresh
        return ok(s.post(dash_url, data=json.dumps(body), headers=headers), f"{role} refresh")

    def call_numbers(_i: int) -> requests.Response:
        return ok(s.get(base + "/wall-data/numbers.bin"), f"{role} numbers.bin")

    check_ms, _ = timed(call_check, runs)
    refresh_ms, answer = timed(call_refresh, runs)
    if "wall-map-spec" not in answer.text:
        raise BenchError(f"{role} refresh: the answer has no map spec: {answer.text[:300]}")
    numbers_ms, full = timed(call_numbers, runs)
    day, seq = full.headers["X-Day"], full.headers["X-Seq"]

    def call_since(_i: int) -> requests.Response:
        return ok(s.get(base + "/wall-data/numbers.bin", params={"day": day, "since": seq}),
                  f"{role} numbers.bin?since")

    since_ms, delta = timed(call_since, runs)
    return ScopeResult(role, 0.0, check_ms, refresh_ms, len(answer.content), numbers_ms, since_ms,
                       int(delta.headers.get("X-Count", -1)))


def body_size(s: requests.Session, url: str, gzip: bool) -> int:
    """Bytes of the body as sent (compressed when gzip), not as decoded."""
    r = s.get(url, headers={"Accept-Encoding": "gzip" if gzip else "identity"}, stream=True)
    ok(r, url)
    raw = r.raw.read(decode_content=False)
    if gzip != (r.headers.get("Content-Encoding") == "gzip"):
        raise BenchError(f"{url}: Content-Encoding {r.headers.get('Content-Encoding')!r} with "
                         f"Accept-Encoding {'gzip' if gzip else 'identity'}")
    return len(raw)


def layer_sizes(s: requests.Session, base: str) -> dict[str, tuple[int, int]]:
    return {name: (body_size(s, f"{base}/wall-data/{name}", True),
                   body_size(s, f"{base}/wall-data/{name}", False))
            for name in ("venues.bin", "numbers.bin")}


# -- one database ---------------------------------------------------------------------------------

def bench_db(browser, url: str, instance: Path, args, log_dir: Path) -> tuple[list[str],
                                                                            list[str], int]:
    info = db_info(url)
    print(f"{redact(url)}: {info.backend}, {info.venues:,} venues, {info.scans:,} scans, "
          f"{info.days} days of venue rollups; instance {instance}", flush=True)
    server = Server(url, instance, log_dir)
    guard = Guard()
    try:
        stamp = source_stamp()  # what the server imports now (the tree changes under us)
        server.start(args.start_tries, args.start_wait)
        print(f"  serving {server.url} (log {server.log_path}), source {stamp}", flush=True)
        scopes, sizes, cookies_city = [], {}, None
        for role in ROLES:
            name = ensure_user(server, role, info.first_district)
            check, refresh, cookies, agent = login_and_capture(browser, guard, server.url, name)
            with session_for(cookies, agent) as s:
                result, others = measured(
                    lambda s=s, role=role, check=check, refresh=refresh: replay_scope(
                        s, server.url, role, check, refresh, args.runs), args, role)
                result.others = others
                if role == "city_commander":
                    cookies_city, sizes = cookies, layer_sizes(s, server.url)
            scopes.append(result)
            print(f"  {role}: check {summary(result.check_ms)} ms, refresh "
                  f"{summary(result.refresh_ms)} ms ({result.refresh_bytes / 1000:.1f} kB), "
                  f"numbers.bin {summary(result.numbers_ms)} ms, since "
                  f"{summary(result.since_ms)} ms ({result.since_rows:,} rows); others "
                  f"{others:.2f} cores", flush=True)
        assets = asset_stamp()
        browser_result, others = measured(
            lambda: first_draws(browser, guard, server.url, cookies_city, args.loads), args,
            "first draws")
        assets = stamp_span(assets, asset_stamp())
        browser_result.sizes, browser_result.others = sizes, others
    finally:
        server.stop()
    report(info, scopes, browser_result, guard)
    return (scope_rows(info, scopes, stamp),
            [db_row(info, browser_result, guard, f"{stamp}, {assets}")],
            len(guard.external))


def summary(times: list[float]) -> str:
    return f"{min(times):.1f} / {statistics.median(times):.1f} / {max(times):.1f}"


def median_draw(draws: list[Draw]) -> float | None:
    done = [d.first_draw_ms for d in draws if d.first_draw_ms is not None]
    return statistics.median(done) if len(done) == len(draws) and done else None


def ms(v: float | None) -> str:
    return "–" if v is None else f"{v:,.0f}"


def med(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def report(info: DbInfo, scopes: list[ScopeResult], b: BrowserResult, guard: Guard) -> None:
    gz = sum(v[0] for v in b.sizes.values())
    raw = sum(v[1] for v in b.sizes.values())
    for name, (g, r) in b.sizes.items():
        print(f"  {name}: {mb(g)} gzip, {mb(r)} raw")
    for label, draws in (("cold", b.cold), ("warm", b.warm)):
        print(f"  first draw {label}: " + ", ".join(
            f"{d.first_draw_ms} ms (next frame {ms(d.next_frame_ms)}, smooth "
            f"{ms(d.smooth_ms)}, spec {ms(d.spec_ms)}, "
            f"layer data {ms(d.layer_ms)}; "
            f"{d.venues:,} venues, {mb(d.transfer)} transferred"
            + (f", error {d.error}" if d.error else "") + ")" for d in draws)
            + f"; others {b.others:.2f} cores")
    refresh = max(statistics.median(s.refresh_ms) for s in scopes)
    cold, warm = median_draw(b.cold), median_draw(b.warm)
    drawn = {d.venues for d in b.cold + b.warm}
    verdict = lambda good: "met" if good else "NOT met"  # noqa: E731
    print(f"  goal refresh < {GOALS['refresh_ms']} ms (slowest scope's median {refresh:.1f} ms):"
          f" {verdict(refresh < GOALS['refresh_ms'])}")
    print(f"  goal layer < 3 MB gzip ({mb(gz)}; raw {mb(raw)}): "
          f"{verdict(gz < GOALS['layer_bytes'])}")
    print(f"  goal first draw < 2 s (cold {cold} ms, warm {warm} ms): "
          f"{verdict(cold is not None and warm is not None and max(cold, warm) < 2000)}")
    print(f"  venues drawn {sorted(drawn)} vs {info.venues:,} in the database: "
          f"{'ok' if drawn == {info.venues} else 'MISMATCH'}; external requests "
          f"{len(guard.external)}" + (f" {guard.external[:5]}" if guard.external else ""),
          flush=True)
    for what, items in (("HTTP >= 400 in the browser", guard.failed),
                        ("JavaScript errors", guard.js_errors)):
        if items:
            print(f"  {what}: {len(items)}, e.g. " + "; ".join(sorted(set(items))[:5]))


# -- RESULTS.md -----------------------------------------------------------------------------------

def prefix(info: DbInfo) -> str:
    return (f"| {date.today()} | {machine()} | {info.backend} | {info.venues:,} | "
            f"{info.scans:,} ({info.days} d) |")


def ms3(times: list[float]) -> str:
    return f"{min(times):.1f} / **{statistics.median(times):.1f}** / {max(times):.1f}"


def scope_rows(info: DbInfo, scopes: list[ScopeResult], stamp: str) -> list[str]:
    return [f"{prefix(info)} {s.role} | {len(s.check_ms)} | {ms3(s.check_ms)} | "
            f"{ms3(s.refresh_ms)} | {s.refresh_bytes / 1000:.1f} | "
            f"{statistics.median(s.numbers_ms):.1f} | {statistics.median(s.since_ms):.1f} "
            f"({s.since_rows:,}) | {s.others:.2f} | {stamp} |" for s in scopes]


def db_row(info: DbInfo, b: BrowserResult, guard: Guard, stamp: str) -> str:
    (vg, vr), (ng, nr) = b.sizes["venues.bin"], b.sizes["numbers.bin"]
    bold = lambda v: f"**{v:,.0f}**" if v is not None else "**failed**"  # noqa: E731
    each = lambda ds: ", ".join(ms(d.first_draw_ms) for d in ds)  # noqa: E731
    drawn = sorted({d.venues for d in b.cold + b.warm})
    return (f"{prefix(info)} {mb(vg)} / {mb(vr)} | {mb(ng)} / {mb(nr)} | **{mb(vg + ng)}** / "
            f"{mb(vr + nr)} | {bold(median_draw(b.cold))} ({each(b.cold)}) | "
            f"{bold(median_draw(b.warm))} ({each(b.warm)}) | "
            f"{ms(med(d.next_frame_ms for d in b.cold))} / "
            f"{ms(med(d.next_frame_ms for d in b.warm))} | "
            f"{ms(med(d.smooth_ms for d in b.cold))} / {ms(med(d.smooth_ms for d in b.warm))} | "
            f"{ms(med(d.spec_ms for d in b.cold))} / {ms(med(d.layer_ms for d in b.cold))} | "
            f"{mb(statistics.median(d.transfer for d in b.cold))} / "
            f"{mb(statistics.median(d.transfer for d in b.warm))} | "
            f"{', '.join(f'{n:,}' for n in drawn)} of {info.venues:,} | "
            f"{len(guard.external)} | {len(guard.failed)} / {len(guard.js_errors)} | "
            f"{b.others:.2f} | {stamp} |")


COMMON = ["date", "machine", "database", "venues", "scans (days of rollups)"]
SCOPE_COLUMNS = COMMON + ["scope", "N", "check ms min / med / max", "refresh ms min / med / max",
                          "refresh answer kB", "numbers.bin whole day ms (med)",
                          "numbers.bin since ms (med) (rows)", "other cores", "source"]
DB_COLUMNS = COMMON + ["venues.bin gzip / raw", "numbers.bin gzip / raw", "layer total gzip / raw",
                       "first draw cold ms", "first draw warm ms",
                       "next frame cold / warm ms (med)", "smooth cold / warm ms (med)",
                       "cold: spec / layer data ms (med)", "page MB cold / warm",
                       "venues drawn", "external", "HTTP ≥ 400 / JS errors", "other cores",
                       "source"]


def header(columns: list[str]) -> str:
    return "| " + " | ".join(columns) + " |\n" + "| --- " * len(columns) + "|\n"


PREAMBLE = """Goals: one wall refresh < 300 ms of server time; the venue layer < 3 MB compressed;
< 2 s from navigation to the first frame drawn with every venue. `placecode serve --no-worker`
(Flask's threaded server, one process) on 127.0.0.1, one user per role scope logged in with headless
Chromium (Playwright, 1920×1080, `--disable-gpu`: WebGL in software). The `check` (every tick:
version lookups) and `refresh` (everything on the wall; its `wall-version` input changed on each
run so it is never a no-op) bodies are the ones the browser POSTed to `/_dash-update-component`,
replayed over HTTP with the browser's session cookie, N times after one warm-up; ms are round trips
on localhost (the server's time plus ~1 ms). numbers.bin: the whole day (no `since`), and a delta
`since` the X-Seq of a whole-day answer (rows returned in brackets: the route re-asks 10 s back).
"other cores": CPU other processes took meanwhile (a shared 2-core machine: each phase first waits
up to 3 min for < 0.3 cores, and is repeated up to twice when others took more; the least contended
attempt is kept). "source" names the application code the server ran (hash of the .py files,
newest file's time; in the second table also assets/*.js and *.css, read from disk per request).

""" + header(SCOPE_COLUMNS) + """
""" + SUBHEADING + """

Bytes as sent for the city commander, gzip (Accept-Encoding: gzip, as every browser asks) / raw
(identity): `/wall-data/venues.bin` (positions and kinds, ETag) and `/wall-data/numbers.bin` (the
whole day's numbers). First draw = `window.placecodeWall.state().firstDrawMs`, i.e.
`performance.now()` (ms since navigation start) at the first deck.gl frame with the whole venue
layer loaded; median of the loads (each in brackets). "next frame": when the first animation frame
after it started, i.e. the main thread was free again (software WebGL here: deck.gl stamps
firstDrawMs when it has issued a frame, whose GPU work can then hold the page for seconds);
"smooth": from when frames flowed again (10 in a row < 100 ms apart); the next load waits for it.
"spec / layer data": ms after navigation when the refresh answer (the map spec) and both
venue-layer files had arrived (cold loads, median). Cold: a new browser context per load with only
the session cookie (nothing cached, no login page seen). Warm: reloads in one context after a first
load; that context has no Playwright route handler (routing disables the HTTP cache), the others
abort any request leaving 127.0.0.1; the browser resolves no host but 127.0.0.1 either way.
"page MB" = transferSize summed over the navigation and every resource (cold / warm).
"external" = requests that tried to leave 127.0.0.1; "HTTP ≥ 400 / JS errors": failed responses
and JavaScript errors the browser saw (all phases).

""" + header(DB_COLUMNS)


def record(scope_lines: list[str], db_lines: list[str]) -> None:
    """Two tables in one section: record_section appends after the last table of a section, so
    the scope rows go in through a copy of the file cut at the second table's heading."""
    if HEADING not in RESULTS.read_text():
        record_section(RESULTS, HEADING, PREAMBLE, [])
    record_section(RESULTS, SUBHEADING, "", db_lines)  # the section's last table
    text = RESULTS.read_text()
    cut = text.index("\n" + SUBHEADING + "\n", text.index(HEADING))
    head, tail = text[:cut], text[cut:]
    with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as tmp:
        tmp.write(head)
    part = Path(tmp.name)
    try:
        record_section(part, HEADING, "", scope_lines)
        RESULTS.write_text(part.read_text().rstrip("\n") + "\n" + tail)
    finally:
        part.unlink()


# -- main -----------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", action="append", required=True, help="database URL (repeat)")
    parser.add_argument("--instance", action="append", type=Path, default=[],
                        help="PLACECODE_INSTANCE_DIR: once for all databases or once per --db "
                             "(default: a temporary folder)")
    parser.add_argument("--runs", type=int, default=20, help="replays per timed request")
    parser.add_argument("--loads", type=int, default=3, help="page loads per cold/warm")
    parser.add_argument("--start-tries", type=int, default=3)
    parser.add_argument("--start-wait", type=float, default=60,
                        help="seconds before retrying a server that did not start")
    parser.add_argument("--quiet-wait", type=float, default=180,
                        help="before each phase, wait up to this long for the machine to be idle")
    parser.add_argument("--max-other", type=float, default=0.3,
                        help="a phase during which other processes used more cores is repeated")
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args()
    if len(args.instance) not in (0, 1, len(args.db)):
        parser.error("give --instance once, or once per --db")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium not found at {CHROMIUM} (PLACECODE_CHROMIUM)")

    tmp = Path(tempfile.mkdtemp(prefix="placecode-bench-wall-"))
    instances = args.instance * len(args.db) if len(args.instance) == 1 else \
        args.instance or [tmp / f"instance-{i}" for i in range(len(args.db))]
    scope_lines, db_lines, external = [], [], 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
        try:
            for url, instance in zip(args.db, instances, strict=True):
                try:
                    rows, row, ext = bench_db(browser, url, instance, args, tmp)
                except BenchError as exc:
                    raise SystemExit(f"bench_wall: {redact(url)}: {exc}") from None
                scope_lines += rows
                db_lines += row
                external += ext
        finally:
            browser.close()
    print("\n".join(scope_lines + db_lines))
    if external:
        print(f"WARNING: {external} requests tried to leave 127.0.0.1 (aborted)")
    if not args.no_record:
        record(scope_lines, db_lines)
        print(f"recorded in {RESULTS}")


if __name__ == "__main__":
    main()
