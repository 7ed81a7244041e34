"""税务征收 through the collection system's signed-HTTP API, against a stub on 127.0.0.1."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contributions.collection.adapter import collection_adapter
from contributions.collection.http_bureau import HttpTaxBureau
from contributions.collection.reconcile import reconcile_collection
from contributions.collection.services import collection_orders_due, collection_poll
from contributions.models import BillStatus, CollectionOrder, CollectionResult, Payment
from contributions.payments.services import bill_confirm
from portal import outbound
from portal.models import AuditEvent
from tests.contributions.collection.helpers import tax_unit

pytestmark = pytest.mark.django_db

SECRET = "collection-http-secret-of-at-least-32-bytes"
CALLBACK_SECRET = "collection-callback-secret-for-http-tests-0123"
KEY_ID = "portal-collection"
CALLBACK = reverse("contributions:collection_callback")
Status = CollectionOrder.Status


class StubCollection:
    """Plays the collection system: one claim per Idempotency-Key, a status query by key."""

    def __init__(self, server):
        self.server = server
        self.claims: dict[str, dict] = {}  # key -> {"voucher_number", "body", "results"}
        self.refuse: tuple[int, dict] | None = None
        server.route("POST", "/assessments", self.create)
        server.route("GET", r"/assessments/([A-Za-z0-9]+)", self.status)

    def create(self, request, match):
        body = request.json
        key = request.headers.get(outbound.IDEMPOTENCY_HEADER, "")
        assert key == body["idempotency_key"]
        if self.refuse:
            return self.refuse
        if key not in self.claims:  # the same key again is the same claim, never a second
            self.claims[key] = {
                "voucher_number": f"YZ{len(self.claims) + 1:010d}",
                "body": body,
                "results": [],
            }
        return 201, {"voucher_number": self.claims[key]["voucher_number"]}

    def status(self, request, match):
        claim = self.claims.get(match[1])
        if claim is None:
            return 404, {"code": "not_found"}
        return 200, {"voucher_number": claim["voucher_number"], "results": claim["results"]}

    def pay(self, key: str, **result):
        self.claims[key]["results"].append(result)

    def posts(self):
        return self.server.calls("POST", "/assessments")

    def queries(self):
        return self.server.calls("GET", "/assessments/")


@pytest.fixture
def bureau(stub_server, settings):
    server = stub_server(key_id=KEY_ID, secret=SECRET, stall_seconds=1.5)
    settings.SANDBOX_PROVIDERS = True
    settings.SANDBOX_BANK_SETTLEMENT_DAYS = 3
    settings.COLLECTION_ADAPTER = "http"
    settings.COLLECTION_BASE_URL = server.base_url
    settings.COLLECTION_KEY_ID = KEY_ID
    settings.COLLECTION_SECRET = SECRET
    settings.COLLECTION_CALLBACK_SECRET = CALLBACK_SECRET
    settings.OUTBOUND_READ_TIMEOUT = 0.5
    settings.OUTBOUND_RETRIES = 2
    settings.OUTBOUND_BACKOFF_SECONDS = 0.01
    return StubCollection(server)


@pytest.fixture
def unit():
    return tax_unit()


def confirm(agent, bill, capture) -> CollectionOrder:
    with capture(execute=True):
        bill_confirm(agent=agent, bill=bill)
    return CollectionOrder.objects.get(bill=bill)


def after_the_lease() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(minutes=3)


def test_the_adapter_is_http(bureau):
    assert isinstance(collection_adapter(), HttpTaxBureau)
    assert not collection_adapter().is_sandbox


def test_the_assessment_data_are_sent_signed_under_the_bills_key(
    bureau, unit, django_capture_on_commit_callbacks
):
    employer, agent, bill = unit
    order = confirm(agent, bill, django_capture_on_commit_callbacks)

    assert order.status == Status.SENT and order.adapter == "http"
    ((key, claim),) = bureau.claims.items()
    assert key == bill.reference == order.idempotency_key
    assert order.voucher_number == claim["voucher_number"]
    (post,) = bureau.posts()
    assert post.signature == "ok"
    assert post.headers[outbound.KEY_ID_HEADER] == KEY_ID
    body = claim["body"]
    assert (body["uscc"], body["unit_name"]) == (employer.uscc, employer.name)
    assert (body["month"], body["due_on"]) == ("2026-08", bill.due_on.isoformat())
    assert Decimal(body["amount"]) == bill.total
    assert Decimal(body["employer_amount"]) + Decimal(body["personal_amount"]) == bill.total
    assert body["by_type"]  # per insurance type, employer and personal
    assert AuditEvent.objects.filter(action="collection.sent", object_id=str(order.pk)).exists()


def test_a_5xx_and_a_timeout_are_retried_under_the_same_key_and_claim_once(
    bureau, unit, django_capture_on_commit_callbacks
):
    _, agent, bill = unit
    bureau.server.faults += ["fail", "timeout"]

    order = confirm(agent, bill, django_capture_on_commit_callbacks)

    assert order.status == Status.SENT
    assert len(bureau.posts()) == 3
    assert {r.headers[outbound.IDEMPOTENCY_HEADER] for r in bureau.posts()} == {bill.reference}
    # Each attempt is signed anew: three nonces, each accepted.
    assert len({r.headers[outbound.NONCE_HEADER] for r in bureau.posts()}) == 3
    assert all(r.signature == "ok" for r in bureau.posts())
    assert len(bureau.claims) == 1


def test_a_lost_answer_is_resolved_by_the_status_query_never_a_second_send(
    bureau, unit, django_capture_on_commit_callbacks
):
    _, agent, bill = unit
    bureau.server.faults += ["lose", "lose", "lose"]  # the system claims, every answer is lost

    order = confirm(agent, bill, django_capture_on_commit_callbacks)

    assert order.status == Status.SENDING and order.voucher_number == ""
    assert order.last_error.startswith("no answer")
    assert len(bureau.claims) == 1
    posts = len(bureau.posts())
    assert order.pk not in collection_orders_due(now=timezone.now())[1]
    assert order.pk in collection_orders_due(now=after_the_lease())[1]

    with django_capture_on_commit_callbacks(execute=True):
        order = collection_poll(order_id=order.pk, now=after_the_lease())

    assert order.status == Status.SENT
    assert order.voucher_number == bureau.claims[bill.reference]["voucher_number"]
    assert len(bureau.posts()) == posts  # asked, not sent again
    assert len(bureau.queries()) == 1 and bureau.queries()[0].signature == "ok"
    assert order.send_attempts == 1

    # The unit pays at 电子税务局; the poll brings the result, once however often it asks.
    bureau.pay(
        bill.reference,
        result_id="R0001",
        paid=True,
        amount=str(bill.total),
        receipt_number="JK20260820000001",
        paid_on="2026-08-20",
    )
    collection_poll(order_id=order.pk)
    collection_poll(order_id=order.pk)
    order.refresh_from_db()
    bill.refresh_from_db()
    assert order.status == Status.PAID and order.receipt_number == "JK20260820000001"
    assert bill.status == BillStatus.DEBITED
    assert Payment.objects.filter(bill=bill).count() == 1
    assert CollectionResult.objects.get().source == "poll"
    assert len(bureau.claims) == 1


def test_a_send_that_never_arrived_is_sent_again_under_the_same_key(
    bureau, unit, django_capture_on_commit_callbacks
):
    _, agent, bill = unit
    bureau.server.faults += ["reset", "reset", "reset"]

    order = confirm(agent, bill, django_capture_on_commit_callbacks)
    assert order.status == Status.SENDING and not bureau.claims

    # The status query says 404: only then is it sent again, under the same key.
    with django_capture_on_commit_callbacks(execute=True):
        collection_poll(order_id=order.pk, now=after_the_lease())
    order.refresh_from_db()
    assert order.status == Status.SENT and order.send_attempts == 2
    assert list(bureau.claims) == [bill.reference]
    assert {r.headers[outbound.IDEMPOTENCY_HEADER] for r in bureau.posts()} == {bill.reference}


def test_a_4xx_refusal_is_recorded_with_its_reason_and_not_retried(
    bureau, unit, client, django_capture_on_commit_callbacks
):
    _, agent, bill = unit
    bureau.refuse = (422, {"code": "unit_not_registered", "message": "税务部门无该单位的登记信息"})

    order = confirm(agent, bill, django_capture_on_commit_callbacks)

    assert order.status == Status.REFUSED
    assert (order.failure_code, order.failure_message) == (
        "unit_not_registered",
        "税务部门无该单位的登记信息",
    )
    assert len(bureau.posts()) == 1  # a "no" is an answer: never retried
    event = AuditEvent.objects.get(action="collection.refused")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.details["failure_code"] == "unit_not_registered"
    # Neither sent again nor polled by the beat task.
    assert order.pk not in sum(collection_orders_due(now=after_the_lease()), [])

    client.force_login(agent.user)
    page = client.get(
        reverse("contributions:bill_detail", kwargs={"bill_reference": bill.reference})
    ).content.decode()
    assert 'data-collection="refused"' in page and "税务部门无该单位的登记信息" in page

    # The daily 对账 lists it (the due day has passed).
    report = reconcile_collection(date=timezone.localdate())
    assert any("税务部门无该单位的登记信息" in str(m["cause"]) for m in report.mismatches)


def test_a_refusal_without_a_message_gets_a_chinese_reason(
    bureau, unit, django_capture_on_commit_callbacks
):
    _, agent, bill = unit
    bureau.refuse = (409, {"code": "key_reused"})
    order = confirm(agent, bill, django_capture_on_commit_callbacks)
    assert order.status == Status.REFUSED and order.failure_code == "key_reused"
    assert "key_reused" in order.failure_message and "税务部门未受理" in order.failure_message


def test_a_malformed_status_answer_changes_nothing(
    bureau, unit, django_capture_on_commit_callbacks
):
    _, agent, bill = unit
    order = confirm(agent, bill, django_capture_on_commit_callbacks)
    bureau.pay(bill.reference, result_id="R9", paid=True, amount="lots")
    collection_poll(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == Status.SENT and order.last_error
    assert not CollectionResult.objects.exists()


# The callback, signed as the portal's own requests are ----------------------------------------


def result_body(bill, **overrides) -> bytes:
    import json

    fields = {
        "idempotency_key": bill.reference,
        "result_id": "CB-0001",
        "paid": True,
        "amount": str(bill.total),
        "receipt_number": "JK2026080100001",
        "paid_on": "2026-08-20",
        **overrides,
    }
    return json.dumps(fields).encode()


def outbound_headers(body: bytes, *, secret: str = CALLBACK_SECRET, key_id: str = KEY_ID, **kw):
    headers = outbound.signed_headers(
        key_id=key_id, secret=secret, method="POST", path=CALLBACK, body=body, **kw
    )
    return {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}


def test_the_callback_takes_the_outbound_signature_once(
    bureau, unit, django_capture_on_commit_callbacks
):
    _, agent, bill = unit
    confirm(agent, bill, django_capture_on_commit_callbacks)
    client = Client(enforce_csrf_checks=True)
    body = result_body(bill)
    headers = outbound_headers(body)

    response = client.post(CALLBACK, body, content_type="application/json", **headers)
    assert response.status_code == 200 and response.json() == {"ok": True, "matched": True}
    bill.refresh_from_db()
    assert bill.status == BillStatus.DEBITED

    # The same message again: its nonce was seen.
    again = client.post(CALLBACK, body, content_type="application/json", **headers)
    assert again.status_code == 403 and again.json()["code"] == "replay"
    assert Payment.objects.filter(bill=bill).count() == 1


@pytest.mark.parametrize(
    "headers, code",
    [
        (lambda body: {}, "bad_signature"),
        (lambda body: outbound_headers(body, secret="x" * 40), "bad_signature"),
        (lambda body: outbound_headers(body, key_id="someone-else"), "bad_signature"),
        (lambda body: outbound_headers(body, now=timezone.now().timestamp() - 600), "stale"),
    ],
    ids=["unsigned", "wrong-secret", "unknown-key", "old"],
)
def test_a_forged_or_old_callback_is_refused_and_audited(
    bureau, unit, django_capture_on_commit_callbacks, headers, code
):
    _, agent, bill = unit
    confirm(agent, bill, django_capture_on_commit_callbacks)
    body = result_body(bill)
    response = Client().post(CALLBACK, body, content_type="application/json", **headers(body))
    assert response.status_code == 403 and response.json()["code"] == code
    assert not CollectionResult.objects.exists()
    event = AuditEvent.objects.get(action="collection.callback_rejected")
    assert event.details == {"reason": code}


def test_the_timestamp_scheme_is_refused_with_the_http_adapter(
    bureau, unit, django_capture_on_commit_callbacks
):
    from tests.contributions.collection.helpers import signed_headers

    _, agent, bill = unit
    confirm(agent, bill, django_capture_on_commit_callbacks)
    body = result_body(bill)
    now = int(timezone.now().timestamp())
    response = Client().post(
        CALLBACK,
        body,
        content_type="application/json",
        **signed_headers(body, timestamp=now, secret=CALLBACK_SECRET),
    )
    assert response.status_code == 403 and response.json()["code"] == "bad_signature"
