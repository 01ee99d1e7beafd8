"""The moment a desk page shows: the wall's (a reused demo shows its last day, as a snapshot)."""

from __future__ import annotations

from datetime import datetime

from placecode.web import current_city_now, current_engine
from queries.wall import shown_moment


def shown_now(engine=None) -> tuple[datetime, bool]:
    """(as of, is a demo snapshot) for the request's database."""
    _, as_of, snapshot = shown_moment(engine or current_engine(), current_city_now())
    return as_of, snapshot
