import os

import pytest

IN_CI = bool(os.environ.get("CI"))


def require_service(name: str, reason: str):
    """Skip a test whose service is missing, but fail it under CI (CI must never skip it)."""
    message = f"{name} is not available: {reason}"
    if IN_CI:
        pytest.fail(f"CI is set and {message}")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Argon2 is the production hasher (checked in tests/portal/test_settings.py); tests hash
    # thousands of passwords and use a fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    """Capture SMS in memory: tests read codes from ``portal.sms.outbox``."""
    from portal import sms

    settings.SMS_BACKEND = "portal.sms.LocmemBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters live in the cache: start every test with none."""
    from django.core.cache import cache

    try:
        cache.clear()
    except Exception:  # noqa: BLE001 — the cache table may not exist outside db tests
        pass
    yield


def otp_verify(client, user):
    """Log ``user`` in with a confirmed TOTP device, as the admin's second factor asks."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(
        user=user, confirmed=True
    ).first() or TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def admin_client(db, admin_user, client):
    """pytest-django's admin_client, with the admin's second factor passed."""
    return otp_verify(client, admin_user)


@pytest.fixture(autouse=True)
def _celery_eager():
    """Run tasks in the test process (as the embedded default does) even when REDIS_URL is set.

    The worker tests (tests/portal/test_worker*.py) switch this off and use a real worker.
    """
    from portal.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved
