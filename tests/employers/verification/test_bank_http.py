"""The penny-drop through a bank's signed-HTTP API, against a stub bank on 127.0.0.1."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.db import transaction
from django.utils import timezone

from employers.models import Employer, PennyDropTransfer, RegistrationApplication
from employers.verification.bank import penny_drop_request, penny_drop_send, penny_drops_resolve
from portal.models import AuditEvent
from portal.outbound import IDEMPOTENCY_HEADER, InsideTransaction
from tests.factories import create_employer
from tests.support.banking import after_commit, sent

pytestmark = pytest.mark.django_db

SECRET = "bank-test-secret-of-at-least-32-bytes!"
State = PennyDropTransfer.State
_references = itertools.count(1)


class StubBank:
    """Plays the bank: one transfer per Idempotency-Key, a status query by request id."""

    def __init__(self, server):
        self.server = server
        self.transfers: dict[str, dict] = {}  # request id -> the transfer made
        server.route("POST", "/transfers", self.create)
        server.route("GET", r"/transfers/([A-Z0-9]+)", self.status)

    def create(self, request, match):
        body = request.json
        key = request.headers.get(IDEMPOTENCY_HEADER, "")
        assert key == body["request_id"]
        if body["payee"]["account"].endswith("0000"):
            return 422, {"code": "account_closed"}
        if key not in self.transfers:  # a repeated key is the same transfer, not a new one
            self.transfers[key] = {
                "status": "accepted",
                "reference": f"BK{len(self.transfers) + 1:08d}",
                "arrives_on": (timezone.localdate() + datetime.timedelta(days=1)).isoformat(),
                "amount_fen": body["amount_fen"],
                "account": body["payee"]["account"],
            }
        return 201, self.transfers[key]

    def status(self, request, match):
        found = self.transfers.get(match[1])
        return (200, found) if found else (404, {"code": "not_found"})

    def posts(self):
        return self.server.calls("POST", "/transfers")

    def queries(self):
        return self.server.calls("GET", "/transfers/")


@pytest.fixture
def bank(stub_server, settings):
    server = stub_server(key_id="portal-bank", secret=SECRET, stall_seconds=1.5)
    settings.BANK_ADAPTER = "http"
    settings.BANK_BASE_URL = server.base_url
    settings.BANK_KEY_ID = "portal-bank"
    settings.BANK_SECRET = SECRET
    settings.OUTBOUND_READ_TIMEOUT = 0.5
    settings.OUTBOUND_RETRIES = 2
    settings.OUTBOUND_BACKOFF_SECONDS = 0.01
    return StubBank(server)


@pytest.fixture
def application():
    employer = create_employer(status=Employer.Status.UNVERIFIED)
    return RegistrationApplication.objects.create(
        reference=f"ZC2029{next(_references):06d}", account=employer.account, employer=employer
    )


def later(seconds_after_the_lease: int = 1) -> datetime.datetime:
    from django.conf import settings

    return timezone.now() + datetime.timedelta(
        seconds=settings.PENNY_DROP_RESOLVE_AFTER_SECONDS + seconds_after_the_lease
    )


def test_the_transfer_request_is_signed_and_carries_the_request_id(bank, application):
    transfer = sent(application)

    assert transfer.state == State.SENT
    ((request_id, made),) = bank.transfers.items()
    assert request_id == transfer.request_id
    assert transfer.bank_reference == made["reference"] == "BK00000001"
    assert transfer.arrives_on == timezone.localdate() + datetime.timedelta(days=1)
    assert made["amount_fen"] == transfer.amount_fen
    (post,) = bank.posts()
    assert post.signature == "ok"
    assert post.json["memo"] == f"账户验证:{transfer.memo_code}"
    assert post.json["payee"]["account"] == application.employer.bank_account


def test_a_5xx_is_retried_with_the_same_key_and_pays_once(bank, application):
    bank.server.faults += ["fail", "timeout"]

    transfer = sent(application)

    assert transfer.state == State.SENT
    assert len(bank.posts()) == 3
    assert {r.headers[IDEMPOTENCY_HEADER] for r in bank.posts()} == {transfer.request_id}
    assert len(bank.transfers) == 1


def test_a_lost_answer_is_resolved_by_a_status_query_never_a_second_transfer(bank, application):
    bank.server.faults += ["lose", "lose", "lose"]  # the bank pays, every answer is lost

    transfer = sent(application)

    assert transfer.state == State.PENDING and transfer.bank_reference == ""
    assert len(bank.posts()) == 3 and len(bank.transfers) == 1
    assert penny_drops_resolve(now=timezone.now()) == 0  # not before the lease has passed
    assert bank.queries() == []

    assert penny_drops_resolve(now=later()) == 1

    transfer.refresh_from_db()
    assert transfer.state == State.SENT
    assert transfer.bank_reference == bank.transfers[transfer.request_id]["reference"]
    assert len(bank.queries()) == 1 and bank.queries()[0].signature == "ok"
    assert len(bank.posts()) == 3  # no new transfer request after the answer was lost
    assert len(bank.transfers) == 1
    assert penny_drops_resolve(now=later(600)) == 0  # settled: nothing more to ask


def test_a_call_that_never_reached_the_bank_is_made_again_under_the_same_key(bank, application):
    bank.server.faults += ["reset", "reset", "reset"]

    transfer = sent(application)
    assert transfer.state == State.PENDING and bank.transfers == {}

    penny_drops_resolve(now=later())

    transfer.refresh_from_db()
    assert transfer.state == State.SENT and transfer.bank_calls == 2
    assert len(bank.queries()) == 1  # asked first: the bank had no such transfer
    assert {r.headers[IDEMPOTENCY_HEADER] for r in bank.posts()} == {transfer.request_id}
    assert len(bank.transfers) == 1


def test_no_answer_to_the_status_query_either_keeps_the_transfer_pending(bank, application):
    bank.server.faults += ["lose", "lose", "lose"]
    transfer = sent(application)
    bank.server.faults += ["fail", "fail", "fail"]

    assert penny_drops_resolve(now=later()) == 0

    transfer.refresh_from_db()
    assert transfer.state == State.PENDING
    assert len(bank.queries()) == 3 and len(bank.posts()) == 3
    penny_drops_resolve(now=later() + datetime.timedelta(minutes=5))
    transfer.refresh_from_db()
    assert transfer.state == State.SENT and len(bank.transfers) == 1


def test_a_refusal_by_the_bank_is_recorded_and_a_new_transfer_may_be_asked_for(bank, application):
    Employer.objects.filter(pk=application.employer_id).update(bank_account="6222020000000000")

    transfer = sent(application)

    assert transfer.state == State.REJECTED and transfer.bank_failure == "account_closed"
    assert len(bank.posts()) == 1  # a 4xx is an answer: not retried
    event = AuditEvent.objects.get(action="penny_drop.rejected")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert "6222020000000000" not in str(event.details)
    Employer.objects.filter(pk=application.employer_id).update(bank_account="6222020000006543")
    assert sent(application).state == State.SENT


def test_a_transfer_queued_while_the_broker_was_down_is_sent_by_the_resolver(bank, application):
    transfer = penny_drop_request(application=application)  # the after-commit call never ran
    assert transfer.state == State.PENDING and bank.posts() == []

    penny_drops_resolve(now=later())

    transfer.refresh_from_db()
    assert transfer.state == State.SENT and len(bank.transfers) == 1
    assert bank.queries() == []  # never called: nothing to ask about


def test_a_late_answer_for_a_settled_transfer_changes_nothing(bank, application):
    bank.server.faults += ["lose", "lose", "lose"]
    transfer = sent(application)
    penny_drops_resolve(now=later())
    transfer.refresh_from_db()
    reference = transfer.bank_reference

    assert penny_drop_send(transfer_id=transfer.pk, now=later(600)) == ""

    transfer.refresh_from_db()
    assert transfer.bank_reference == reference and len(bank.posts()) == 3


def test_the_bank_is_never_called_inside_a_transaction(bank, application):
    with after_commit():
        transfer = penny_drop_request(application=application)
        with transaction.atomic(), pytest.raises(InsideTransaction):
            penny_drop_send(transfer_id=transfer.pk)
    assert len(bank.transfers) == 1  # the after-commit call


def test_a_transfer_never_answered_expires_with_its_answer_window(bank, application):
    bank.server.faults += ["reset"] * 6
    transfer = sent(application)

    penny_drops_resolve(now=transfer.expires_at + datetime.timedelta(seconds=1))

    transfer.refresh_from_db()
    assert transfer.state == State.EXPIRED
    assert AuditEvent.objects.filter(action="penny_drop.expired").count() == 1
    assert bank.transfers == {}


def test_the_resolver_runs_on_the_beat():
    from employers.tasks import penny_drops_resolve as task
    from portal.celery import app

    entry = app.conf.beat_schedule["employers-penny-drops-resolve"]
    assert entry["task"] == task.name
    assert entry["schedule"] <= 120  # a lost answer waits a few minutes at most
