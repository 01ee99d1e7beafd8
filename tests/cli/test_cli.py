"""The CLI as a user runs it: one clear line on bad input, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def placecode(*args: str, tmp_path, env: dict | None = None) -> subprocess.CompletedProcess:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PLACECODE_")}
    full_env = {**inherited, "PLACECODE_INSTANCE_DIR": str(tmp_path), **(env or {})}
    return subprocess.run([sys.executable, "-m", "placecode.cli", *args], capture_output=True,
                          text=True, env=full_env, timeout=120)


def assert_one_line_error(result, *words: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for w in words:
        assert w in lines[0]


def test_cli_unknown_preset_is_one_clear_line(tmp_path):
    result = placecode("demo", "--preset", "nope", tmp_path=tmp_path)
    assert_one_line_error(result, "nope", "small", "city")


@pytest.mark.parametrize("url,words", [
    ("postgresql+psycopg://nobody@127.0.0.1:1/none", ["cannot connect", "127.0.0.1"]),
    ("not a url", ["not a valid"]),
    ("sqlite:////proc/forbidden/x.db", ["x.db"]),
])
def test_cli_unreachable_db_is_one_clear_line(tmp_path, url, words):
    result = placecode("init-db", "--db", url, tmp_path=tmp_path)
    assert_one_line_error(result, *words)


def test_cli_demo_bad_days_and_now(tmp_path):
    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert_one_line_error(placecode("demo", "--db", db, "--days", "0", tmp_path=tmp_path),
                          "--days")
    assert_one_line_error(placecode("demo", "--db", db, "--now", "yesterday", tmp_path=tmp_path),
                          "--now", "ISO")


def test_cli_backfill_without_waiting_days_says_so(tmp_path):
    result = placecode("demo", "--backfill", "--db", f"sqlite:///{tmp_path / 'none.db'}",
                       tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no scan days waiting to be loaded"


def test_cli_init_db_then_create_user(tmp_path):
    db = f"sqlite:///{tmp_path / 'x.db'}"
    first = placecode("init-db", "--db", db, tmp_path=tmp_path)
    assert first.returncode == 0 and "admin" in first.stdout
    assert (tmp_path / "admin-password.txt").exists()
    ok = placecode("create-user", "ann", "--role", "planner", "--db", db, tmp_path=tmp_path,
                   env={"PLACECODE_NEW_PASSWORD": "planner-pass-1"})
    assert ok.returncode == 0 and "ann (planner)" in ok.stdout
    again = placecode("create-user", "ann", "--role", "planner", "--db", db, tmp_path=tmp_path,
                      env={"PLACECODE_NEW_PASSWORD": "planner-pass-1"})
    assert_one_line_error(again, "exists")
    weak = placecode("create-user", "bob", "--role", "planner", "--db", db, tmp_path=tmp_path,
                     env={"PLACECODE_NEW_PASSWORD": "short"})
    assert_one_line_error(weak, "password")


def test_cli_bad_setting_is_one_clear_line(tmp_path):
    result = placecode("init-db", tmp_path=tmp_path, env={"PLACECODE_LANG": "fr"})
    assert_one_line_error(result, "PLACECODE_LANG")


def test_cli_demo_prints_logins_for_every_role(tmp_path):
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = placecode("demo", "--db", db, "--quiet", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "built the weihai demo (small)" in result.stdout
    logins = (tmp_path / "demo-logins.txt")
    assert logins.stat().st_mode & 0o777 == 0o600
    roles = {line.split("\t")[1] for line in logins.read_text().splitlines()[1:]}
    assert roles == {"admin", "city_commander", "district_commander", "duty_officer", "planner",
                     "field_staff"}
    for line in logins.read_text().splitlines()[1:]:
        assert line.split("\t")[2] in result.stdout  # printed on the console too
    again = placecode("demo", "--db", db, "--quiet", "--if-missing", tmp_path=tmp_path)
    assert again.returncode == 0 and "reusing the weihai city" in again.stdout
    refused = placecode("demo", "--db", db, "--quiet", tmp_path=tmp_path)
    assert_one_line_error(refused, "--replace")
