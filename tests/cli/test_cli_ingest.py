"""Ingest commands as an operator runs them: tokens, feed import, re-evaluation, the simulator
against a served app with a receiver, and one clear line for every mistake."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from placecode.db import schema as t
from placecode.dispatch.receiver import Receiver
from tests.cli.conftest import run
from tests.cli.test_cli import assert_one_line_error, placecode
from tests.conftest import SECRET, free_port

SAMPLES = Path(__file__).parents[1] / "data" / "feeds"


def test_import_reports_rows_and_writes_rejects(city, tmp_path):
    path = tmp_path / "tests.csv"
    shutil.copy(SAMPLES / "tests.csv", path)
    with path.open("a", encoding="utf-8") as f:
        f.write("370102198806151239,nucleic,not-a-time,negative,,\n")
    first = run(city, "import", "tests", str(path), "--quiet")
    assert first.returncode == 0, first.stderr
    assert "4 rows read, 3 valid, 3 new, 1 rejected" in first.stdout
    assert "line 5: sampled_at: 'not-a-time' is not an ISO 8601 time" in first.stdout
    assert (tmp_path / "tests.csv.rejects.csv").exists()
    again = run(city, "import", "tests", str(path), "--quiet")
    assert "3 valid, 0 new" in again.stdout


@pytest.mark.parametrize("args, words", [
    (("import", "labs", "x.csv"), ["unknown feed 'labs'", "tests"]),
    (("import", "tests", "/nonexistent/t.csv"), ["no such file"]),
    (("issue-token", "--kind", "wall", "--district", "999"), ["district 999 does not exist"]),
    (("revoke-token", "4242"), ["no active token with id 4242"]),
    (("simulate", "--rate", "0"), ["--rate 0"]),
])
def test_operator_mistakes_are_one_clear_line(city, args, words):
    assert_one_line_error(run(city, *args), *words)


def test_bad_feed_file_is_one_clear_line(city, tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("person,dose\n370102198806151239,1\n")
    assert_one_line_error(run(city, "import", "vaccinations", str(path)),
                          "required column", "vaccinated_on")


def test_reevaluate_reports_flagged_persons(city):
    result = run(city, "reevaluate", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "re-evaluated 20,0" in result.stdout and "red" in result.stdout


def test_simulator_streams_scans_through_the_served_api_and_alerts_are_pushed(city):
    from placecode.db.engine import get_engine

    engine = get_engine(f"sqlite:///{city / 'placecode.db'}")
    receiver = Receiver("127.0.0.1", free_port())
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    with engine.begin() as conn:
        conn.execute(update(t.webhooks).values(url=func.replace(
            t.webhooks.c.url, "127.0.0.1:8061", f"127.0.0.1:{receiver.server_address[1]}")))
        before = conn.execute(select(func.count()).select_from(t.scans)).scalar()
    port = free_port()
    env = {"PLACECODE_SECRET_KEY": SECRET, "PLACECODE_PORT": str(port)}

    server = subprocess.Popen(
        [sys.executable, "-m", "placecode.cli", "serve"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("PLACECODE_")},
             "PLACECODE_INSTANCE_DIR": str(city), **env})
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                assert time.time() < deadline and server.poll() is None, "server did not start"
                time.sleep(0.3)
        sim = placecode("simulate", "--rate", "400", "--duration", "4", "--flat", "--quiet",
                        tmp_path=city, env=env)
        assert sim.returncode == 0, sim.stderr
        sent = int(sim.stdout.split("sent ")[1].split(" scans")[0].replace(",", ""))
        assert sent > 500 and "errors 0" in sim.stdout
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(t.scans)).scalar() - before
            alerts = conn.execute(select(func.count()).select_from(t.alerts)).scalar()
        assert stored == sent
        deadline = time.time() + 20  # the server's outbox worker pushes every alert
        while len(receiver.received) < alerts * 2 and time.time() < deadline:
            time.sleep(0.5)
        assert alerts > 0 and len(receiver.received) == alerts * 2
        assert all(json.dumps(a, ensure_ascii=False).count("person_key") == 1
                   for a in receiver.received.values())
    finally:
        server.terminate()
        server.wait(10)
        receiver.shutdown()
