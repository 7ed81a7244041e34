"""SMS backends, configured like Django's e-mail backends (settings.SMS_BACKEND).

console: writes the message to stdout (development); locmem: keeps messages in ``outbox``
(tests); the HTTP gateway backend signs requests to one or more provider URLs with failover.
A backend raises SmsTemporaryError when trying again later may work and SmsPermanentError when
it never will (an invalid number, a refused message); the outbox (portal.notifications)
decides what to do. Backends are called outside database transactions, with a timeout.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from portal.identifiers import mask_phone

outbox: list[SmsMessage] = []


class SmsError(Exception):
    """A send that did not go through; the message carries no personal data."""


class SmsTemporaryError(SmsError):
    pass


class SmsPermanentError(SmsError):
    pass


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str
    idempotency_key: str = ""


class ConsoleBackend:
    def send(self, message: SmsMessage) -> str:
        sys.stdout.write(f"[短信] 发往 {mask_phone(message.phone)}:{message.text}\n")
        sys.stdout.flush()
        return "console"


class LocmemBackend:
    def send(self, message: SmsMessage) -> str:
        outbox.append(message)
        return "locmem"


class HttpGatewayBackend:
    """POST the message as JSON to each configured provider in turn until one accepts it.

    settings.SMS_GATEWAYS = [{"name": ..., "url": ..., "key_id": ..., "secret": ...}, ...].
    The request carries the outbox row's idempotency key, so a provider that saw the message
    before (a resend after a lost answer) accepts it without sending it twice. The signature
    is HMAC-SHA256 over "<timestamp>\\n<body>" in the X-Signature header.
    """

    def __init__(self, gateways: list[dict] | None = None, timeout: float | None = None):
        self.gateways = gateways if gateways is not None else settings.SMS_GATEWAYS
        self.timeout = timeout if timeout is not None else settings.SMS_GATEWAY_TIMEOUT

    def send(self, message: SmsMessage) -> str:
        if not self.gateways:
            raise SmsTemporaryError("no SMS gateway configured")
        errors = []
        for gateway in self.gateways:
            try:
                self._post(gateway, message)
                return gateway.get("name", gateway["url"])
            except SmsPermanentError:
                raise
            except SmsTemporaryError as exc:
                errors.append(f"{gateway.get('name', 'gateway')}: {exc}")
        raise SmsTemporaryError("; ".join(errors)[:200])

    def _post(self, gateway: dict, message: SmsMessage) -> None:
        body = json.dumps(
            {
                "phone": message.phone,
                "text": message.text,
                "idempotency_key": message.idempotency_key,
            },
            ensure_ascii=False,
        ).encode()
        timestamp = str(int(time.time()))
        signature = hmac.new(
            gateway["secret"].encode(), timestamp.encode() + b"\n" + body, hashlib.sha256
        ).hexdigest()
        request = urllib.request.Request(
            gateway["url"],
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Key-Id": gateway.get("key_id", ""),
                "X-Timestamp": timestamp,
                "X-Signature": signature,
                "Idempotency-Key": message.idempotency_key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise SmsTemporaryError(f"HTTP {exc.code}") from None
            raise SmsPermanentError(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsTemporaryError(type(exc).__name__) from None


def get_backend():
    return import_string(settings.SMS_BACKEND)()


def send_sms(phone: str, text: str, idempotency_key: str = "") -> str:
    """Send one SMS through the configured backend; call it outside database transactions."""
    return get_backend().send(SmsMessage(phone=phone, text=text, idempotency_key=idempotency_key))
