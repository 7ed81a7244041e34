"""A counter keeps its window's expiry on every store (the database cache's incr() does not)."""

import datetime
import time
from types import SimpleNamespace

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
    key = f"rl:test-day:{window}:{ratelimit._window_start(now, window)}"
    # Ten minutes later by the cache's clock (the default timeout is five) the count is kept.
    later = timezone.now() + datetime.timedelta(minutes=10)
    monkeypatch.setattr(db_cache, "tz_now", lambda: later)
    assert cache.get(key) == 4


def test_a_day_window_runs_from_local_midnight_and_a_minute_window_from_the_minute():
    # 2026-12-03 16:30 UTC is 2026-12-04 00:30 in Beijing: the day began 30 minutes ago.
    now = int(datetime.datetime(2026, 12, 3, 16, 30, 15, tzinfo=datetime.UTC).timestamp())
    midnight = int(datetime.datetime(2026, 12, 3, 16, 0, tzinfo=datetime.UTC).timestamp())
    assert ratelimit._window_start(now, 86400) == midnight
    assert ratelimit._window_start(now, 60) == now - 15


@pytest.mark.django_db
def test_the_daily_sms_cap_says_tomorrow_even_minutes_before_midnight(
    monkeypatch, settings, django_capture_on_commit_callbacks
):
    from django.core.exceptions import ValidationError

    from portal.smscodes import sms_code_send

    # 23:58 in Beijing: two minutes left in the day window. Only the rate limiter's clock is
    # set back: the cache's own expiry stays on the real clock (setting the time module's clock
    # made the cache's entries expire at once as soon as that moment had passed).
    late = datetime.datetime(2026, 12, 4, 15, 58, tzinfo=datetime.UTC).timestamp()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: late))
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_sends_per_ip_per_day": 1}
    with django_capture_on_commit_callbacks(execute=True):
        sms_code_send(purpose="registration", phone="13900000001", ip_address="10.0.0.1")
    with pytest.raises(ValidationError, match="明天再试"):
        sms_code_send(purpose="registration", phone="13900000002", ip_address="10.0.0.1")
