"""Units of tax_bureau regions with a bill, and adapters that lose their answers."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json

from contributions.collection.adapter import CollectionUnavailable
from contributions.collection.sandbox import SandboxTaxBureau
from contributions.models import CollectionMode
from contributions.payments.bank import BankUnavailable, SandboxContributionBank
from employers.models import Role
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff

AUGUST = datetime.date(2026, 8, 1)
SECRET = "collection-callback-secret-for-tests-0123456789"


def tax_unit(*, mode: str = CollectionMode.TAX_BUREAU, persons: int = 2):
    """(employer, agent, bill): a unit of a region in ``mode``, its agent (缴费申报 role) and an
    assessed bill of August 2026."""
    employer, agent, _period, enrolments = create_unit_with_staff(
        persons, roles=(Role.CONTRIBUTIONS.value,), collection_mode=mode
    )
    return employer, agent, create_bill(employer, AUGUST, enrolments)


def signed_headers(body: bytes, *, timestamp: int, secret: str = SECRET) -> dict:
    signature = hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return {
        "HTTP_X_COLLECTION_TIMESTAMP": str(timestamp),
        "HTTP_X_COLLECTION_SIGNATURE": signature,
    }


def callback_body(**fields) -> bytes:
    return json.dumps(fields).encode()


class LostAnswerBureau(SandboxTaxBureau):
    """Receives the 应征数据, but its answer never reaches the portal."""

    def submit(self, data):
        super().submit(data)
        raise CollectionUnavailable("timeout")


class NeverReachedBureau(SandboxTaxBureau):
    """The request never reaches the collection system."""

    def submit(self, data):
        raise CollectionUnavailable("connection refused")


class LostAnswerBank(SandboxContributionBank):
    """Debits, but its answer never reaches the portal."""

    def debit(self, **kwargs):
        super().debit(**kwargs)
        raise BankUnavailable("timeout")


class NeverReachedBank(SandboxContributionBank):
    def debit(self, **kwargs):
        raise BankUnavailable("connection refused")
