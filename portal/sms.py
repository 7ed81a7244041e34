"""SMS backends, configured like Django's e-mail backends (settings.SMS_BACKEND).

console: writes the message to stdout (development); locmem: keeps messages in ``outbox``
(tests). The HTTP gateway backend and the notification outbox come with the review queue.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from portal.identifiers import mask_phone

outbox: list[SmsMessage] = []


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str


class ConsoleBackend:
    def send(self, message: SmsMessage) -> None:
        sys.stdout.write(f"[短信] 发往 {mask_phone(message.phone)}:{message.text}\n")
        sys.stdout.flush()


class LocmemBackend:
    def send(self, message: SmsMessage) -> None:
        outbox.append(message)


def get_backend():
    return import_string(settings.SMS_BACKEND)()


def send_sms(phone: str, text: str) -> None:
    """Send one SMS through the configured backend; call it outside database transactions."""
    get_backend().send(SmsMessage(phone=phone, text=text))
