"""A big demo city is served with its newest scan days; the older days load afterwards, once, and
the result is the same city a full build makes."""

from __future__ import annotations

import dataclasses

import numpy as np
from sqlalchemy import func, select

from placecode.db import schema as t
from placecode.db.bulk import bulk_insert, commit
from placecode.db.engine import get_engine
from placecode.demo import backfill
from placecode.demo.activity import read_day
from placecode.demo.build import build_demo
from placecode.demo.presets import PRESETS
from tests.conftest import SECRET

NOW = np.datetime64("2026-11-25T15:00:00")
COLUMNS = [t.scans.c[name] for name in ("scan_id", "venue_id", "person_id", "ts", "verdict",
                                        "reasons", "mask", "credential")]


def build(url, instance, served_days, replace=False):
    engine = get_engine(url)
    preset = dataclasses.replace(PRESETS["small"], served_days=served_days)
    build_demo(engine, preset=preset, days=3, now=NOW, secret=SECRET, instance=instance,
               progress=False, replace=replace)
    return engine


def scans(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(select(*COLUMNS).order_by(t.scans.c.scan_id)).all()


def scan_days(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted({str(ts)[:10] for (ts,) in conn.execute(
            select(func.min(t.scans.c.ts)).group_by(func.substr(t.scans.c.scan_id, 1, 13)))})


def rollup_days(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count(func.distinct(t.rollup_venue_day.c.day)))).scalar()


def test_backfill_completes_the_city_a_full_build_makes(db_url, tmp_path):
    engine = build(db_url, tmp_path / "served", served_days=1)
    # served at once: today's scans and the rollups of all three days
    assert scan_days(engine) == ["2026-11-25"]
    assert rollup_days(engine) == 3
    waiting = backfill.pending(tmp_path / "served")
    assert [p.stem for p in waiting] == ["2026-11-24", "2026-11-23"]
    assert {p.stat().st_mode & 0o777 for p in waiting} == {0o600}

    # an interrupted backfill: half of the newest waiting day got in before it stopped
    newest = read_day(backfill.pending(tmp_path / "served")[0])
    half = {k: v[: len(v) // 2] for k, v in newest.items()}
    with engine.connect() as conn:
        bulk_insert(conn, t.scans, half, skip_existing=True)
        commit(conn)

    done = backfill.backfill(engine, tmp_path / "served", progress=False)
    assert done.days == 2 and "2 older days" in done.message
    assert backfill.pending(tmp_path / "served") == []

    full = build(f"sqlite:///{tmp_path / 'full.db'}", tmp_path / "full", served_days=60)
    assert scans(engine) == scans(full)  # every scan once: none lost, none twice
    again = backfill.backfill(engine, tmp_path / "served", progress=False)
    assert again.days == 0 and again.message == "no scan days waiting to be loaded"


def test_a_rebuilt_city_never_gets_an_earlier_builds_days(tmp_path):
    url = f"sqlite:///{tmp_path / 'city.db'}"
    engine = build(url, tmp_path, served_days=1)
    stale = tmp_path / "stale"
    backfill.backlog(tmp_path).rename(stale)
    engine = build(url, tmp_path, served_days=3, replace=True)  # keeps no backlog of its own
    assert backfill.pending(tmp_path) == []
    stale.rename(backfill.backlog(tmp_path))  # e.g. restored from a copy of the old instance
    before = scans(engine)
    done = backfill.backfill(engine, tmp_path, progress=False)
    assert done.days == 0 and "earlier build" in done.message
    assert scans(engine) == before
    assert not backfill.backlog(tmp_path).exists()
