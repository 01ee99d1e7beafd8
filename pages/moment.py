"""The moment a desk page shows: the wall's (a reused demo shows its last day, as a snapshot)."""

from __future__ import annotations

from datetime import datetime

from components.i18n import t
from placecode.web import current_city_now, current_engine
from queries.wall import shown_moment


def shown_now(engine=None) -> tuple[datetime, bool]:
    """(as of, is a demo snapshot) for the request's database."""
    _, as_of, snapshot = shown_moment(engine or current_engine(), current_city_now())
    return as_of, snapshot


def moment_text(as_of: datetime, snapshot: bool, live_key: str, lang: str,
                live_format: str = "%Y-%m-%d %H:%M") -> str:
    """What a desk page says about its moment: a demo snapshot says so, else `live_key`'s words
    (e.g. "as of") with the time."""
    if snapshot:
        return f"{t('demo_snapshot', lang)} {as_of:%Y-%m-%d %H:%M}"
    return f"{t(live_key, lang)} {as_of.strftime(live_format)}"
