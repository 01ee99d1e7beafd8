"""Per-device rate limits for the public pages, counted in the instance's disk cache so every
worker of the machine counts the same device (a fixed window per key)."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import diskcache


@functools.cache
def _counters(path: str) -> diskcache.Cache:
    return diskcache.Cache(path, size_limit=64 * 2**20)


def allow(instance: Path, key: str, limit: int, window_s: int) -> bool:
    """Count one use of `key`; False once it has been used `limit` times in this window."""
    counters = _counters(str(Path(instance) / "cache" / "limits"))
    slot = f"{key}|{int(time.time()) // window_s}"
    used = counters.incr(slot, default=0, retry=True)
    if used == 1:
        counters.touch(slot, expire=window_s * 2, retry=True)
    return used <= limit
