"""Shared fixtures: a real PostgreSQL started by the test session, SQLite files, demo databases.

Nothing here skips: when PostgreSQL or Chromium cannot be started the tests fail, with the reason
(`make test` installs both). With pytest-xdist each worker starts its own server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, create_engine, text

from placecode.clock import DEFAULT_TIMEZONE
from placecode.db.engine import get_engine
from placecode.demo.build import BuildReport, build_demo, parse_now

PG_BIN_DIRS = [Path("/usr/lib/postgresql/15/bin"),
               *sorted(Path("/usr/lib/postgresql").glob("*/bin"))]
SECRET = "test-secret-not-for-production"
BACKENDS = ["sqlite", "postgresql"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name: str) -> str:
    for d in PG_BIN_DIRS:
        if (d / name).exists():
            return str(d / name)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"PostgreSQL's {name} not found: run `make test` "
                    "(it apt-get installs postgresql-15)")
    return found


@dataclass
class PgServer:
    port: int
    admin_url: str

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server in a temporary directory, as the postgres user when we are root."""
    base = Path(tempfile.mkdtemp(prefix="placecode-pg-"))
    data = base / "data"
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(base, "postgres", "postgres")
    port = free_port()

    def run(*cmd: str) -> None:
        result = subprocess.run([*run_as, *cmd], capture_output=True, text=True)
        if result.returncode:
            pytest.fail(f"PostgreSQL did not start ({' '.join(cmd[:2])}): "
                        f"{(result.stderr or result.stdout).strip()[-600:]}")

    run(_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
        "--no-sync")
    run(_pg_bin("pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60", "-o",
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=400", "start")
    server = PgServer(port, f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
    try:
        yield server
    finally:
        subprocess.run([*run_as, _pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> str:
    """An empty database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("pg_server").create_database()


@dataclass
class DemoDb:
    backend: str
    url: str
    engine: Engine
    instance: Path
    now: np.datetime64
    report: BuildReport


def demo_now() -> np.datetime64:
    """The demo's 'now' for tests: yesterday 15:00 city time. Fixed within a day (no midnight
    surprises); the wall shows it as a demo snapshot."""
    today = parse_now(None, DEFAULT_TIMEZONE).astype("datetime64[D]")
    return (today - 1).astype("datetime64[s]") + np.timedelta64(15 * 3600, "s")


def build_small(url: str, instance: Path, now: np.datetime64, seed: int = 7) -> DemoDb:
    engine = get_engine(url)
    report = build_demo(engine, preset="small", seed=seed, now=now, secret=SECRET,
                        instance=instance, progress=False)
    return DemoDb(engine.dialect.name, url, engine, instance, now, report)


def _small_city(request, tmp_path_factory, name: str) -> DemoDb:
    instance = tmp_path_factory.mktemp(f"{name}-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{instance / f'{name}.db'}"
    else:
        url = request.getfixturevalue("pg_server").create_database()
    return build_small(url, instance, demo_now())


@pytest.fixture(scope="session", params=BACKENDS)
def demo_db(request, tmp_path_factory) -> DemoDb:
    """The `small` demo city on each backend, built once per session (read-only for tests)."""
    return _small_city(request, tmp_path_factory, "demo")


@pytest.fixture(scope="module", params=BACKENDS)
def city_db(request, tmp_path_factory) -> DemoDb:
    """A `small` city on each backend that this test module may change (built per module)."""
    return _small_city(request, tmp_path_factory, "city")
