"""`placecode backup` / `restore` on both databases: what comes back equals what went in."""

from __future__ import annotations

from sqlalchemy import func, select

from placecode.db import schema as t
from placecode.db.engine import get_engine
from tests.cli.test_cli import assert_one_line_error, placecode
from tests.conftest import SECRET

ENV = {"PLACECODE_SECRET_KEY": SECRET}
TABLES = (t.scans, t.persons, t.venues, t.rollup_venue_day, t.audit_log)


def counts(url: str) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        return {tb.name: conn.execute(select(func.count()).select_from(tb)).scalar_one()
                for tb in TABLES}


def test_backup_then_restore_gives_the_same_city(demo_db, tmp_path, request):
    out = tmp_path / "city.backup"
    done = placecode("backup", str(out), "--db", demo_db.url, tmp_path=tmp_path, env=ENV)
    assert done.returncode == 0, done.stderr
    assert "backed up" in done.stdout and out.stat().st_size > 0
    again = placecode("backup", str(out), "--db", demo_db.url, tmp_path=tmp_path, env=ENV)
    assert_one_line_error(again, "exists")  # never overwritten
    if demo_db.backend == "sqlite":
        target = f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        target = request.getfixturevalue("pg_server").create_database()
    done = placecode("restore", str(out), "--db", target, tmp_path=tmp_path, env=ENV)
    assert done.returncode == 0, done.stderr
    assert counts(target) == counts(demo_db.url)
    assert counts(target)["scans"] > 0
    twice = placecode("restore", str(out), "--db", target, tmp_path=tmp_path, env=ENV)
    assert twice.returncode != 0  # a database with rows is not restored over without --force
    assert counts(target) == counts(demo_db.url)
