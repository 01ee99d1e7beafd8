"""Long work off the request thread: a page submits it, answers at once, and polls for the end.

A trace of a heavy case or an export of 500k contacts takes seconds; run inside the callback it
would hold one of the worker's few request threads (and meet gunicorn's timeout). Here it runs
in a small thread pool of the worker process that took the request, with everything it needs
captured at submit time (viewer, user name, engine: no Flask context in the pool). Its state
and result live in a disk cache in the instance directory, so the poll may land on any worker
of this machine. Several machines would put this behind Celery with Redis (README).

Dash's own background callbacks were the first choice; they run without Flask's request
context, so flask-login's user is not there to scope the work by (plotly/dash#2235).
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diskcache

from placecode.db.locks import pid_alive
from placecode.i18n import UserError

log = logging.getLogger(__name__)

THREADS = 2            # per worker process: jobs beyond these wait their turn
KEEP_SECONDS = 3600    # a finished job's result, unread, is dropped after this
READ_AGAIN_SECONDS = 60
SIZE_LIMIT = 1 << 30


@dataclass(frozen=True)
class Outcome:
    """A finished job: its value, or the error to show (a UserError, else None and `failed`)."""
    value: Any = None
    error: UserError | None = None
    failed: bool = False


@functools.cache
def _store(path: str) -> diskcache.Cache:
    return diskcache.Cache(path, size_limit=SIZE_LIMIT, eviction_policy="least-recently-used")


@functools.cache
def _pool(pid: int) -> ThreadPoolExecutor:
    """One pool per process (a forked gunicorn worker makes its own; threads do not fork)."""
    return ThreadPoolExecutor(THREADS, thread_name_prefix="placecode-job")


def store_for(instance: Path) -> diskcache.Cache:
    return _store(str(instance / "cache" / "jobs"))


def submit(store: diskcache.Cache, user: str, work: Callable[[], Any]) -> str:
    """Start `work()` for `user`; returns the job id to poll with."""
    job = secrets.token_urlsafe(12)
    store.set(job, {"user": user, "pid": os.getpid()}, expire=KEEP_SECONDS)
    _pool(os.getpid()).submit(_run, store, job, user, work)
    return job


def _run(store: diskcache.Cache, job: str, user: str, work: Callable[[], Any]) -> None:
    record = {"user": user, "done": True}
    try:
        record["value"] = work()
    except UserError as exc:
        record["error"] = exc
    except Exception:  # noqa: BLE001 - the page must hear that the job ended
        log.exception("job %s failed", job)
        record["failed"] = True
    store.set(job, record, expire=KEEP_SECONDS)


def poll(store: diskcache.Cache, job: str, user: str) -> Outcome | None:
    """None while the job runs; its Outcome once it ended. A job that is not this user's,
    unknown, or whose process died reads as failed. An ended job may be read again for a minute
    (a page's polls overlap: the one after the first reader must not read "unknown")."""
    record = store.get(job)
    if not record or record["user"] != user:
        return Outcome(failed=True)
    if not record.get("done"):
        if pid_alive(record["pid"]):
            return None
        store.delete(job)
        return Outcome(failed=True)
    store.touch(job, expire=READ_AGAIN_SECONDS)
    return Outcome(record.get("value"), record.get("error"), record.get("failed", False))

