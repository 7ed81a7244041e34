import contextlib
import logging
import os
import re
from urllib.parse import unquote_plus

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


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Put back the reference rows migrations load (用工形式, coupling rules) for a test on a
    transactional database.

    Such a database is emptied after each test, migration data included: without this, a test
    that runs after a transactional one (browser tests, ``django_db(transaction=True)``, worker
    tests) finds no employment forms, whichever directory either test is in.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    import importlib

    from django.apps import apps

    importlib.import_module("enrollment.migrations.0002_default_employment_forms").add_defaults(
        apps, None
    )


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
def _default_language():
    """Each test starts in the default language (Chinese): a request in English (the language
    cookie) activates English in the thread, and Django leaves it active after the response."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


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


# No personal data in an address or a log line (issue 14) ----------------------------------------
#
# Every address a request of the session goes to (test client and live server alike, through
# Django's BaseHandler) and every redirect's Location are recorded, and so is every log line as
# the console handler writes it (its filters applied). At the end of the session they are
# scanned; a resident ID number or a mobile number in any of them fails the run, with the list.

# 17 digits and a check character; a mobile number. Not inside a longer run of letters and
# digits (a hex or base64 token, a captcha key, may hold 11 digits in a row), nor after a dot
# (the digits of a fraction).
ID_NUMBER_RUN = re.compile(r"(?<![0-9A-Za-z.])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
MOBILE_RUN = re.compile(
    r"(?<![0-9A-Za-z.])1[3-9][0-9](?:[0-9]{8}|[ -][0-9]{4}[ -][0-9]{4})(?![0-9A-Za-z])"
)
GROUPED_DIGITS = re.compile(r"(?<=[0-9])[ -](?=[0-9])")


def personal_data_in(text: str) -> list[str]:
    """The resident ID numbers (valid under GB 11643: birth date and check character) and the
    mainland mobile numbers in ``text``, percent-escapes decoded, grouped forms included."""
    from django.core.exceptions import ValidationError

    from portal.identifiers import validate_resident_id

    plain = unquote_plus(text)
    found = []
    for candidate in {
        *ID_NUMBER_RUN.findall(plain),
        *ID_NUMBER_RUN.findall(GROUPED_DIGITS.sub("", plain)),
    }:
        try:
            validate_resident_id(candidate)
        except ValidationError:
            continue
        found.append(candidate)
    return sorted(found) + MOBILE_RUN.findall(plain)


class PersonalDataWatch:
    """The addresses and log lines of the test session, each with the first test that made it."""

    def __init__(self):
        self.seen: dict[tuple[str, str], str] = {}
        self.typed_on_purpose = 0

    def note(self, kind: str, text: str) -> None:
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
        self.seen.setdefault((kind, text), test)

    def note_response(self, request, response) -> None:
        if not self.typed_on_purpose:
            self.note(f"{request.method} address", request.get_full_path())
        if response.has_header("Location"):
            self.note("redirect Location", response["Location"])

    @contextlib.contextmanager
    def typing_personal_data(self):
        """For a test that types personal data into an address on purpose (to show that the
        portal ignores or refuses it): the addresses it requests are not held against the
        portal; where they redirect and what is logged still are."""
        self.typed_on_purpose += 1
        try:
            yield
        finally:
            self.typed_on_purpose -= 1

    @contextlib.contextmanager
    def apart(self):
        """Record apart from the session for the block (a test of the watch itself)."""
        saved, self.seen = self.seen, {}
        try:
            yield self.seen
        finally:
            self.seen = saved

    def findings(self) -> list[str]:
        return [
            f"{kind}: {text}  [{', '.join(found)}]  (first in {test or 'no test'})"
            for (kind, text), test in self.seen.items()
            if (found := personal_data_in(text))
        ]


class _LogLines(logging.Handler):
    """Record each log line as the configured console handler writes it."""

    def __init__(self, watch: PersonalDataWatch):
        super().__init__()
        self.watch = watch

    def emit(self, record):
        console = next((h for h in logging.getLogger().handlers if h.get_name() == "console"), None)
        if console is not None and not console.filter(record):
            return
        self.watch.note("log line", (console or self).format(record))


WATCH = PersonalDataWatch()


@pytest.fixture(scope="session", autouse=True)
def _watch_addresses_and_log_lines():
    from django.core.handlers.base import BaseHandler

    get_response, get_response_async = BaseHandler.get_response, BaseHandler.get_response_async

    def watched(self, request):
        response = get_response(self, request)
        WATCH.note_response(request, response)
        return response

    async def watched_async(self, request):
        response = await get_response_async(self, request)
        WATCH.note_response(request, response)
        return response

    BaseHandler.get_response, BaseHandler.get_response_async = watched, watched_async
    handler = _LogLines(WATCH)
    logging.getLogger().addHandler(handler)
    yield WATCH
    logging.getLogger().removeHandler(handler)
    BaseHandler.get_response, BaseHandler.get_response_async = get_response, get_response_async


@pytest.fixture
def personal_data_watch(_watch_addresses_and_log_lines):
    """The session's record of addresses and log lines (see PersonalDataWatch)."""
    return _watch_addresses_and_log_lines


def pytest_sessionfinish(session, exitstatus):
    if WATCH.findings() and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    findings = WATCH.findings()
    if findings:
        terminalreporter.section("personal data in addresses or log lines", red=True)
        terminalreporter.write_line(
            "A resident ID number or a mobile number went into an address or a log line "
            "(tests/conftest.py, PersonalDataWatch):"
        )
        for line in findings:
            terminalreporter.write_line(f"  {line}")


@pytest.fixture
def stub_server():
    """Start stub HTTP servers of outside parties on 127.0.0.1 (tests/support/stub_server.py)."""
    from tests.support.stub_server import StubServer

    servers = []

    def start(*, key_id: str = "portal-test", secret: str = "s" * 40, **options) -> StubServer:
        server = StubServer(key_id=key_id, secret=secret, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
