import datetime
import itertools
import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from employers.models import (
    Employer,
    PennyDropTransfer,
    RegistrationApplication,
    VerificationMethod,
)
from employers.verification.bank import (
    SandboxBank,
    parse_amount_fen,
    penny_drop_confirm,
    penny_drop_request,
    sandbox_bank_statement,
    sandbox_transfer_arrive,
)
from portal.models import AuditEvent
from portal.workdays import add_working_days
from tests.factories import create_employer
from tests.support.banking import after_commit, sent

pytestmark = pytest.mark.django_db

_references = itertools.count(1)


@pytest.fixture
def in_transit():
    """Ask for it to keep the sandbox bank's 1–3 working days in transit."""


@pytest.fixture(autouse=True)
def _money_arrives_at_once(request, monkeypatch):
    """The amounts are typed after the money arrived, except in tests that ask for in_transit."""
    if "in_transit" in request.fixturenames:
        return
    monkeypatch.setattr(SandboxBank, "estimate_arrival", lambda self, today: today)


@pytest.fixture
def application():
    employer = create_employer(status=Employer.Status.UNVERIFIED)
    return RegistrationApplication.objects.create(
        reference=f"ZC2027{next(_references):06d}", account=employer.account, employer=employer
    )


def yuan(amount_fen: int) -> str:
    return f"{amount_fen // 100}.{amount_fen % 100:02d}"


def wrong(transfer) -> str:
    return yuan(transfer.amount_fen % 99 + 1)


def refusal(func, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as excinfo:
        func(**kwargs)
    return excinfo.value


def amount_error(error: ValidationError) -> str:
    return error.message_dict["amount"][0]


def fail_transfer(application, transfer):
    for _ in range(3):
        refusal(penny_drop_confirm, application=application, amount_text=wrong(transfer))
    transfer.refresh_from_db()
    assert transfer.state == PennyDropTransfer.State.FAILED


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("0.1", 10),
        ("0.10", 10),
        ("0.01", 1),
        ("0.99", 99),
        ("¥0.35", 35),
        ("￥0.35", 35),
        ("0.35元", 35),
        (" 0.35 ", 35),
        ("¥ 0.35 元", 35),
        ("０．３５", 35),
        (".5", 50),
        ("0.100", 10),
    ],
)
def test_amount_is_read_as_yuan(text, fen):
    assert parse_amount_fen(text) == fen


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("abc", "invalid"),
        ("", "required"),
        ("   ", "required"),
        ("¥", "required"),
        ("1e-2", "invalid"),
        ("NaN", "invalid"),
        ("0,35", "invalid"),
        ("0.35.1", "invalid"),
        ("-0.10", "range"),
        ("0", "range"),
        ("0.00", "range"),
        ("1", "range"),
        ("1.00", "range"),
        ("35", "range"),
        ("0.355", "decimals"),
        ("0.001", "decimals"),
    ],
)
def test_text_that_is_not_an_amount_is_refused_on_the_field(text, code):
    error = refusal(parse_amount_fen, text=text)
    assert error.error_dict["amount"][0].code == code
    assert amount_error(error)


def test_more_than_two_decimals_says_so():
    assert amount_error(refusal(parse_amount_fen, text="0.355")) == "金额最多两位小数。"


def test_request_sends_a_transfer_with_amount_memo_and_deadline(application, in_transit):
    now = timezone.now()
    transfer = sent(application, now=now)

    today = timezone.localdate(now)
    assert transfer.state == PennyDropTransfer.State.SENT
    assert 1 <= transfer.amount_fen <= 99
    assert len(transfer.memo_code) == 4 and transfer.memo_code.isdigit()
    assert transfer.expires_at == now + datetime.timedelta(days=7)
    assert add_working_days(today, 1) <= transfer.arrives_on <= add_working_days(today, 3)
    assert transfer.bank_reference.startswith("SBX")
    requested = AuditEvent.objects.get(action="penny_drop.requested")
    assert requested.outcome == AuditEvent.Outcome.SUCCESS
    assert requested.details["request_id"] == transfer.request_id
    audit = AuditEvent.objects.get(action="penny_drop.sent")
    assert audit.details["bank_reference"] == transfer.bank_reference
    assert not any("amount" in key for key in audit.details)


def test_the_bank_is_called_after_commit_and_the_answer_recorded_apart(application):
    with after_commit() as callbacks:
        transfer = penny_drop_request(application=application)
        # Inside the request's transaction the row is only pending: no bank call yet.
        assert transfer.state == PennyDropTransfer.State.PENDING
        assert transfer.bank_reference == "" and transfer.arrives_on is None
    assert len(callbacks) == 1

    transfer.refresh_from_db()
    assert transfer.state == PennyDropTransfer.State.SENT
    assert transfer.bank_calls == 1 and transfer.sent_at is not None


def test_sandbox_bank_arrives_after_one_to_three_working_days(in_transit):
    today = datetime.date(2026, 3, 6)  # a Friday
    days = {SandboxBank().estimate_arrival(today) for _ in range(60)}
    assert days == {add_working_days(today, n) for n in (1, 2, 3)}


def test_request_is_refused_while_a_transfer_waits_for_its_amount(application):
    transfer = sent(application)

    error = refusal(penny_drop_request, application=application)

    assert error.code == "active_transfer"
    assert f"账户验证:{transfer.memo_code}" in error.message
    assert "金额" in error.message
    assert application.penny_drops.count() == 1
    audit = AuditEvent.objects.filter(action="penny_drop.requested").first()
    assert audit.outcome == AuditEvent.Outcome.FAILURE
    assert audit.details["reason"] == "active_transfer"


def test_request_after_the_waiting_transfer_expired_expires_it_and_sends_another(application):
    old = sent(application)

    new = sent(application, now=timezone.now() + datetime.timedelta(days=8))

    old.refresh_from_db()
    assert old.state == PennyDropTransfer.State.EXPIRED
    assert new.state == PennyDropTransfer.State.SENT


def test_request_after_a_failed_transfer_sends_another(application):
    fail_transfer(application, sent(application))
    assert sent(application).state == PennyDropTransfer.State.SENT


def test_fourth_transfer_in_a_day_is_refused_with_the_day_to_try_again(application):
    for _ in range(3):
        fail_transfer(application, sent(application))

    error = refusal(penny_drop_request, application=application)

    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    assert error.code == "daily_cap"
    assert f"{tomorrow:%Y-%m-%d}" in error.message
    assert application.penny_drops.count() == 3


def test_daily_cap_comes_from_rate_limits(application, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "penny_drop_transfers_per_day": 1}
    fail_transfer(application, sent(application))
    assert refusal(penny_drop_request, application=application).code == "daily_cap"


def test_request_is_refused_for_a_submitted_application(application):
    application.state = RegistrationApplication.State.SUBMITTED
    application.save()
    assert refusal(penny_drop_request, application=application).code == "submitted"
    assert not application.penny_drops.exists()


def test_right_amount_verifies_the_application(application):
    transfer = sent(application)
    now = timezone.now()

    penny_drop_confirm(application=application, amount_text=yuan(transfer.amount_fen), now=now)

    transfer.refresh_from_db()
    application.refresh_from_db()
    assert transfer.state == PennyDropTransfer.State.VERIFIED
    assert transfer.verified_at == now
    assert application.verification_method == VerificationMethod.BANK
    assert application.verified_at == now
    assert application.verification_evidence == {
        "method": "bank",
        "bank_reference": transfer.bank_reference,
    }
    audit = AuditEvent.objects.filter(action="penny_drop.confirmed").first()
    assert audit.outcome == AuditEvent.Outcome.SUCCESS


@pytest.mark.parametrize("text", ["0.1", "0.10", "¥0.10", "0.10元"])
def test_ten_fen_may_be_written_several_ways(application, text):
    transfer = sent(application)
    PennyDropTransfer.objects.filter(pk=transfer.pk).update(amount_fen=10)

    penny_drop_confirm(application=application, amount_text=text)

    transfer.refresh_from_db()
    assert transfer.state == PennyDropTransfer.State.VERIFIED


def test_wrong_amount_counts_and_says_how_many_tries_are_left(application):
    transfer = sent(application)

    first = refusal(penny_drop_confirm, application=application, amount_text=wrong(transfer))
    second = refusal(penny_drop_confirm, application=application, amount_text=wrong(transfer))

    assert amount_error(first) == "金额不正确,还可以再试 2 次。"
    assert amount_error(second) == "金额不正确,还可以再试 1 次。"
    transfer.refresh_from_db()
    assert transfer.wrong_attempts == 2
    assert transfer.state == PennyDropTransfer.State.SENT
    application.refresh_from_db()
    assert application.verification_method == ""


def test_third_wrong_amount_voids_the_transfer(application):
    transfer = sent(application)
    for _ in range(2):
        refusal(penny_drop_confirm, application=application, amount_text=wrong(transfer))

    third = refusal(penny_drop_confirm, application=application, amount_text=wrong(transfer))

    assert amount_error(third) == "错误次数过多,本次打款已作废,请重新申请。"
    assert third.error_dict["amount"][0].code == "too_many_wrong"
    transfer.refresh_from_db()
    assert transfer.state == PennyDropTransfer.State.FAILED
    assert transfer.wrong_attempts == 3
    # Even the right amount is refused now: that transfer is spent.
    late = refusal(
        penny_drop_confirm, application=application, amount_text=yuan(transfer.amount_fen)
    )
    assert late.code == "no_transfer"
    application.refresh_from_db()
    assert application.verification_method == ""


def test_wrong_entries_allowed_come_from_rate_limits(application, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "penny_drop_wrong_entries": 1}
    transfer = sent(application)
    refusal(penny_drop_confirm, application=application, amount_text=wrong(transfer))
    transfer.refresh_from_db()
    assert transfer.state == PennyDropTransfer.State.FAILED


def test_text_that_is_not_an_amount_costs_no_attempt(application):
    transfer = sent(application)
    error = refusal(penny_drop_confirm, application=application, amount_text="abc")
    assert "amount" in error.message_dict
    transfer.refresh_from_db()
    assert transfer.wrong_attempts == 0


def test_answer_after_seven_days_expires_the_transfer(application):
    transfer = sent(application)
    later = timezone.now() + datetime.timedelta(days=8)

    error = refusal(
        penny_drop_confirm,
        application=application,
        amount_text=yuan(transfer.amount_fen),
        now=later,
    )

    assert error.message == "打款已超过7天,请重新申请打款。"
    transfer.refresh_from_db()
    assert transfer.state == PennyDropTransfer.State.EXPIRED
    application.refresh_from_db()
    assert application.verification_method == ""


def test_confirm_without_a_transfer_is_refused(application):
    assert refusal(penny_drop_confirm, application=application, amount_text="0.35").code == (
        "no_transfer"
    )


def test_confirm_does_not_touch_another_units_transfer(application):
    other = create_employer(status=Employer.Status.UNVERIFIED)
    other_application = RegistrationApplication.objects.create(
        reference=f"ZC2027{next(_references):06d}", account=other.account, employer=other
    )
    transfer = sent(other_application)

    error = refusal(
        penny_drop_confirm, application=application, amount_text=yuan(transfer.amount_fen)
    )

    assert error.code == "no_transfer"
    transfer.refresh_from_db()
    assert transfer.state == PennyDropTransfer.State.SENT


def test_statement_shows_the_amount_only_once_it_has_arrived(application):
    transfer = sent(application)

    (before,) = sandbox_bank_statement(today=transfer.arrives_on - datetime.timedelta(days=1))
    (on_the_day,) = sandbox_bank_statement(today=transfer.arrives_on)

    assert before.amount is None
    assert on_the_day.amount == f"¥{yuan(transfer.amount_fen)}"
    assert on_the_day.memo == f"账户验证:{transfer.memo_code}"
    assert on_the_day.masked_account == "***************6543"
    assert on_the_day.account_name == application.employer.bank_account_name


def test_no_personal_data_or_expected_amount_in_the_audit_log(application):
    employer = application.employer
    transfer = sent(application)
    refusal(penny_drop_request, application=application)
    refusal(penny_drop_confirm, application=application, amount_text=wrong(transfer))
    penny_drop_confirm(application=application, amount_text=yuan(transfer.amount_fen))

    events = AuditEvent.objects.filter(action__startswith="penny_drop.")
    assert events.count() == 5  # requested, sent, refused, wrong, right
    for event in events:
        text = json.dumps(event.details, ensure_ascii=False)
        assert employer.legal_rep_id_number not in text
        assert employer.bank_account not in text
        assert not any("amount" in key for key in event.details)


def test_an_amount_typed_before_the_money_can_arrive_uses_no_try(application, in_transit):
    transfer = sent(application)
    error = refusal(
        penny_drop_confirm, application=application, amount_text=yuan(transfer.amount_fen)
    )
    assert "到账前无法核对金额" in amount_error(error)
    assert transfer.arrives_on.strftime("%Y-%m-%d") in amount_error(error)
    transfer.refresh_from_db()
    assert (transfer.wrong_attempts, transfer.state) == (0, PennyDropTransfer.State.SENT)


def test_the_sandbox_statement_lets_a_transfer_arrive_now(application, in_transit):
    transfer = sent(application)
    assert sandbox_transfer_arrive(bank_reference=transfer.bank_reference) is True
    transfer.refresh_from_db()
    assert transfer.arrives_on == timezone.localdate()
    assert sandbox_transfer_arrive(bank_reference=transfer.bank_reference) is False
    penny_drop_confirm(application=application, amount_text=yuan(transfer.amount_fen))
