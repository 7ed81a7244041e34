"""portal.outbound against a stub server on 127.0.0.1: signing, retries, timeouts, callbacks."""

from __future__ import annotations

import json
import time

import pytest
from django.db import transaction

from portal.outbound import (
    IDEMPOTENCY_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    InsideTransaction,
    OutboundRefused,
    OutboundUnavailable,
    SignatureRejected,
    SignedClient,
    signed_headers,
    verify_signed_request,
)
from tests.support.stub_server import MemoryNonces

SECRET = "a-test-secret-of-at-least-32-bytes-long"


@pytest.fixture
def server(stub_server):
    stub = stub_server(key_id="portal", secret=SECRET, stall_seconds=1.5)
    made = []

    def create(request, match):
        made.append(request.json)
        return 201, {"id": len(made)}

    stub.route("POST", "/things", create)
    stub.route("GET", r"/things/(\d+)", lambda request, match: (200, {"id": int(match[1])}))
    stub.route("POST", "/refuse", lambda request, match: (422, {"code": "bad_account"}))
    stub.made = made
    return stub


def client(server, **options) -> SignedClient:
    options = {"retries": 2, "backoff": 0.01, "read_timeout": 0.5, **options}
    return SignedClient(base_url=server.base_url, key_id="portal", secret=SECRET, **options)


def test_a_call_is_signed_and_carries_its_idempotency_key(server):
    answer = client(server).call("POST", "/things", json={"名称": "甲"}, idempotency_key="k-1")

    assert answer.status == 201 and answer.data == {"id": 1}
    (request,) = server.received
    assert request.signature == "ok"
    assert request.path == "/api/things"
    assert request.headers[IDEMPOTENCY_HEADER] == "k-1"
    assert json.loads(request.body) == {"名称": "甲"}


def test_a_call_with_a_key_is_retried_after_5xx_each_time_signed_anew(server):
    server.faults += ["fail", "fail"]

    answer = client(server).call("POST", "/things", json={}, idempotency_key="k-2")

    assert answer.status == 201
    assert [r.fault for r in server.received] == ["fail", "fail", ""]
    assert all(r.signature == "ok" for r in server.received)  # no retry refused as a replay
    assert len({r.headers[NONCE_HEADER] for r in server.received}) == 3
    assert {r.headers[IDEMPOTENCY_HEADER] for r in server.received} == {"k-2"}


def test_a_post_without_a_key_is_never_retried(server):
    server.faults += ["fail"]

    with pytest.raises(OutboundUnavailable):
        client(server).call("POST", "/things", json={})

    assert len(server.received) == 1 and server.made == []


def test_an_idempotent_get_is_retried_after_a_timeout_and_a_reset(server):
    server.faults += ["timeout", "reset"]

    answer = client(server).call("GET", "/things/7")

    assert answer.data == {"id": 7}
    assert len(server.received) == 3


def test_a_lost_answer_after_the_retries_is_unavailable_not_refused(server):
    server.faults += ["lose", "lose", "lose"]

    with pytest.raises(OutboundUnavailable):
        client(server).call("POST", "/things", json={}, idempotency_key="k-3")

    assert len(server.received) == 3  # one call, two retries


def test_a_4xx_is_a_refusal_and_is_not_retried(server):
    with pytest.raises(OutboundRefused) as caught:
        client(server).call("POST", "/refuse", json={}, idempotency_key="k-4")

    assert caught.value.status == 422 and caught.value.data == {"code": "bad_account"}
    assert len(server.received) == 1


def test_a_wrong_secret_is_refused_by_the_receiver(server):
    wrong = SignedClient(
        base_url=server.base_url, key_id="portal", secret="another-secret-" * 3, retries=0
    )

    with pytest.raises(OutboundRefused) as caught:
        wrong.call("POST", "/things", json={}, idempotency_key="k-5")

    assert caught.value.data == {"code": "signature_invalid"}
    assert server.made == []


@pytest.mark.django_db
def test_no_call_inside_a_database_transaction(server):
    with transaction.atomic(), pytest.raises(InsideTransaction):
        client(server).call("GET", "/things/1")

    assert server.received == []


# --- the receiving side: signed callbacks ---------------------------------------------------


def signed(body=b'{"a": 1}', *, now=None, secret=SECRET, path="/verify/face/callback/"):
    headers = signed_headers(
        key_id="provider", secret=secret, method="POST", path=path, body=body, now=now
    )
    return {"method": "POST", "path": path, "headers": headers, "body": body}


def check(request, *, nonces=None, **options):
    return verify_signed_request(
        secrets={"provider": SECRET}, cache=nonces or MemoryNonces(), **request, **options
    )


def test_a_signed_callback_is_accepted_once():
    nonces = MemoryNonces()
    request = signed()

    assert check(request, nonces=nonces) == "provider"
    with pytest.raises(SignatureRejected) as caught:
        check(request, nonces=nonces)
    assert caught.value.code == "replay"


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda r: r.update(body=b'{"a": 2}'), "signature_invalid"),
        (lambda r: r.update(path="/other/"), "signature_invalid"),
        (lambda r: r["headers"].update({SIGNATURE_HEADER: "0" * 64}), "signature_invalid"),
        (lambda r: r["headers"].pop(SIGNATURE_HEADER), "signature_missing"),
        (lambda r: r["headers"].update({"X-Key-Id": "someone"}), "unknown_key"),
    ],
    ids=["body", "path", "signature", "no-signature", "unknown-key"],
)
def test_a_tampered_callback_is_refused(tamper, code):
    request = signed()
    tamper(request)

    with pytest.raises(SignatureRejected) as caught:
        check(request)

    assert caught.value.code == code


@pytest.mark.parametrize("offset", [-301, 301], ids=["old", "future"])
def test_a_callback_outside_the_time_window_is_refused(offset):
    request = signed(now=time.time() + offset)

    with pytest.raises(SignatureRejected) as caught:
        check(request)

    assert caught.value.code == "timestamp_invalid"
