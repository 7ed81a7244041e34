"""Reads of the unit's details and its change filings, scoped to the asking agent's unit."""

from __future__ import annotations

from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from employers.models import Agent, Employer, PennyDropTransfer, UnitChangeFiling
from portal.identifiers import mask_bank_account, mask_phone
from portal.models import OPEN_REVIEW_STATES

Stage = UnitChangeFiling.Stage


RISK_CLASS_NAMES = (
    _("一类"),
    _("二类"),
    _("三类"),
    _("四类"),
    _("五类"),
    _("六类"),
    _("七类"),
    _("八类"),
)


def injury_risk_class_label(risk_class: int | None) -> str:
    """工伤保险行业风险类别 一类至八类 (人社部发〔2015〕71号) as printed."""
    if risk_class is None or not 1 <= risk_class <= len(RISK_CLASS_NAMES):
        return ""
    return str(RISK_CLASS_NAMES[risk_class - 1])


def unit_get_for_agent(*, agent: Agent) -> Employer:
    """Return the agent's own unit with its registry row and region."""
    return Employer.objects.select_related("account", "region").get(pk=agent.employer_id)


def unit_agents_for_agent(*, agent: Agent) -> list[Agent]:
    """Return the agents of the agent's unit, enabled ones first, by name."""
    return list(
        Agent.objects.filter(employer_id=agent.employer_id)
        .only("pk", "employer_id", "name", "phone", "roles", "is_active")
        .order_by("-is_active", "name", "pk")
    )


def open_changes(employer_id: int) -> Q:
    """The filings still being handled: awaiting the penny-drop, or in review."""
    return Q(employer_id=employer_id) & (
        Q(stage=Stage.AWAITING_VERIFICATION)
        | Q(stage=Stage.IN_REVIEW, review_state__in=OPEN_REVIEW_STATES)
    )


def open_unit_change(
    *, employer_id: int, kind: str, exclude_pk: int | None = None
) -> UnitChangeFiling | None:
    """Return the unit's change filing of this kind that is still being handled, if any."""
    filings = UnitChangeFiling.objects.filter(open_changes(employer_id), kind=kind)
    if exclude_pk is not None:
        filings = filings.exclude(pk=exclude_pk)
    return filings.order_by("-created_at", "-pk").first()


def open_unit_changes_for_agent(*, agent: Agent) -> dict[str, UnitChangeFiling]:
    """Return the unit's open change filings by kind (at most one of each)."""
    filings = UnitChangeFiling.objects.filter(open_changes(agent.employer_id)).order_by(
        "created_at", "pk"
    )
    return {filing.kind: filing for filing in filings}


def unit_change_list_for_agent(
    *, agent: Agent, kind: str | None = None, limit: int = 20
) -> list[UnitChangeFiling]:
    """Return the unit's latest change filings (of one kind if given)."""
    filings = UnitChangeFiling.objects.filter(employer_id=agent.employer_id)
    if kind:
        filings = filings.filter(kind=kind)
    return list(filings.select_related("submitted_by").order_by("-created_at", "-pk")[:limit])


def unit_change_get_for_agent(*, agent: Agent, pk: int) -> UnitChangeFiling:
    """Return a change filing of the agent's unit; 404 whether missing or another unit's."""
    return get_object_or_404(
        UnitChangeFiling.objects.select_related("submitted_by", "employer"),
        pk=pk,
        employer_id=agent.employer_id,
    )


def unit_change_latest_transfer(filing: UnitChangeFiling) -> PennyDropTransfer | None:
    """Return the latest penny-drop to a bank change filing's new account."""
    return (
        PennyDropTransfer.objects.filter(change_filing_id=filing.pk)
        .order_by("-requested_at", "-pk")
        .first()
    )


def mask_email(value: str) -> str:
    """Keep the first character of the local part and the domain: h***@example.com."""
    local, sep, domain = str(value or "").partition("@")
    if not sep:
        return "*" * len(local)
    return f"{local[:1]}***@{domain}"


def masked_contact(source) -> dict[str, str]:
    """A unit's (or a filing's) contact details as the clerk's side-by-side view shows them."""
    return {
        "contact_name": source.contact_name,
        "contact_phone": mask_phone(source.contact_phone) if source.contact_phone else "",
        "address": source.address,
        "contact_email": mask_email(source.contact_email),
    }


def masked_bank(source) -> dict[str, str]:
    """A unit's (or a filing's) bank account, the account number masked."""
    return {
        "bank_name": source.bank_name,
        "bank_account": mask_bank_account(source.bank_account),
        "bank_account_name": source.bank_account_name,
    }


def unit_change_rows(
    filing: UnitChangeFiling, *, current: Employer | None = None, for_clerk: bool = False
) -> list[tuple[str, str, str]]:
    """(label, before, requested) of each field the filing carries, phone and account masked.

    "Before" is the unit's value in force when ``current`` is given, else what was in force
    when the filing was made (kept masked on the filing). Only the clerk sees e-mails masked.
    """
    if filing.kind == UnitChangeFiling.Kind.CONTACT:
        before = masked_contact(current) if current is not None else dict(filing.previous)
        after = masked_contact(filing)
        if not for_clerk:
            after["contact_email"] = filing.contact_email
            if current is not None:
                before["contact_email"] = current.contact_email
    else:
        before = masked_bank(current) if current is not None else dict(filing.previous)
        after = masked_bank(filing)
    return [
        (str(UnitChangeFiling._meta.get_field(name).verbose_name), before.get(name, ""), value)
        for name, value in after.items()
    ]
