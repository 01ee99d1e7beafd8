"""The job lock holds across processes (a thread lock held only within one), and a holder that
dies does not keep it."""

from __future__ import annotations

import subprocess
import sys
import time

from placecode.db.engine import get_engine, init_db
from placecode.db.locks import job_lock

HOLD = """
import sys, time
from placecode.db.engine import get_engine
from placecode.db.locks import job_lock
with job_lock(get_engine(sys.argv[1]), "reevaluation") as got:
    print("held" if got else "refused", flush=True)
    time.sleep(60)
"""


def _holder(url: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_job_lock_is_one_across_processes_and_freed_when_its_holder_dies(db_url):
    engine = get_engine(db_url)
    init_db(engine)
    other = _holder(db_url)
    try:
        with job_lock(engine, "reevaluation") as got:
            assert not got  # another process runs the job
        with job_lock(engine, "another job") as got:
            assert got  # locks are per job
    finally:
        other.kill()
        other.wait()
    deadline = time.monotonic() + 10
    while True:  # PostgreSQL notices the dropped connection within moments
        with job_lock(engine, "reevaluation") as got:
            if got or time.monotonic() > deadline:
                break
        time.sleep(0.2)
    assert got
    with job_lock(engine, "reevaluation") as first, job_lock(engine, "reevaluation") as second:
        assert first and not second  # and within one process
