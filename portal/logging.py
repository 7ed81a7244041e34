"""Logging filter that keeps personal data out of log lines."""

import logging
import re

# An 18-character resident ID, a mainland mobile number, a long bank-account-like digit run;
# each also in the grouped form people type and display (110105 19491231 002X, 138-1234-5678,
# 6222 0202 0000 1234 567). A run of digits that follows a letter is the tail of a portal
# reference (JY110000000123, ZC…, DC…) and stays readable, one after a dot is a fraction (a
# task's timing); one after a percent-escape (%20, %2C in a logged address) is a value.
_NOT_AFTER = r"(?:(?<![0-9A-Za-z.])|(?<=%[0-9A-Fa-f]{2}))"
_PATTERNS = [
    (
        re.compile(_NOT_AFTER + r"(?:\d{17}[\dXx]|\d{6}[ -]\d{8}[ -]\d{3}[\dXx])(?![0-9A-Za-z])"),
        "[身份证号已隐藏]",
    ),
    (re.compile(_NOT_AFTER + r"(?:1\d{10}|1\d{2}[ -]\d{4}[ -]\d{4})(?!\d)"), "[手机号已隐藏]"),
    (
        re.compile(_NOT_AFTER + r"(?:\d{12,30}|\d{4}(?:[ -]\d{4}){2,6}(?:[ -]\d{1,4})?)(?!\d)"),
        "[账号已隐藏]",
    ),
]


def redact(text: str) -> str:
    """Replace ID numbers, phone numbers and account numbers in text."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactPersonalDataFilter(logging.Filter):
    """Replace ID numbers, phone numbers and account numbers in a record's message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # A malformed call (arguments that do not fit the format) must neither fail the
            # caller, as an exception raised in a filter would, nor print the raw arguments, as
            # the handler's error report would.
            message = f"{record.msg} {record.args!r}"
            record.msg, record.args = message, None
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        # An exception message can carry the value that failed; format the traceback here, the
        # formatter then uses the cached, redacted text.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
