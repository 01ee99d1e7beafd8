"""Page jobs (pages/jobs.py): submit answers at once, the work runs beside it, its end is read by
its own user only, a refusal arrives whole, and a job whose process died says so."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from pages import jobs
from placecode.auth.policy import Refused


@pytest.fixture()
def store(tmp_path):
    return jobs.store_for(tmp_path)


def wait(store, job, user, seconds=5.0):
    deadline = time.time() + seconds
    while (outcome := jobs.poll(store, job, user)) is None:
        assert time.time() < deadline, "the job never ended"
        time.sleep(0.02)
    return outcome


def test_submit_returns_while_the_work_still_runs(store):
    release = threading.Event()
    job = jobs.submit(store, "cmd", lambda: release.wait(5) and "traced")
    assert jobs.poll(store, job, "cmd") is None  # running: the request thread was not held
    release.set()
    assert wait(store, job, "cmd") == jobs.Outcome("traced")


def test_an_ended_job_reads_the_same_for_overlapping_polls(store):
    job = jobs.submit(store, "cmd", lambda: 7)
    assert wait(store, job, "cmd").value == 7
    assert jobs.poll(store, job, "cmd").value == 7


def test_another_user_does_not_read_the_result(store):
    job = jobs.submit(store, "cmd", lambda: "secret contacts")
    wait(store, job, "cmd")
    assert jobs.poll(store, job, "huancui") == jobs.Outcome(failed=True)
    assert jobs.poll(store, "no-such-job", "cmd") == jobs.Outcome(failed=True)


def test_a_refusal_reaches_the_page_with_its_key_and_params(store):
    def refused():
        raise Refused("refused_trace_person")
    outcome = wait(store, jobs.submit(store, "cmd", refused), "cmd")
    assert isinstance(outcome.error, Refused) and outcome.error.key == "refused_trace_person"
    assert outcome.error.text("zh") == "该人员不在您的辖区内，无法追踪。"


def test_a_crash_is_reported_as_failed_not_as_running(store):
    outcome = wait(store, jobs.submit(store, "cmd", lambda: 1 / 0), "cmd")
    assert outcome.failed and outcome.value is None


def test_a_job_whose_process_died_reads_failed(store, tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    store.set("orphan", {"user": "cmd", "pid": int(gone.stdout)})
    assert int(gone.stdout) != os.getpid()
    assert jobs.poll(store, "orphan", "cmd") == jobs.Outcome(failed=True)
