"""Re-evaluation after a rule change, in the background, with progress others can read.

Progress lives in `meta` (key `reevaluation`), so every worker process and page sees it; one job
runs at a time across every process (a lock in the database, placecode.db.locks). A change saved
while a pass runs is not lost: the pass, when it ends, sees the newer rules version and starts
another with it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime

import numpy as np
from sqlalchemy import Engine, delete, insert, select

from placecode.db.locks import job_lock
from placecode.db.schema import meta
from placecode.rules.status import reevaluate_all
from placecode.rules.store import load_rules

KEY = "reevaluation"


def _write(engine: Engine, state: dict) -> None:
    with engine.begin() as conn:
        conn.execute(delete(meta).where(meta.c.key == KEY))
        conn.execute(insert(meta).values(key=KEY, value=json.dumps(state)))


def reevaluation_state(engine: Engine) -> dict | None:
    """{version, done, total, finished, persons, seconds, error} of the latest pass, or None."""
    with engine.connect() as conn:
        value = conn.execute(select(meta.c.value).where(meta.c.key == KEY)).scalar()
    return json.loads(value) if value else None


def start_reevaluation(engine: Engine, version: int, clock: Callable[[], datetime]) -> bool:
    """Start a background pass unless one runs in any process; True when started."""
    held = ExitStack()
    if not held.enter_context(job_lock(engine, KEY)):
        held.close()
        return False

    def run() -> None:
        try:
            passed = _one_pass(engine, version, clock)
        finally:
            held.close()
        if passed:
            with engine.connect() as conn:
                latest = load_rules(conn).version
            if latest != version:  # saved while this pass ran: its start found the lock held
                start_reevaluation(engine, latest, clock)

    threading.Thread(target=run, name="reevaluation", daemon=True).start()
    return True


def _one_pass(engine: Engine, version: int, clock: Callable[[], datetime]) -> bool:
    """One re-evaluation of everyone, its progress in `meta`; False when it failed."""
    state = {"version": version, "done": 0, "total": 0, "finished": False}
    try:
        _write(engine, state)

        def progress(done: int, total: int) -> None:
            _write(engine, state | {"done": done, "total": total})

        result = reevaluate_all(engine, np.datetime64(clock(), "s"), on_progress=progress)
        _write(engine, state | {"done": result.persons, "total": result.persons,
                                "finished": True, "persons": result.persons,
                                "seconds": result.seconds})
        return True
    except Exception as exc:  # noqa: BLE001 - shown on the rules page; the next change retries
        _write(engine, state | {"finished": True, "error": str(exc)[:300]})
        return False
