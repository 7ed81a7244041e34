"""Settings for the portal, driven by environment variables.

Without any variable set this is the embedded default: DEBUG on, SQLite under var/, no Redis,
Celery tasks run eagerly in the web process. DJANGO_ENV chooses the mode (docs/DEPLOYMENT.md):
"development" (the default), "staging" (production-like, with the sandbox providers) or
"production", which also refuses every sandbox and weak provider secret.
"""

import json
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


ENVIRONMENTS = ("development", "staging", "production")
DJANGO_ENV = os.environ.get("DJANGO_ENV", "").strip().lower() or "development"
if DJANGO_ENV not in ENVIRONMENTS:
    # A typo ("prod") must not start a development server with DEBUG on.
    raise ImproperlyConfigured(f"DJANGO_ENV must be one of {', '.join(ENVIRONMENTS)}")
PRODUCTION = DJANGO_ENV == "production"
# Staging runs as production does (DEBUG off, real secrets, manifest static files) but keeps the
# sandbox providers, for test deployments such as docker-compose on a sandbox host.
STAGING = DJANGO_ENV == "staging"
DEPLOYED = PRODUCTION or STAGING
DEBUG = env_bool("DJANGO_DEBUG", not DEPLOYED)
# Development only: print each image captcha's answer on the runserver console (README).
CAPTCHA_ECHO = env_bool("CAPTCHA_ECHO", DEBUG and not DEPLOYED)

DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdefghij"
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if DEPLOYED else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Keys for personal data at rest (portal.crypto). They are kept apart from SECRET_KEY and out of
# the database: ID numbers have little entropy, so whoever holds the index key can test guesses.
# PII_ENCRYPTION_KEYS is "id:base64key,id:base64key"; the first one encrypts, all decrypt.
DEV_PII_ENCRYPTION_KEYS = "k1:ZGV2LW9ubHktcGlpLWVuY3J5cHRpb24ta2V5LTMyYg=="
DEV_PII_INDEX_KEY = "dev-only-blind-index-key"
PII_ENCRYPTION_KEYS = os.environ.get("PII_ENCRYPTION_KEYS", DEV_PII_ENCRYPTION_KEYS)
PII_INDEX_KEY = os.environ.get("PII_INDEX_KEY", DEV_PII_INDEX_KEY)

# What keeps a deployed mode from starting; raised after the outside parties' settings below.
problems = []
if DEPLOYED:
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        problems.append("SECRET_KEY must be set to a random value of at least 50 characters")
    if not ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS must list the host names the portal is served on")
    if PII_ENCRYPTION_KEYS == DEV_PII_ENCRYPTION_KEYS or PII_INDEX_KEY == DEV_PII_INDEX_KEY:
        problems.append("PII_ENCRYPTION_KEYS and PII_INDEX_KEY must be set")
    elif len(PII_INDEX_KEY.encode()) < 32:
        # ID numbers have little entropy: a short index key could be guessed, and with it
        # every ID number tested against the blind index.
        problems.append("PII_INDEX_KEY must be a random value of at least 32 bytes")
    if DEBUG:
        problems.append("DJANGO_DEBUG must be off in production")
    if CAPTCHA_ECHO:
        problems.append("CAPTCHA_ECHO must be off in production")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    # django-axes and django-otp under Chinese section names (portal/apps.py).
    "portal.apps.AxesConfig",
    "django_otp",
    "portal.apps.OTPTOTPConfig",
    "portal.apps.OTPStaticConfig",
    "employers.captcha_config.CaptchaConfig",
    "simple_history",
    "portal",
    "employers",
    "enrollment",
    "contributions",
]

MIDDLEWARE = [
    # First: every later part (throttles, django-axes, the audit log) sees the client's address.
    "portal.proxies.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "portal.middleware.AdminLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "employers.middleware.AgentSessionMiddleware",
    # Last, as django-axes requires: it turns a lockout flagged during the request into a response.
    "axes.middleware.AxesMiddleware",
]

# Reverse proxies in front of gunicorn that each add an X-Forwarded-For entry (portal/proxies.py):
# 0 when gunicorn is reached directly; 2 in docker-compose.yml (nginx and the TLS proxy).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "portal.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL names another one (PostgreSQL in production).
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# Behind PgBouncer in transaction mode a server-side cursor (QuerySet.iterator() on PostgreSQL)
# cannot outlive its transaction: set DB_DISABLE_SERVER_SIDE_CURSORS=1 there (docs/SCALING.md).
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool(
    "DB_DISABLE_SERVER_SIDE_CURSORS", False
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side binding and prepared statements: a statement the connection has run
    # DB_PREPARE_THRESHOLD times is prepared, and PostgreSQL neither parses nor (for a generic
    # plan) plans it again. Behind PgBouncer in transaction mode this needs PgBouncer 1.21 or
    # newer with max_prepared_statements set; DB_PREPARE_THRESHOLD= (empty) turns it off.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=env_bool("DB_SERVER_SIDE_BINDING", True),
        prepare_threshold=int(os.environ.get("DB_PREPARE_THRESHOLD", "5") or 0) or None,
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        # Writers take the lock when the transaction begins, so two processes (web and worker)
        # wait for each other instead of failing at once with "database is locked".
        timeout=20,
        transaction_mode="IMMEDIATE",
    )
    # A file, not memory, so that a worker process started by a test sees the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_portal.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache and Celery: Redis when REDIS_URL is set, otherwise the database cache and eager tasks.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal",
            "TIMEOUT": 300,
        }
    }
else:
    # Shared by every process on the machine (runserver reloads, management commands): the
    # counters of rate limits must never live in one process's memory.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache",
        }
    }

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 12 * 60 * 60  # absolute limit; the idle limit is enforced by middleware
SESSION_IDLE_TIMEOUT = 30 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

PASSWORD_HASHERS = [
    # Argon2id with parameters chosen for 2 cores: see portal/hashers.py and bench/login_bench.py.
    "portal.hashers.PortalArgon2PasswordHasher",
    # Hashes made with Django's default Argon2 parameters still verify (and are upgraded on login).
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked agent before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "employers.accounts.backends.AgentPasswordBackend",
    "employers.accounts.backends.AgentCertificateBackend",
    "employers.accounts.backends.ClerkBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing folder
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Production serves hashed names from the manifest that collectstatic writes. The Docker build
# runs collectstatic without production secrets (DJANGO_ENV unset): it sets DJANGO_STATIC_MANIFEST=1
# so that the manifest exists when the image starts in production mode.
STATIC_MANIFEST = DEPLOYED or env_bool("DJANGO_STATIC_MANIFEST", False)
# Uploaded and generated files (attachments, imports, PDFs, exports): the local media folder, or
# an S3-compatible bucket (MinIO on premises) when S3_BUCKET is set, so that every web and worker
# node sees the same files. The bucket stays private: no object is public-read, and every file
# reaches a user through a Django view after its permission check (FileResponse of the opened
# file); a url() of a file is a signed URL valid for S3_URL_SECONDS.
S3_BUCKET = os.environ.get("S3_BUCKET", "")
if S3_BUCKET:
    file_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": os.environ.get("S3_ENDPOINT_URL") or None,
            "access_key": os.environ.get("S3_ACCESS_KEY_ID", ""),
            "secret_key": os.environ.get("S3_SECRET_ACCESS_KEY", ""),
            "region_name": os.environ.get("S3_REGION", "us-east-1"),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": int(os.environ.get("S3_URL_SECONDS", "300")),
            "file_overwrite": False,
            # MinIO and most on-premises servers want path-style addresses and SigV4.
            "addressing_style": "path",
            "signature_version": "s3v4",
        },
    }
else:
    file_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": file_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Content-Security-Policy (django-csp): scripts and styles come only from static files, nothing
# inline, and no page may be framed by another site. Bootstrap's CSS draws icons as data: SVGs.
# frame-src 'self' lets a page show the portal's own PDFs and images inline; the framed view then
# needs csp_replace({"frame-ancestors": [SELF]}) and xframe_options_sameorigin.
csp_policy = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if os.environ.get("CSP_REPORT_URI"):
    csp_policy["DIRECTIVES"]["report-uri"] = [os.environ["CSP_REPORT_URI"]]
# CSP_REPORT_ONLY=true sends the same policy as Content-Security-Policy-Report-Only: browsers
# report violations without blocking anything (rollout). Both switches are environment variables
# only: settings named CSP_* are django-csp 3.x's, which its checks refuse (csp.E001).
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY = None
    CONTENT_SECURITY_POLICY_REPORT_ONLY = csp_policy
else:
    CONTENT_SECURITY_POLICY = csp_policy
    CONTENT_SECURITY_POLICY_REPORT_ONLY = None

# Django's renderer with the plainest widget templates written in Python (same bytes).
FORM_RENDERER = "portal.form_renderer.PortalFormRenderer"
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

LOGIN_URL = "accounts:login"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Celery: named queues; see portal/celery.py and README ("Background work").
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# Celery's Django fixup closes the worker's database connections only every this many tasks;
# between, portal/celery.py closes them as Django does after a request (CONN_MAX_AGE, errors).
CELERY_DB_REUSE_MAX = 1000
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than the longest task and any countdown: a worker killed outright has its
    # unacknowledged tasks redelivered only after this many seconds.
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
}

# Portal-specific settings.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "portal.sms.ConsoleBackend")
# HTTP gateway providers, tried in order: a JSON list of {"name", "url", "key_id", "secret"}.
SMS_GATEWAYS = json.loads(os.environ.get("SMS_GATEWAYS", "[]"))
SMS_GATEWAY_TIMEOUT = float(os.environ.get("SMS_GATEWAY_TIMEOUT", "10"))
# A running batch import whose heartbeat (written after each 500-row chunk, a second or two
# apart) is older than this lost its worker: the watcher (beat, every 2 minutes) queues it again.
BATCH_IMPORT_LEASE_SECONDS = int(os.environ.get("BATCH_IMPORT_LEASE_SECONDS", "300"))
# Reading one uploaded workbook (批量增员, 缴费基数申报) stops after this many seconds: a crafted
# file is refused ("文件过于复杂") instead of holding a request (enrollment.batch.reader).
BATCH_UPLOAD_CHECK_SECONDS = float(os.environ.get("BATCH_UPLOAD_CHECK_SECONDS", "20"))
# The notification outbox (portal/notifications.py): retries with backoff for hours.
NOTIFICATIONS = {
    "retry_base_seconds": 30,
    # Well below CELERY_VISIBILITY_TIMEOUT (3600 s): Redis redelivers a task whose ETA lies
    # beyond it, so a longer backoff would make duplicate tasks (the claim still sends once).
    "retry_max_seconds": 1200,
    "max_attempts": 12,
    # A row still "created" this long after it was written is queued again (the broker was
    # down at commit). Longer than a month-end backlog: re-queueing a row that is only waiting
    # is harmless (the claim lets one send through) but adds work when the worker is behind.
    "resend_after_seconds": 600,
    # A send claimed longer ago than this died with its worker. Longer than a provider call with
    # failover (SMS_GATEWAY_TIMEOUT, 10 s, per provider), far shorter than a code's 5 minutes:
    # a code whose worker died is sent again while it is still valid.
    "sending_lease_seconds": 60,
}
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "noreply@si-portal.example")
# /healthz?full=1 (workers, beat, queues, outbox) answers a request carrying
# "Authorization: Bearer <HEALTHZ_TOKEN>" (monitoring), or a staff user signed in to the admin.
HEALTHZ_TOKEN = os.environ.get("HEALTHZ_TOKEN", "")
# Review queue (portal/review.py): clerks are reminded this long before an item's deadline.
REVIEW_REMINDER_LEAD_HOURS = int(os.environ.get("REVIEW_REMINDER_LEAD_HOURS", "4"))
REVIEW_DEFAULT_WORKING_DAYS = 3
REVIEW_DUE_TIME = "17:30"  # reviews are due at the close of the last working day
# Attachments of enrolment filings (DESIGN.md §9): JPG/PNG/PDF, checked by content.
ENROLMENT_ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
# Outside parties (docs/INTEGRATIONS.md): "sandbox" plays them inside the project (development and
# staging only), "http" speaks their signed-HTTP protocol through portal/outbound.py.
SANDBOX_PROVIDERS = env_bool("SANDBOX_PROVIDERS", DEBUG or STAGING)
FACE_PROVIDER = os.environ.get("FACE_PROVIDER", "sandbox")
FACE_BASE_URL = os.environ.get("FACE_BASE_URL", "")
FACE_KEY_ID = os.environ.get("FACE_KEY_ID", "")
FACE_SECRET = os.environ.get("FACE_SECRET", "")
# Signs the provider's result callbacks (the sandbox signs its own with it too).
DEV_FACE_CALLBACK_SECRET = "dev-only-face-callback-secret"
FACE_CALLBACK_SECRET = os.environ.get("FACE_CALLBACK_SECRET", DEV_FACE_CALLBACK_SECRET)
# The bank of the penny-drop (employers/verification/bank.py).
BANK_ADAPTER = os.environ.get("BANK_ADAPTER", "sandbox")
BANK_BASE_URL = os.environ.get("BANK_BASE_URL", "")
BANK_KEY_ID = os.environ.get("BANK_KEY_ID", "")
BANK_SECRET = os.environ.get("BANK_SECRET", "")
# portal/outbound.py: seconds to connect and to wait for an answer, and retries of a call that
# may be repeated (connection errors and 5xx only, with exponential back-off).
OUTBOUND_CONNECT_TIMEOUT = float(os.environ.get("OUTBOUND_CONNECT_TIMEOUT", "5"))
OUTBOUND_READ_TIMEOUT = float(os.environ.get("OUTBOUND_READ_TIMEOUT", "10"))
OUTBOUND_RETRIES = int(os.environ.get("OUTBOUND_RETRIES", "3"))
OUTBOUND_BACKOFF_SECONDS = float(os.environ.get("OUTBOUND_BACKOFF_SECONDS", "0.5"))
# A pending penny-drop whose call got no answer is asked about (status query) after this long.
PENNY_DROP_RESOLVE_AFTER_SECONDS = int(os.environ.get("PENNY_DROP_RESOLVE_AFTER_SECONDS", "120"))
# The bank that debits contributions (contributions/bank.py); the sandbox opens a unit's demo
# account with this balance and settles in 3–5 working days (a fixed number when set).
CONTRIBUTION_BANK_ADAPTER = os.environ.get("CONTRIBUTION_BANK_ADAPTER", "sandbox")
CONTRIBUTION_BANK_BASE_URL = os.environ.get("CONTRIBUTION_BANK_BASE_URL", "")
CONTRIBUTION_BANK_KEY_ID = os.environ.get("CONTRIBUTION_BANK_KEY_ID", "")
CONTRIBUTION_BANK_SECRET = os.environ.get("CONTRIBUTION_BANK_SECRET", "")
SANDBOX_BANK_DEFAULT_BALANCE = os.environ.get("SANDBOX_BANK_DEFAULT_BALANCE", "1000000.00")
SANDBOX_BANK_SETTLEMENT_DAYS = None
# 税务征收 (contributions/collection/): the collection system that receives 应征数据, and the
# shared secret of its signed payment-result callback (no default: callbacks are refused unset).
COLLECTION_ADAPTER = os.environ.get("COLLECTION_ADAPTER", "sandbox")
COLLECTION_BASE_URL = os.environ.get("COLLECTION_BASE_URL", "")
COLLECTION_KEY_ID = os.environ.get("COLLECTION_KEY_ID", "")
COLLECTION_SECRET = os.environ.get("COLLECTION_SECRET", "")
COLLECTION_CALLBACK_SECRET = os.environ.get("COLLECTION_CALLBACK_SECRET", "")

if PRODUCTION:
    # A sandbox in production would accept a face "pass" signed with a secret written in this
    # repository, and "send" money that no bank ever sees.
    for name in (
        "FACE_PROVIDER",
        "BANK_ADAPTER",
        "CONTRIBUTION_BANK_ADAPTER",
        "COLLECTION_ADAPTER",
    ):
        if "sandbox" in globals()[name].lower():
            problems.append(f"{name} must name a real provider, not the sandbox")
    if SANDBOX_PROVIDERS:
        problems.append("SANDBOX_PROVIDERS must be off in production")
    # Proofs are signed with the agency's certificate (staging, like development, signs with a
    # test certificate made on demand under var/proof-signing/).
    if not (os.environ.get("PROOF_SIGNING_CERT") and os.environ.get("PROOF_SIGNING_KEY")):
        problems.append("PROOF_SIGNING_CERT and PROOF_SIGNING_KEY must be set (proofs are signed)")
    if not os.environ.get("PROOF_ISSUER_NAME"):
        problems.append("PROOF_ISSUER_NAME must name the agency that issues proofs")
    if FACE_CALLBACK_SECRET == DEV_FACE_CALLBACK_SECRET or len(FACE_CALLBACK_SECRET.encode()) < 32:
        problems.append("FACE_CALLBACK_SECRET must be a random value of at least 32 bytes")
    if len(COLLECTION_CALLBACK_SECRET.encode()) < 32:
        problems.append("COLLECTION_CALLBACK_SECRET must be a random value of at least 32 bytes")
    for prefix, adapter in (
        ("FACE", FACE_PROVIDER),
        ("BANK", BANK_ADAPTER),
        ("CONTRIBUTION_BANK", CONTRIBUTION_BANK_ADAPTER),
        ("COLLECTION", COLLECTION_ADAPTER),
    ):
        if adapter != "http":
            continue
        if not globals()[f"{prefix}_BASE_URL"].startswith("https://"):
            problems.append(f"{prefix}_BASE_URL must be the provider's https:// address")
        if not globals()[f"{prefix}_KEY_ID"]:
            problems.append(f"{prefix}_KEY_ID must be set")
        if len(globals()[f"{prefix}_SECRET"].encode()) < 32:
            problems.append(f"{prefix}_SECRET must be a random value of at least 32 bytes")
if problems:
    raise ImproperlyConfigured(f"Refusing to start in {DJANGO_ENV} mode: " + "; ".join(problems))

# Clerks are privileged users: the admin asks for a TOTP code after the password (等保 2.0
# level 3). Turn it off only on a developer's own machine.
ADMIN_REQUIRE_OTP = env_bool("ADMIN_REQUIRE_OTP", True)
OTP_TOTP_ISSUER = "社保网上服务大厅"
SERVICE_HOTLINE = "12333"
PORTAL_NAME = _("单位社保网上服务大厅")

# One place for every rate limit and code lifetime (DESIGN.md section 11).
RATE_LIMITS = {
    "password_failures_per_agent": 5,
    # A lock lasts this long, doubling with each further lock within 24 hours; the
    # login_locks_before_hold-th lock in 24 hours holds until lifted (SMS code, CA login, clerk).
    "login_lock_minutes": 15,
    "login_locks_before_hold": 4,
    "login_attempts_per_ip_per_minute": 20,
    "sms_code_digits": 6,
    "sms_code_ttl_seconds": 5 * 60,
    "sms_resend_seconds": 60,
    "sms_sends_per_phone_per_day": 10,
    "sms_sends_per_ip_per_day": 50,
    "sms_code_wrong_entries": 5,
    "penny_drop_wrong_entries": 3,
    "penny_drop_answer_days": 7,
    "penny_drop_transfers_per_day": 3,
    "session_idle_seconds": SESSION_IDLE_TIMEOUT,
    "session_absolute_seconds": SESSION_COOKIE_AGE,
    "dormant_agent_days": 90,
    # Public check of a proof's verification code (/proof/), per client address.
    "proof_checks_per_ip_per_minute": 30,
    "proof_checks_per_ip_per_day": 300,
}
# The address the public reaches the portal at, printed in proofs' QR codes (e.g.
# https://sbwt.example.gov.cn); empty: the host of the request that issued the proof.
PORTAL_PUBLIC_BASE_URL = os.environ.get("PORTAL_PUBLIC_BASE_URL", "").rstrip("/")

# Official PDFs (portal/pdf.py): proofs, 个人权益记录 and 缴费通知单 carry the issuing agency's name
# under its seal and are signed (PAdES) with its certificate. The name per deployment, or per
# region code ({"110105": "……社会保险事业管理中心"}); the seal is drawn from the name unless ops
# give the agency's seal image (a file, per region as well). The signing certificate (then its
# intermediates) and key are file paths or PEM text, never in the repository; development uses a
# test CA made under var/proof-signing/ (portal/pdf_signing.py). PROOF_TSA_URL: an RFC 3161
# time-stamping service (PAdES B-T); without it signatures are B-B.
DEV_PROOF_ISSUER_NAME = "演示市社会保险事业管理中心"
PROOF_ISSUER_NAME = os.environ.get("PROOF_ISSUER_NAME", "" if PRODUCTION else DEV_PROOF_ISSUER_NAME)
PROOF_ISSUER_NAMES = json.loads(os.environ.get("PROOF_ISSUER_NAMES") or "{}")
PROOF_SEAL_IMAGE = os.environ.get("PROOF_SEAL_IMAGE", "")
PROOF_SEAL_IMAGES = json.loads(os.environ.get("PROOF_SEAL_IMAGES") or "{}")
PROOF_SIGNING_CERT = os.environ.get("PROOF_SIGNING_CERT", "")
PROOF_SIGNING_KEY = os.environ.get("PROOF_SIGNING_KEY", "")
PROOF_SIGNING_KEY_PASSPHRASE = os.environ.get("PROOF_SIGNING_KEY_PASSPHRASE", "")
PROOF_TSA_URL = os.environ.get("PROOF_TSA_URL", "")

# Login lockout: django-axes counts consecutive failures per login key (no cool-off of its own);
# employers.models.LoginLock times each lock (15 minutes, doubling within a day, held after the
# fourth) and employers.accounts.services lifts expired ones. Locking by username only: locking an
# address would lock every agent behind one company NAT; addresses are throttled by
# portal.ratelimit.
AXES_FAILURE_LIMIT = RATE_LIMITS["password_failures_per_agent"]
AXES_COOLOFF_TIME = None
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_PARAMETERS = ["username"]
# The key axes stores is the agent's login name (no personal data), never the ID number typed in.
AXES_USERNAME_CALLABLE = "employers.accounts.backends.axes_username"
AXES_LOCKOUT_CALLABLE = "employers.accounts.backends.axes_lockout_response"
AXES_SENSITIVE_PARAMETERS = [
    "username",
    "unit",
    "id_number",
    "phone",
    "code",
    "signature",
    "captcha_0",
    "captcha_1",
    "csrfmiddlewaretoken",
]
AXES_VERBOSE = False
# Logins are in the audit log (portal.audit); axes keeps only the failure counts.
AXES_DISABLE_ACCESS_LOG = True
# axes.W006 warns that AXES_LOCKOUT_PARAMETERS lacks "ip_address": intended, see above.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Image captcha (django-simple-captcha): 4 characters without look-alikes, large and upright
# enough to read, light dots only around the letters (no arcs or lines across them). A challenge
# is deleted on its first attempt and expires after CAPTCHA_TIMEOUT minutes.
CAPTCHA_CHALLENGE_FUNCT = "employers.accounts.forms.captcha_challenge"
CAPTCHA_LENGTH = 4
CAPTCHA_TIMEOUT = 5
CAPTCHA_FONT_SIZE = 34
CAPTCHA_IMAGE_SIZE = (160, 52)
CAPTCHA_LETTER_ROTATION = (-12, 12)
CAPTCHA_BACKGROUND_COLOR = "#f4f7fb"
CAPTCHA_FOREGROUND_COLOR = "#0b3d91"
CAPTCHA_NOISE_FUNCTIONS = ("employers.accounts.forms.captcha_light_noise",)
CAPTCHA_FILTER_FUNCTIONS = ()
CAPTCHA_2X_IMAGE = False

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {
            "format": "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        }
    },
    "filters": {"redact_pii": {"()": "portal.logging.RedactPersonalDataFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "structured",
            "filters": ["redact_pii"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Every record passes the one console handler and its filter. Django's own handlers
    # (DEFAULT_LOGGING: "console" and "mail_admins" on "django", "django.server" for runserver's
    # access lines) would write request paths and errors unredacted: those loggers get none and
    # hand their records up to the root's.
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "INFO"},
    },
}

# Deployed modes sit behind a TLS proxy that sets X-Forwarded-Proto. Production always; a staging
# host served over plain HTTP sets PORTAL_HTTPS=0 (cookies then travel without the Secure flag).
HTTPS = PRODUCTION or (STAGING and env_bool("PORTAL_HTTPS", True))
if DEPLOYED:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # HSTS pins browsers to HTTPS for a year: production only by default, as a staging host
    # name may go back to plain HTTP.
    SECURE_HSTS_SECONDS = int(
        os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600) if PRODUCTION else "0")
    )
    SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
    SECURE_HSTS_PRELOAD = PRODUCTION
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
