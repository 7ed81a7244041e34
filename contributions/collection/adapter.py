"""The collection system (税务部门's 社保费征收) as seen by the portal: an adapter interface.

After a tax_bureau region's bill is confirmed (核定), its 应征数据 are sent with ``submit``; the
unit then pays at 电子税务局 or by a 三方协议 debit on the due day, and each payment result comes
back by the signed callback or by ``query``. The adapter is chosen by
settings.COLLECTION_ADAPTER: a name in ADAPTERS or a dotted path to a class, as
contributions.payments.bank chooses the bank.

A real adapter speaks the collection system's signed HTTP protocol (built on portal.outbound):
``submit`` must be idempotent on ``AssessmentData.idempotency_key`` (the bill's identity), so that
a send whose answer was lost is resolved by ``query`` and, where the system never received it,
sent again under the same key without ever making a second claim. Network failures, timeouts and
unreadable answers raise CollectionUnavailable; the caller keeps the order pending and retries.
A definite "no" (the system received the 应征数据 and will not claim them) raises
CollectionRefused with the system's code and reason; the order is then 税务部门未受理.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from portal.adapters import adapter_from_setting
from portal.workdays import add_working_days

# The tax bureau passes collected contributions to the fund's account within working days.
SETTLEMENT_WORKING_DAYS = 5


class CollectionUnavailable(Exception):
    """The collection system did not answer (or not readably): the outcome is unknown."""


class CollectionRefused(Exception):
    """The collection system received the 应征数据 and refused them (a definite answer)."""

    def __init__(self, code: str, message: str = ""):
        self.code = (code or "refused")[:32]
        self.message = (message or "")[:200]
        super().__init__(self.code)


@dataclass(frozen=True)
class AssessmentData:
    """应征数据: what the collection system needs to claim one bill from the unit."""

    idempotency_key: str
    bill_reference: str
    uscc: str
    unit_name: str
    ss_number: str
    region_code: str
    month: datetime.date
    due_on: datetime.date
    amount: Decimal
    employer_amount: Decimal
    personal_amount: Decimal
    # {insurance type: (employer, personal)} in yuan
    by_type: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)


@dataclass(frozen=True)
class SubmitAnswer:
    """The collection system accepted the 应征数据 under this 应征凭证序号."""

    voucher_number: str


@dataclass(frozen=True)
class PaymentResult:
    """One payment (or failed payment) of the unit against an 应征凭证.

    ``result_id`` is the collection system's own number of the result (the same result reported
    twice has the same id); a paid result carries the 电子缴款凭证号 and the day it was paid.
    """

    result_id: str
    paid: bool
    amount: Decimal
    receipt_number: str = ""
    paid_on: datetime.date | None = None
    failure_code: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class StatusAnswer:
    """What the collection system knows of one key: nothing (``known`` false), or its voucher
    and every payment result so far."""

    known: bool
    voucher_number: str = ""
    results: tuple[PaymentResult, ...] = ()


class CollectionAdapter:
    """A collection system: accepts 应征数据 and reports payment results."""

    name = ""
    is_sandbox = False

    def submit(self, data: AssessmentData) -> SubmitAnswer:
        """Send the 应征数据; idempotent on data.idempotency_key. Raise CollectionUnavailable
        when the outcome is unknown, CollectionRefused when the system says no."""
        raise NotImplementedError

    def query(self, idempotency_key: str) -> StatusAnswer:
        """Ask what the system knows of the key. Raise CollectionUnavailable when it does not
        answer."""
        raise NotImplementedError

    def estimate_settlement(self, paid_on: datetime.date) -> datetime.date:
        """The day money paid on ``paid_on`` reaches the fund (至多 5 个工作日 by default)."""
        return add_working_days(paid_on, SETTLEMENT_WORKING_DAYS)


def _adapters():
    from contributions.collection.http_bureau import HttpTaxBureau
    from contributions.collection.sandbox import SandboxTaxBureau

    return {"sandbox": SandboxTaxBureau, "http": HttpTaxBureau}


def collection_adapter() -> CollectionAdapter:
    """Return the configured collection system."""
    return adapter_from_setting("COLLECTION_ADAPTER", _adapters(), "collection adapter")
