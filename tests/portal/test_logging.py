import io
import logging

import pytest
from django.conf import settings

from portal.logging import RedactPersonalDataFilter, redact

ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"
BANK_ACCOUNT = "6222020200001234567"


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        (f"agent {ID_NUMBER} logged in", ID_NUMBER),
        (f"身份证号{ID_NUMBER.lower()}核验失败", ID_NUMBER.lower()),
        ("证件 110105 19491231 002X", "19491231"),
        (f"sms to {PHONE} queued", PHONE),
        ("手机138-1234-5678", "1234-5678"),
        (f"refund to account {BANK_ACCOUNT}", BANK_ACCOUNT),
        ("账号6222 0202 0000 1234 567", "0000 1234"),
    ],
)
def test_redact_hides_personal_data(text, hidden):
    cleaned = redact(text)
    assert hidden not in cleaned
    assert "已隐藏" in cleaned


def test_redact_hides_every_kind_in_one_message():
    cleaned = redact(f"id={ID_NUMBER} phone={PHONE} account={BANK_ACCOUNT}")
    assert cleaned == "id=[身份证号已隐藏] phone=[手机号已隐藏] account=[账号已隐藏]"


def test_redact_leaves_ordinary_numbers_alone():
    text = "2024-01-15 10:23:45 employer=42 period=202401 amount=12345.67 uscc=91350100M000100Y43"
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Not Found: /enrollment/remove/JY110000000123/",
        "export DC2026031500001234 done",
        "filing ZC13000000001 approved",
    ],
)
def test_redact_leaves_portal_references_readable(text):
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("account 6222020200001234", "6222020200001234"),  # 16 digits
        (f"account {BANK_ACCOUNT}", BANK_ACCOUNT),  # 19 digits
        (f'"GET /x/?q=%20{ID_NUMBER} HTTP/1.1" 200 5', ID_NUMBER),
        (f'"GET /x/?ids={PHONE}%2C13912345678 HTTP/1.1" 200 5', "13912345678"),
    ],
)
def test_redact_hides_accounts_and_escaped_values(text, hidden):
    assert hidden not in redact(text)


def make_record(msg, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("portal.test", logging.INFO, __file__, 1, msg, args, exc_info)


def test_filter_redacts_a_record_with_args():
    record = make_record("agent %s phone %s account %s", ID_NUMBER, PHONE, BANK_ACCOUNT)
    assert RedactPersonalDataFilter().filter(record) is True
    message = record.getMessage()
    for value in (ID_NUMBER, PHONE, BANK_ACCOUNT):
        assert value not in message
    assert message.startswith("agent [身份证号已隐藏] phone")


def test_filter_leaves_a_clean_record_untouched():
    record = make_record("employer %s approved", 42)
    assert RedactPersonalDataFilter().filter(record) is True
    assert record.msg == "employer %s approved"
    assert record.args == (42,)


@pytest.fixture
def redacted_logger():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactPersonalDataFilter())
    logger = logging.getLogger("tests.portal.redacted")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_traceback_is_redacted(redacted_logger):
    logger, stream = redacted_logger
    try:
        raise LookupError(f"no agent with id {ID_NUMBER}")
    except LookupError:
        logger.exception("agent lookup failed for %s", PHONE)
    output = stream.getvalue()
    assert "LookupError: no agent with id [身份证号已隐藏]" in output
    assert ID_NUMBER not in output and PHONE not in output


def test_malformed_call_neither_raises_nor_prints_the_arguments(redacted_logger):
    logger, stream = redacted_logger
    logger.info("phone %s and %s", PHONE)  # one argument short
    output = stream.getvalue()
    assert PHONE not in output
    assert "[手机号已隐藏]" in output


def test_console_handler_uses_the_filter():
    assert "redact_pii" in settings.LOGGING["handlers"]["console"]["filters"]
    assert (
        settings.LOGGING["filters"]["redact_pii"]["()"] == "portal.logging.RedactPersonalDataFilter"
    )


def test_decimal_fractions_such_as_task_timings_are_not_taken_for_accounts():
    from portal.logging import redact

    text = "Task succeeded in 0.10723112200003015s"
    assert redact(text) == text


def reached_handlers(name: str) -> list[logging.Handler]:
    """The handlers a record of the logger ``name`` reaches (pytest's and the test session's
    own capturing handlers left out)."""
    logger, found = logging.getLogger(name), []
    while logger is not None:
        found += [
            handler
            for handler in logger.handlers
            if not type(handler).__module__.startswith(("_pytest", "tests"))
            and not isinstance(handler, logging.NullHandler)
        ]
        logger = logger.parent if logger.propagate else None
    return found


def test_every_logger_writes_through_the_redacting_filter():
    names = ["django.server", "django.request", "django.security.csrf", "celery.app.trace"]
    # Every logger of the project, Django and the libraries the portal configures. Others that
    # test tools create for themselves (a browser driver's, say) do not carry portal data.
    prefixes = ("portal", "employers", "enrollment", "contributions", "django", "celery", "axes")
    names += [
        name
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name.split(".")[0] in prefixes
    ]
    unfiltered = {
        name: handler
        for name in names
        for handler in reached_handlers(name)
        if not any(isinstance(f, RedactPersonalDataFilter) for f in handler.filters)
    }
    assert unfiltered == {}
    assert reached_handlers("django.server") == reached_handlers("django.request") != []


def test_runserver_access_lines_and_request_warnings_are_redacted():
    [console] = reached_handlers("django.server")
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        logging.getLogger("django.server").info(
            '"%s" %s %s', f"GET /enrollment/roster/?q={ID_NUMBER} HTTP/1.1", 200, 5120
        )
        logging.getLogger("django.request").warning(
            "Not Found: %s", "/enrollment/remove/JY110000000123/"
        )
    finally:
        console.setStream(previous)
    output = stream.getvalue()
    assert "logger=django.server" in output and "?q=[身份证号已隐藏] HTTP/1.1" in output
    assert ID_NUMBER not in output
    assert "Not Found: /enrollment/remove/JY110000000123/" in output


def test_celery_workers_keep_the_redacting_handlers():
    from portal.celery import app

    assert app.conf.worker_hijack_root_logger is False
