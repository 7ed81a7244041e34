"""Reads of 税务征收 for a bill already loaded for the agent's unit."""

from __future__ import annotations

from dataclasses import dataclass

from contributions.collection.pdf import how_to_pay_lines
from contributions.collection.services import region_collection_mode
from contributions.models import CollectionMode, CollectionOrder, MonthlyBill
from portal.compiled_sql import CompiledQuery


def _bill_orders(bill: int):
    orders = CollectionOrder.objects.filter(bill_id=bill)
    return orders if orders.ordered else orders.order_by("pk")  # as .first() orders them


# The bill's order (one at most), compiled once per process: the bill's page is among the most
# opened.
_BILL_ORDER = CompiledQuery(_bill_orders, "bill")


@dataclass(frozen=True)
class BillCollection:
    """How the bill is collected: the mode, its 应征数据 (None before confirmation or for a
    direct-debit region) and the payment instructions."""

    mode: str
    order: CollectionOrder | None
    how_to_pay: list[str]

    @property
    def by_tax_bureau(self) -> bool:
        return self.mode == CollectionMode.TAX_BUREAU


def bill_collection(bill: MonthlyBill) -> BillCollection:
    """The bill's collection (two queries: the region's mode, the order)."""
    mode = region_collection_mode(bill.employer.region_id)
    order = None
    if mode == CollectionMode.TAX_BUREAU:
        found = _BILL_ORDER.instances(bill=bill.pk, limit=1)
        order = found[0] if found else None
    return BillCollection(
        mode=mode, order=order, how_to_pay=how_to_pay_lines(mode=mode, bill=bill, order=order)
    )
