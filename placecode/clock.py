"""The city's clock: every stored timestamp is naive local time in the city's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"


def city_now(tz: str = DEFAULT_TIMEZONE) -> datetime:
    """Now, as naive local time in `tz`, to the second."""
    return datetime.now(ZoneInfo(tz)).replace(tzinfo=None, microsecond=0)
