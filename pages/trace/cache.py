"""The traces shown in this process, by token, for their user: the contact list pages, the map and
the exports read them instead of tracing again. A token another worker or a restart lost is traced
again from the page's state (and audited again: it is a new look)."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from datetime import datetime

from flask_login import current_user

from placecode.tracing.contacts import TraceParams
from placecode.web import current_engine, current_scope
from queries import trace as q

SIZE = 8
_cache: OrderedDict[str, tuple[str, q.TraceResult]] = OrderedDict()
_lock = threading.Lock()


def remember(result: q.TraceResult) -> str:
    token = secrets.token_urlsafe(12)
    _put(token, result)
    return token


def _put(token: str, result: q.TraceResult) -> None:
    with _lock:
        _cache[token] = (current_user.username, result)
        while len(_cache) > SIZE:
            _cache.popitem(last=False)


def cached(token: str) -> q.TraceResult | None:
    """This user's trace under `token`, if this process still has it."""
    with _lock:
        hit = _cache.get(token)
    return hit[1] if hit and hit[0] == current_user.username else None


def result(state: dict | None) -> q.TraceResult | None:
    """The shown trace of this user: from the cache, else traced again."""
    if not state:
        return None
    found = cached(state["token"])
    if found is not None:
        return found
    engine = current_engine()
    person = q.find_person(engine, key=state["person_key"])
    found = q.trace(engine, current_scope(), person, datetime.fromisoformat(state["until"]),
                    current_user.username, TraceParams(days=state["days"]))
    _put(state["token"], found)
    return found
