"""The traces shown, by token, for their user: the contact list pages, the map and the exports
read them instead of tracing again. They live in a disk cache in the instance directory that
every worker process of this machine shares (gunicorn's workers each answer some of a page's
requests). diskcache is SQLite underneath and not safe on a network file system: several
machines need a shared cache server instead (README). A token the cache has dropped is traced
again from the page's state (and audited again: it is a new look)."""

from __future__ import annotations

import functools
import secrets
from datetime import datetime
from pathlib import Path

import diskcache
from flask_login import current_user

from placecode.tracing.contacts import TraceParams
from placecode.web import current_engine, current_scope, current_settings
from queries import trace as q

KEEP_SECONDS = 2 * 3600  # a trace on screen longer than this is traced again when used
SIZE_LIMIT = 2 << 30     # bytes on disk; the least recently used go first


@functools.cache
def _store(path: str) -> diskcache.Cache:
    return diskcache.Cache(path, size_limit=SIZE_LIMIT, eviction_policy="least-recently-used")


def store_for(instance: Path) -> diskcache.Cache:
    return _store(str(instance / "cache" / "traces"))


def _cache() -> diskcache.Cache:
    return store_for(current_settings().instance_path)


def remember(store: diskcache.Cache, user: str, result: q.TraceResult) -> str:
    """Keep `user`'s trace; returns its token. Needs no request (it runs in trace jobs)."""
    token = secrets.token_urlsafe(12)
    store.set(token, (user, result), expire=KEEP_SECONDS)
    return token


def cached(token: str) -> q.TraceResult | None:
    """This user's trace under `token`, if the cache still has it."""
    hit = _cache().get(token)
    return hit[1] if hit and hit[0] == current_user.username else None


def result(state: dict | None) -> q.TraceResult | None:
    """The shown trace of this user: from the cache, else traced again."""
    if not state:
        return None
    found = cached(state["token"])
    if found is not None:
        return found
    engine, scope = current_engine(), current_scope()
    person = q.find_person(engine, scope, key=state["person_key"])
    found = q.trace(engine, scope, person, datetime.fromisoformat(state["until"]),
                    current_user.username, TraceParams(days=state["days"]),
                    max_days=current_settings().retention_days)
    _cache().set(state["token"], (current_user.username, found), expire=KEEP_SECONDS)
    return found
