"""Penny-drops in tests: the bank is called after commit, as the worker does."""

from __future__ import annotations

from django.test import TestCase

from employers.models import PennyDropTransfer
from employers.verification.bank import penny_drop_request


def after_commit():
    """Run what the block queues for after commit (the bank call) before it ends."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def sent(application, **kwargs) -> PennyDropTransfer:
    """Request a penny-drop and let its bank call happen (the sandbox bank by default)."""
    with after_commit():
        transfer = penny_drop_request(application=application, **kwargs)
    transfer.refresh_from_db()
    return transfer
