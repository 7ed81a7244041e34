"""Logging filter that keeps personal data out of log lines."""

import logging
import re

# An 18-character resident ID, a mainland mobile number, a long bank-account-like digit run.
_PATTERNS = [
    (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"), "[身份证号已隐藏]"),
    (re.compile(r"(?<!\d)1\d{10}(?!\d)"), "[手机号已隐藏]"),
    (re.compile(r"(?<!\d)\d{12,30}(?!\d)"), "[账号已隐藏]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactPersonalDataFilter(logging.Filter):
    """Replace ID numbers, phone numbers and account numbers in a record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
