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
