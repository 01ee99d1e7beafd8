"""The city's clock: every stored timestamp is naive local time in the city's time zone."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"


def city_now(tz: str = DEFAULT_TIMEZONE) -> datetime:
    """Now, as naive local time in `tz`, to the second."""
    return datetime.now(ZoneInfo(tz)).replace(tzinfo=None, microsecond=0)


def change_stamp() -> int:
    """Milliseconds since the epoch: stamped on rollup rows so that readers can ask what changed
    since their last look (readers re-ask a few seconds back, so a late commit is not missed)."""
    return time.time_ns() // 1_000_000
