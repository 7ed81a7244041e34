"""Signed HTTP calls to outside parties (face provider, banks, collection), and the check of
the signed callbacks they send back. The protocol is in docs/INTEGRATIONS.md.

Every request carries four headers, and an ``Idempotency-Key`` when the caller gives one::

    X-Key-Id      which shared secret signed it
    X-Timestamp   Unix seconds when it was signed
    X-Nonce       a random string, never used twice
    X-Signature   hex HMAC-SHA256(secret, canonical string)

    canonical string = METHOD "\\n" path-with-query "\\n" timestamp "\\n" nonce "\\n"
                       hex SHA-256(body)

Callers::

    client = SignedClient(base_url=..., key_id=..., secret=...)
    answer = client.call("POST", "/transfers", json={...}, idempotency_key=transfer_key)
    answer.status, answer.data          # a 2xx answer, its JSON body (a dict)
    # OutboundRefused: the party answered 4xx (answer.status, answer.data on the exception)
    # OutboundUnavailable: no answer (connection error, timeout, 5xx after the retries): the call
    #     may or may not have taken effect; resolve it by a status query, never by a new call
    #     with a new key.

    key_id = verify_signed_request(method=request.method, path=request.get_full_path(),
                                   headers=request.headers, body=request.body,
                                   secrets={FACE_KEY_ID: FACE_CALLBACK_SECRET})
    # SignatureRejected(code): "signature_missing", "unknown_key", "signature_invalid",
    #     "timestamp_invalid" (outside the window, either way), "replay" (nonce seen before)

Calls never run inside a database transaction (``call`` refuses): move the row to a pending
state and commit, call from a task or after commit, record the answer in a new transaction.

Retries are written here rather than left to urllib3's ``Retry``: each attempt must be signed
anew (a fresh timestamp and nonce), because the receiver refuses a nonce it has seen; a retried
request with the same headers would be refused as a replay instead of being deduplicated by its
idempotency key.
"""

from __future__ import annotations

import hashlib
import hmac
import json as jsonlib
import secrets as secretslib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.cache import cache as default_cache
from django.db import connections

KEY_ID_HEADER = "X-Key-Id"
TIMESTAMP_HEADER = "X-Timestamp"
NONCE_HEADER = "X-Nonce"
SIGNATURE_HEADER = "X-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# A signed message older or newer than this (seconds) is refused; a nonce is remembered twice as
# long, so that no message inside the window can be replayed.
MAX_AGE_SECONDS = 300
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({500, 502, 503, 504})
MAX_BACKOFF_SECONDS = 30.0


class OutboundError(Exception):
    """A call that did not get a 2xx answer."""


class OutboundUnavailable(OutboundError):
    """No usable answer: the call may or may not have taken effect at the other side."""


class OutboundRefused(OutboundError):
    """The other side answered 4xx: it received the call and said no."""

    def __init__(self, status: int, data: dict):
        self.status = status
        self.data = data
        super().__init__(f"refused with HTTP {status}: {data.get('code', '')}")


class SignatureRejected(Exception):
    """A signed request (callback) that must be refused; ``code`` says why."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


class InsideTransaction(RuntimeError):
    """An outside call was attempted while a database transaction is open."""


@dataclass(frozen=True)
class Answer:
    status: int
    data: dict = field(default_factory=dict)


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body or b"").hexdigest()


def canonical_string(*, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join([method.upper(), path, str(timestamp), nonce, body_digest(body)])


def sign(*, secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """Return the hex HMAC-SHA256 signature of a request under ``secret``."""
    message = canonical_string(
        method=method, path=path, timestamp=timestamp, nonce=nonce, body=body
    )
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_headers(
    *,
    key_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Return the four signature headers for a request (the sender's side)."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = nonce or secretslib.token_hex(16)
    return {
        KEY_ID_HEADER: key_id,
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: sign(
            secret=secret, method=method, path=path, timestamp=timestamp, nonce=nonce, body=body
        ),
    }


def verify_signed_request(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Mapping[str, str],
    max_age: int = MAX_AGE_SECONDS,
    now: float | None = None,
    cache=None,
) -> str:
    """Check a signed request (the receiver's side) and return its key id.

    ``secrets`` maps key ids to secrets (two during a rotation). The signature is checked before
    anything else, so that unsigned junk never reaches the cache; then the timestamp window;
    then the nonce, remembered in the cache (Redis or the database cache, shared by every web
    node) so that the same message is accepted once.
    """
    key_id = headers.get(KEY_ID_HEADER, "")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    nonce = headers.get(NONCE_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "").strip().lower()
    if not (key_id and timestamp and nonce and signature):
        raise SignatureRejected("signature_missing")
    secret = secrets.get(key_id)
    if not secret:
        raise SignatureRejected("unknown_key")
    expected = sign(
        secret=secret, method=method, path=path, timestamp=timestamp, nonce=nonce, body=body
    )
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise SignatureRejected("signature_invalid")
    if not timestamp.isdigit() or len(nonce) > 128:
        raise SignatureRejected("signature_invalid")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > max_age:
        raise SignatureRejected("timestamp_invalid")
    cache = cache or default_cache
    # add() is atomic in Redis and the database cache: of two deliveries, one wins.
    if not cache.add(f"outbound-nonce:{key_id}:{nonce}", 1, timeout=2 * max_age):
        raise SignatureRejected("replay")
    return key_id


def ensure_outside_transaction(using: str = "default") -> None:
    """Refuse to call out while a transaction is open (the test case's own ones aside)."""
    # Django marks the atomic blocks a TestCase opens around each test (_from_testcase), as
    # atomic(durable=True) relies on; every other open block is a real transaction.
    connection = connections[using]
    if any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks):
        raise InsideTransaction("outside calls never run inside a database transaction")


class SignedClient:
    """A party's HTTP API: JSON in and out, signed, with timeouts and retries.

    A call is retried (exponential back-off from ``backoff`` seconds) after a connection error,
    a timeout or a 5xx answer, and only when it may be repeated: an idempotent method (GET, PUT,
    DELETE) or a call with an idempotency key. A 4xx answer is never retried.
    """

    def __init__(
        self,
        *,
        base_url: str,
        key_id: str,
        secret: str,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retries: int | None = None,
        backoff: float | None = None,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.key_id = key_id
        self.secret = secret
        self.timeout = (
            connect_timeout if connect_timeout is not None else settings.OUTBOUND_CONNECT_TIMEOUT,
            read_timeout if read_timeout is not None else settings.OUTBOUND_READ_TIMEOUT,
        )
        self.retries = retries if retries is not None else settings.OUTBOUND_RETRIES
        self.backoff = backoff if backoff is not None else settings.OUTBOUND_BACKOFF_SECONDS
        self.session = session or requests.Session()
        # Nothing from the environment (proxies, .netrc credentials) joins a signed call.
        self.session.trust_env = False

    def call(
        self, method: str, path: str, *, json: dict | None = None, idempotency_key: str = ""
    ) -> Answer:
        """Send one call; return its 2xx answer or raise OutboundRefused/OutboundUnavailable."""
        ensure_outside_transaction()
        method = method.upper()
        body = b"" if json is None else jsonlib.dumps(json, ensure_ascii=False).encode()
        url = self.base_url + path
        # The signed path is the URL's path: a base URL may carry a prefix (/api/v1).
        parts = urlsplit(url)
        signed_path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        repeatable = method in IDEMPOTENT_METHODS or bool(idempotency_key)
        attempts = 1 + (max(self.retries, 0) if repeatable else 0)
        last_problem = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))
            headers = {
                "Content-Type": "application/json",
                "Accept": "application/json",
                **signed_headers(
                    key_id=self.key_id,
                    secret=self.secret,
                    method=method,
                    path=signed_path,
                    body=body,
                ),
            }
            if idempotency_key:
                headers[IDEMPOTENCY_HEADER] = idempotency_key
            try:
                response = self.session.request(
                    method,
                    url,
                    data=body or None,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_problem = type(exc).__name__
                continue
            if response.status_code in RETRY_STATUSES:
                last_problem = f"HTTP {response.status_code}"
                continue
            data = _json_body(response)
            if 200 <= response.status_code < 300:
                if data is None:
                    raise OutboundUnavailable("a 2xx answer without a JSON object")
                return Answer(status=response.status_code, data=data)
            if 400 <= response.status_code < 500:
                raise OutboundRefused(response.status_code, data or {})
            raise OutboundUnavailable(f"unexpected HTTP {response.status_code}")
        raise OutboundUnavailable(f"no answer after {attempts} attempt(s): {last_problem}")


def _json_body(response: requests.Response) -> dict | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
