"""A real server on a free port with the small demo, and headless Chromium through Playwright.

Every request that leaves localhost is aborted and fails the test that made it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete

from placecode.auth.users import create_user
from placecode.db.schema import users
from tests.conftest import SECRET, DemoDb, build_small, demo_now, free_port

CHROMIUM = os.environ.get("PLACECODE_CHROMIUM", "/usr/bin/chromium")
LOCAL = re.compile(r"^(https?://(127\.0\.0\.1|localhost)(:\d+)?/|data:|blob:|about:)")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORDS = {"cmd": "commander-pass-1", "plan": "planner-pass-1", "huancui": "district-pass-1",
             "adm": "admin-pass-1", "field": "field-pass-1", "duty": "officer-pass-1"}


@dataclass
class Server:
    url: str
    db: DemoDb


def start_server(instance: Path, db_url: str, workers: int = 1):
    """`placecode serve` in a subprocess on a free port; returns (url, process, log file).
    `workers` > 1: gunicorn with that many processes."""
    port = free_port()
    env = {**os.environ, "PLACECODE_INSTANCE_DIR": str(instance), "PLACECODE_SECRET_KEY": SECRET,
           "PLACECODE_LANG": "zh", "PLACECODE_WALL_REFRESH_SECONDS": "2"}
    log = open(instance / "server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "placecode.cli", "serve", "--db", db_url,
                             "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)
            return url, proc, log
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail("the server did not start:\n" + (instance / "server.log").read_text())
            time.sleep(0.3)


def stop_server(proc, log) -> None:
    proc.terminate()
    proc.wait(10)
    log.close()


def add_test_users(db: DemoDb) -> None:
    """One user per role the tests log in as, with the passwords above."""
    with db.engine.begin() as conn:
        create_user(conn, "cmd", "city_commander", PASSWORDS["cmd"])
        create_user(conn, "plan", "planner", PASSWORDS["plan"])
        create_user(conn, "huancui", "district_commander", PASSWORDS["huancui"], 371002)
        create_user(conn, "adm", "admin", PASSWORDS["adm"])
        create_user(conn, "duty", "duty_officer", PASSWORDS["duty"], 371002)
        # the demo's `field` login (its password is random): one the tests know, same staff row
        conn.execute(delete(users).where(users.c.username == "field"))
        create_user(conn, "field", "field_staff", PASSWORDS["field"], 371002)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    """The small demo city, with one user per role the tests log in as."""
    instance = tmp_path_factory.mktemp("server")
    db = build_small(f"sqlite:///{instance / 'wall.db'}", instance, demo_now())
    add_test_users(db)
    url, proc, log = start_server(instance, db.url)
    yield Server(url, db)
    stop_server(proc, log)


@pytest.fixture
def empty_server(tmp_path) -> Iterator[str]:
    """A server on a database with tables but no city yet, and one commander."""
    from placecode.db.engine import get_engine, init_db

    url_db = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = get_engine(url_db)
    init_db(engine)
    with engine.begin() as conn:
        create_user(conn, "cmd", "city_commander", PASSWORDS["cmd"])
    url, proc, log = start_server(tmp_path, url_db)
    yield url
    stop_server(proc, log)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import Error, sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (apt-get install chromium)")
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
        except Error as exc:
            pytest.fail(f"Chromium did not start: {exc}")
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A 1920×1080 page; any request leaving localhost is blocked and fails the test."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    external: list[str] = []

    def guard(route):
        if LOCAL.match(route.request.url):
            return route.continue_()
        external.append(route.request.url)
        return route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    yield pg
    context.close()
    assert external == [], f"requests left localhost: {external}"


def login(page, server: Server, username: str, lang: str | None = None) -> None:
    page.goto(server.url + "/login" + (f"?lang={lang}" if lang else ""))
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.click("button[type=submit]")
    # logged in once the login page is left: a goto before that would cancel the POST
    page.wait_for_url(lambda url: "/login" not in url)


def dash_post(page, server: Server, body):
    """A raw callback request with this page's session, as dash-renderer sends it: JSON, with
    the session's CSRF token from its cookie in X-CSRFToken."""
    token = next((c["value"] for c in page.context.cookies(server.url)
                  if c["name"] == "_csrf_token"), "")
    return page.request.post(server.url + "/_dash-update-component", data=body, headers={
        "Content-Type": "application/json", "X-CSRFToken": token})


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
