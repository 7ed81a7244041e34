"""Fixed-window counters in the shared cache (database or Redis, never process memory)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone


class RateLimitUnavailable(Exception):
    """The counter store could not be reached: callers refuse the action (fail closed)."""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window ends; 0 when allowed


def _window_start(now: int, window: int) -> int:
    """The start of the window holding ``now``, aligned to local time (Asia/Shanghai): a day
    window runs from midnight to midnight as people count days, not from 08:00 (UTC midnight).
    Windows of an hour or less start where they would in UTC."""
    offset = int(timezone.localtime().utcoffset().total_seconds())
    return now - (now + offset) % window


def hit(key: str, *, limit: int, window: int) -> Verdict:
    """Count one attempt against ``key``; refuse it when the window already holds ``limit``.

    Keys must not contain personal data: pass a blind index, not a phone number.
    """
    now = int(time.time())
    window_start = _window_start(now, window)
    cache_key = f"rl:{key}:{window}:{window_start}"
    try:
        cache.add(cache_key, 0, timeout=window + 5)
        count = cache.incr(cache_key)
        if not isinstance(caches["default"], RedisCache):
            # Django's generic incr() (the database cache uses it) stores the new value with the
            # default timeout (300 s), which would end a day-long window after five quiet
            # minutes; Redis keeps the key's expiry. Put the window's end back.
            cache.touch(cache_key, timeout=window_start + window + 5 - now)
    except Exception as exc:  # noqa: BLE001 — any store failure means refuse
        raise RateLimitUnavailable(str(type(exc).__name__)) from exc
    if count > limit:
        return Verdict(False, window_start + window - now)
    return Verdict(True, 0)


def peek(key: str, *, window: int) -> int:
    """Return the count in the current window without adding to it."""
    now = int(time.time())
    try:
        return cache.get(f"rl:{key}:{window}:{_window_start(now, window)}", 0)
    except Exception as exc:  # noqa: BLE001
        raise RateLimitUnavailable(str(type(exc).__name__)) from exc
