"""Settings from the environment: the production mode passes check --deploy or refuses to start."""

from __future__ import annotations

import base64
import importlib
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

BASE_DIR = Path(__file__).resolve().parents[2]
# Variables the settings read: each subprocess starts without them, then sets its own.
SETTINGS_VARIABLES = (
    # Set by the browser tests in this process; production must never run with it.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DJANGO_ENV",
    "DJANGO_DEBUG",
    "CAPTCHA_ECHO",
    "DJANGO_STATIC_MANIFEST",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "PII_ENCRYPTION_KEYS",
    "PII_INDEX_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "DJANGO_SETTINGS_MODULE",
    "PROOF_ISSUER_NAME",
    "PROOF_SIGNING_CERT",
    "PROOF_SIGNING_KEY",
)
PRINT_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({
    "ENGINE": settings.DATABASES["default"]["ENGINE"],
    "DB_NAME": str(settings.DATABASES["default"]["NAME"]),
    "DB_HOST": settings.DATABASES["default"].get("HOST", ""),
    "CACHE_BACKEND": settings.CACHES["default"]["BACKEND"],
    "CACHE_LOCATION": settings.CACHES["default"]["LOCATION"],
    "CELERY_TASK_ALWAYS_EAGER": settings.CELERY_TASK_ALWAYS_EAGER,
    "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    "DEBUG": settings.DEBUG,
}))
"""


def production_env() -> dict[str, str]:
    return {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),  # 64 characters
        "ALLOWED_HOSTS": "portal.example.cn",
        "PII_ENCRYPTION_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
        "PII_INDEX_KEY": secrets.token_urlsafe(32),
        "PROOF_ISSUER_NAME": "演示市社会保险事业管理中心",
        "PROOF_SIGNING_CERT": "/run/secrets/proof-signing.pem",
        "PROOF_SIGNING_KEY": "/run/secrets/proof-signing.key.pem",
    }


@pytest.fixture
def run_python(tmp_path):
    """Run `python <args>` in the project with a clean settings environment plus `env`."""

    def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        full_env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
        full_env.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            PORTAL_VAR_DIR=str(tmp_path / "var"),
            STATIC_ROOT=str(tmp_path / "static"),
            MEDIA_ROOT=str(tmp_path / "media"),
        )
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, *args],
            cwd=BASE_DIR,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def read_settings(run_python, env: dict[str, str] | None = None) -> dict:
    result = run_python(["-c", PRINT_SETTINGS], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_passes_check_deploy_without_warnings(run_python):
    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env()
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output
    assert "?: (security." not in output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "too-short"}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
        ({"PII_ENCRYPTION_KEYS": None}, "PII_ENCRYPTION_KEYS"),
        ({"PII_INDEX_KEY": None}, "PII_INDEX_KEY"),
        ({"PII_INDEX_KEY": "k"}, "PII_INDEX_KEY must be a random value of at least 32 bytes"),
        ({"DJANGO_DEBUG": "1"}, "DJANGO_DEBUG"),
        ({"CAPTCHA_ECHO": "1"}, "CAPTCHA_ECHO"),
        ({"PROOF_SIGNING_KEY": None}, "PROOF_SIGNING_CERT and PROOF_SIGNING_KEY must be set"),
        ({"PROOF_ISSUER_NAME": None}, "PROOF_ISSUER_NAME"),
    ],
    ids=[
        "default-secret-key",
        "short-secret-key",
        "no-allowed-hosts",
        "dev-pii-keys",
        "dev-index-key",
        "short-index-key",
        "debug-on",
        "captcha-echo-on",
        "no-proof-signing-key",
        "no-proof-issuer",
    ],
)
def test_production_refuses_to_start_without_real_configuration(run_python, change, message):
    env = production_env()
    for name, value in change.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = value

    result = run_python(["manage.py", "check", "--deploy"], env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "Refusing to start in production mode" in result.stderr
    assert message in result.stderr


def test_language_time_zone_and_password_hasher():
    assert django_settings.LANGUAGE_CODE == "zh-hans"
    assert django_settings.TIME_ZONE == "Asia/Shanghai"
    assert django_settings.USE_TZ is True
    # tests/conftest.py swaps settings.PASSWORD_HASHERS for a fast one: read the module itself.
    configured = importlib.import_module("portal.settings").PASSWORD_HASHERS
    assert configured[0] == "portal.hashers.PortalArgon2PasswordHasher"

    from django.contrib.auth.hashers import Argon2PasswordHasher

    Argon2PasswordHasher()._load_library()  # argon2-cffi is installed


def test_embedded_default_uses_sqlite_database_cache_and_eager_tasks(run_python, tmp_path):
    values = read_settings(run_python)

    assert values["ENGINE"] == "django.db.backends.sqlite3"
    assert values["DB_NAME"] == str(tmp_path / "var" / "portal.sqlite3")
    assert values["CACHE_BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert values["CELERY_TASK_ALWAYS_EAGER"] is True
    assert values["DEBUG"] is True


def test_database_url_selects_postgresql(run_python):
    values = read_settings(
        run_python, {"DATABASE_URL": "postgres://portal:secret@db.example.cn:5432/portal"}
    )

    assert values["ENGINE"] == "django.db.backends.postgresql"
    assert values["DB_NAME"] == "portal"
    assert values["DB_HOST"] == "db.example.cn"


def test_redis_url_selects_redis_cache_and_a_real_broker(run_python):
    url = "redis://redis.example.cn:6379/0"

    values = read_settings(run_python, {"REDIS_URL": url})

    assert values["CACHE_BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert values["CACHE_LOCATION"] == url
    assert values["CELERY_TASK_ALWAYS_EAGER"] is False
    assert values["CELERY_BROKER_URL"] == url
