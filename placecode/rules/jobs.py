"""Re-evaluation after a rule change, in the background, with progress others can read.

Progress lives in `meta` (key `reevaluation`), so every worker process and page sees it; one job
runs at a time across every process (a lock in the database, placecode.db.locks), and a newer
change simply starts another pass when the first ends.
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
        state = {"version": version, "done": 0, "total": 0, "finished": False}
        try:
            _write(engine, state)

            def progress(done: int, total: int) -> None:
                _write(engine, state | {"done": done, "total": total})

            result = reevaluate_all(engine, np.datetime64(clock(), "s"), on_progress=progress)
            _write(engine, state | {"done": result.persons, "total": result.persons,
                                    "finished": True, "persons": result.persons,
                                    "seconds": result.seconds})
        except Exception as exc:  # shown on the rules page; the next change retries
            _write(engine, state | {"finished": True, "error": str(exc)[:300]})
        finally:
            held.close()

    threading.Thread(target=run, name="reevaluation", daemon=True).start()
    return True
