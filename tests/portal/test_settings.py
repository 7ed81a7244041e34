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
    "PORTAL_HTTPS",
    "SANDBOX_PROVIDERS",
    "FACE_PROVIDER",
    "FACE_BASE_URL",
    "FACE_KEY_ID",
    "FACE_SECRET",
    "FACE_CALLBACK_SECRET",
    "BANK_ADAPTER",
    "BANK_BASE_URL",
    "BANK_KEY_ID",
    "BANK_SECRET",
    "CONTRIBUTION_BANK_ADAPTER",
    "CONTRIBUTION_BANK_BASE_URL",
    "CONTRIBUTION_BANK_KEY_ID",
    "CONTRIBUTION_BANK_SECRET",
    "COLLECTION_ADAPTER",
    "COLLECTION_BASE_URL",
    "COLLECTION_KEY_ID",
    "COLLECTION_SECRET",
    "COLLECTION_CALLBACK_SECRET",
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
    "STAGING": settings.STAGING,
    "SANDBOX_PROVIDERS": settings.SANDBOX_PROVIDERS,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "STATICFILES_BACKEND": settings.STORAGES["staticfiles"]["BACKEND"],
}))
"""
# The sandbox pages and the development pages: not routed in production.
RESOLVE_DEV_PATHS = """
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
for path in ("/verify/sandbox/bank/", "/verify/sandbox/face/abc/", "/dev/outbox/"):
    try:
        resolve(path)
        print(path, "routed")
    except Resolver404:
        print(path, "404")
for name in ("contributions:collection_sandbox_tax", "contributions:bill_sandbox_bank"):
    try:
        reverse(name)
        print(name, "routed")
    except NoReverseMatch:
        print(name, "404")
"""


def secrets_env(mode: str) -> dict[str, str]:
    return {
        "DJANGO_ENV": mode,
        "SECRET_KEY": secrets.token_urlsafe(48),  # 64 characters
        "ALLOWED_HOSTS": "portal.example.cn",
        "PII_ENCRYPTION_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
        "PII_INDEX_KEY": secrets.token_urlsafe(32),
        "PROOF_ISSUER_NAME": "演示市社会保险事业管理中心",
        "PROOF_SIGNING_CERT": "/run/secrets/proof-signing.pem",
        "PROOF_SIGNING_KEY": "/run/secrets/proof-signing.key.pem",
    }


def production_env() -> dict[str, str]:
    return {
        **secrets_env("production"),
        "FACE_PROVIDER": "http",
        "FACE_BASE_URL": "https://face.example.cn/api",
        "FACE_KEY_ID": "portal",
        "FACE_SECRET": secrets.token_urlsafe(32),
        "FACE_CALLBACK_SECRET": secrets.token_urlsafe(32),
        "BANK_ADAPTER": "http",
        "BANK_BASE_URL": "https://bank.example.cn/api",
        "BANK_KEY_ID": "portal",
        "BANK_SECRET": secrets.token_urlsafe(32),
        "CONTRIBUTION_BANK_ADAPTER": "http",
        "CONTRIBUTION_BANK_BASE_URL": "https://debits.bank.example.cn/api",
        "CONTRIBUTION_BANK_KEY_ID": "portal",
        "CONTRIBUTION_BANK_SECRET": secrets.token_urlsafe(32),
        "COLLECTION_ADAPTER": "http",
        "COLLECTION_BASE_URL": "https://collection.tax.example.cn/api",
        "COLLECTION_KEY_ID": "portal",
        "COLLECTION_SECRET": secrets.token_urlsafe(32),
        "COLLECTION_CALLBACK_SECRET": secrets.token_urlsafe(32),
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
        ({"FACE_PROVIDER": None}, "FACE_PROVIDER must name a real provider"),
        ({"FACE_PROVIDER": "sandbox"}, "FACE_PROVIDER must name a real provider"),
        ({"BANK_ADAPTER": None}, "BANK_ADAPTER must name a real provider"),
        (
            {"BANK_ADAPTER": "employers.verification.bank.SandboxBank"},
            "BANK_ADAPTER must name a real provider",
        ),
        ({"CONTRIBUTION_BANK_ADAPTER": None}, "CONTRIBUTION_BANK_ADAPTER must name a real"),
        ({"COLLECTION_ADAPTER": None}, "COLLECTION_ADAPTER must name a real provider"),
        ({"COLLECTION_CALLBACK_SECRET": None}, "COLLECTION_CALLBACK_SECRET must be a random"),
        ({"COLLECTION_CALLBACK_SECRET": "s" * 31}, "COLLECTION_CALLBACK_SECRET must be a random"),
        ({"SANDBOX_PROVIDERS": "1"}, "SANDBOX_PROVIDERS must be off"),
        ({"FACE_CALLBACK_SECRET": None}, "FACE_CALLBACK_SECRET must be a random value"),
        ({"FACE_CALLBACK_SECRET": "s" * 31}, "FACE_CALLBACK_SECRET must be a random value"),
        ({"FACE_SECRET": "s" * 31}, "FACE_SECRET must be a random value of at least 32"),
        ({"FACE_BASE_URL": "http://face.example.cn"}, "FACE_BASE_URL must be"),
        ({"FACE_KEY_ID": None}, "FACE_KEY_ID must be set"),
        ({"BANK_SECRET": None}, "BANK_SECRET must be a random value of at least 32"),
        ({"BANK_BASE_URL": None}, "BANK_BASE_URL must be"),
        ({"BANK_KEY_ID": None}, "BANK_KEY_ID must be set"),
        (
            {"CONTRIBUTION_BANK_SECRET": "s" * 31},
            "CONTRIBUTION_BANK_SECRET must be a random value of at least 32",
        ),
        (
            {"CONTRIBUTION_BANK_BASE_URL": "http://debits.bank.example.cn"},
            "CONTRIBUTION_BANK_BASE_URL must be",
        ),
        ({"CONTRIBUTION_BANK_KEY_ID": None}, "CONTRIBUTION_BANK_KEY_ID must be set"),
        ({"COLLECTION_SECRET": None}, "COLLECTION_SECRET must be a random value of at least 32"),
        ({"COLLECTION_BASE_URL": None}, "COLLECTION_BASE_URL must be"),
        ({"COLLECTION_KEY_ID": None}, "COLLECTION_KEY_ID must be set"),
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
        "face-provider-default",
        "face-provider-sandbox",
        "bank-adapter-default",
        "bank-adapter-sandbox-class",
        "contribution-bank-default",
        "collection-adapter-default",
        "collection-callback-secret-unset",
        "collection-callback-secret-short",
        "sandbox-pages-on",
        "face-callback-secret-default",
        "face-callback-secret-short",
        "face-secret-short",
        "face-base-url-plain-http",
        "face-key-id-missing",
        "bank-secret-missing",
        "bank-base-url-missing",
        "bank-key-id-missing",
        "contribution-bank-secret-short",
        "contribution-bank-base-url-plain-http",
        "contribution-bank-key-id-missing",
        "collection-secret-missing",
        "collection-base-url-missing",
        "collection-key-id-missing",
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


# OWASP Password Storage Cheat Sheet: Argon2id configurations of equal strength, (m KiB, t), p=1.
OWASP_ARGON2ID_MINIMUM = [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)]


def test_the_argon2id_parameters_are_at_or_above_owasps_minimum():
    from portal.hashers import PortalArgon2PasswordHasher as hasher

    encoded = hasher().encode("Bench2026login", hasher().salt())
    assert encoded.startswith("argon2$argon2id$")
    assert hasher.parallelism >= 1
    assert any(
        hasher.memory_cost >= memory and hasher.time_cost >= time
        for memory, time in OWASP_ARGON2ID_MINIMUM
    )


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


def test_an_unknown_mode_refuses_to_start(run_python):
    result = run_python(["manage.py", "check"], {"DJANGO_ENV": "prod"})

    assert result.returncode != 0
    assert "DJANGO_ENV must be one of development, staging, production" in result.stderr


def test_production_does_not_route_sandbox_or_development_pages(run_python):
    result = run_python(
        ["-c", "import django; django.setup()\n" + RESOLVE_DEV_PATHS], production_env()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "/verify/sandbox/bank/",
        "404",
        "/verify/sandbox/face/abc/",
        "404",
        "/dev/outbox/",
        "404",
        "contributions:collection_sandbox_tax",
        "404",
        "contributions:bill_sandbox_bank",
        "404",
    ]

    development = run_python(["-c", "import django; django.setup()\n" + RESOLVE_DEV_PATHS])
    assert development.stdout.count("routed") == 5, development.stderr


def test_staging_runs_like_production_with_the_sandboxes_and_says_so(run_python):
    result = run_python(["manage.py", "check", "--deploy"], secrets_env("staging"))
    assert result.returncode == 0, result.stderr
    assert "DJANGO_ENV=staging" in result.stderr
    assert "FACE_PROVIDER=sandbox" in result.stderr and "BANK_ADAPTER=sandbox" in result.stderr

    values = read_settings(run_python, secrets_env("staging"))
    assert values["STAGING"] is True
    assert values["DEBUG"] is False
    assert values["SANDBOX_PROVIDERS"] is True
    assert values["STATICFILES_BACKEND"].endswith("CompressedManifestStaticFilesStorage")
    # Compose puts TLS at a proxy: secure cookies unless the staging host has no HTTPS.
    assert values["SESSION_COOKIE_SECURE"] is True and values["SECURE_SSL_REDIRECT"] is True
    plain = read_settings(run_python, {**secrets_env("staging"), "PORTAL_HTTPS": "0"})
    assert plain["SESSION_COOKIE_SECURE"] is False and plain["SECURE_SSL_REDIRECT"] is False


@pytest.mark.parametrize(
    "change",
    [{"SECRET_KEY": None}, {"PII_INDEX_KEY": "short"}, {"PII_ENCRYPTION_KEYS": None}],
    ids=["default-secret-key", "short-index-key", "dev-pii-keys"],
)
def test_staging_refuses_the_same_weak_secrets_as_production(run_python, change):
    env = secrets_env("staging")
    for name, value in change.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = value

    result = run_python(["manage.py", "check"], env)

    assert result.returncode != 0
    assert "Refusing to start in staging mode" in result.stderr
