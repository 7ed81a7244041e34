"""A counter keeps its window's expiry on every store (the database cache's incr() does not)."""

import datetime
import time

import pytest
from django.core.cache import cache
from django.core.cache.backends import db as db_cache
from django.utils import timezone

from portal import ratelimit


@pytest.mark.django_db
def test_day_window_survives_five_quiet_minutes(monkeypatch):
    now = int(time.time())
    window = 24 * 3600
    for _ in range(3):
        assert ratelimit.hit("test-day", limit=3, window=window).allowed
    assert not ratelimit.hit("test-day", limit=3, window=window).allowed
    key = f"rl:test-day:{window}:{now - now % window}"
    # Ten minutes later by the cache's clock (the default timeout is five) the count is kept.
    later = timezone.now() + datetime.timedelta(minutes=10)
    monkeypatch.setattr(db_cache, "tz_now", lambda: later)
    assert cache.get(key) == 4
