"""参保缴费证明: what a proof states, its verification code, and issuing and revoking it.

A proof states only contributions that reached 已到账 (bills in status settled); any other month
of the range is listed as 未缴费/未到账. What it states is frozen in ``content`` at issue, with the
person's name and document number masked, because the public check page (no login) shows
``content`` to anyone who holds the code. The PDF given to the agent prints the full name and the
masked document number (see contributions.proofs.pdf).

Bases and supplements: a month's amounts are the sum of its settled regular and 补缴 lines; the
base shown is the regular bill's (a supplement's own base is shown only where no regular line
reached 已到账).
"""

from __future__ import annotations

import datetime
import secrets

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from contributions.common import add_months
from contributions.models import (
    ContributionProof,
)
from contributions.proofs.codes import proof_check_url, proof_code_new, proof_form_url
from contributions.proofs.content import _month_text, proof_content_person, proof_content_unit
from contributions.proofs.selectors import proof_person_get_for_agent
from enrollment.models import Person
from portal.audit import audit_log
from portal.pdf import issuer_name

MAX_MONTHS = 120


FUTURE_MONTH = _("不能选择未来的月份(本月为 %(month)s)。")


START_AFTER_END = _("起始年月不能晚于截止年月。")


RANGE_TOO_LONG = _("一份证明最多包含 %(max)d 个月,请缩小年月范围或分多份开具。")


PERSON_NOT_FOUND = _(
    "本单位没有找到该人员的参保登记。请核对姓名,或输入完整的证件号码(已减员的人员也可查到)。"
)


PERSON_REQUIRED = _("请填写要开具证明的人员的姓名或完整证件号码。")


ALREADY_REVOKED = _("该证明已于 %(when)s 作废。")


def proof_months_check(month_from: datetime.date | None, month_to: datetime.date | None) -> None:
    """Refuse a future month, a start after the end and a range over MAX_MONTHS (by field)."""
    this_month = timezone.localdate().replace(day=1)
    errors: dict[str, list] = {}
    for field, month in (("month_from", month_from), ("month_to", month_to)):
        if month is not None and month > this_month:
            errors.setdefault(field, []).append(
                _g(FUTURE_MONTH) % {"month": _month_text(this_month)}
            )
    if month_from and month_to and "month_from" not in errors and "month_to" not in errors:
        if month_from > month_to:
            errors["month_from"] = [_g(START_AFTER_END)]
        elif add_months(month_from, MAX_MONTHS) <= month_to:
            errors["month_to"] = [_g(RANGE_TOO_LONG) % {"max": MAX_MONTHS}]
    if errors:
        raise ValidationError(errors)


def proof_issue(
    *,
    agent,
    kind: str,
    month_from: datetime.date,
    month_to: datetime.date,
    person: Person | None = None,
    request=None,
) -> ContributionProof:
    """Issue a proof for the agent's unit or one of its (former) employees, with its PDF.

    The PDF is built and signed before the transaction that stores it: signing is CPU work (and
    a time-stamping request when a TSA is configured) that holds nothing in the database.
    """
    from contributions.proofs.pdf import proof_pdf

    month_from, month_to = month_from.replace(day=1), month_to.replace(day=1)
    proof_months_check(month_from, month_to)
    employer = agent.employer
    if kind == ContributionProof.Kind.PERSON:
        if person is None:
            raise ValidationError({"person_query": [_g(PERSON_REQUIRED)]})
        person = proof_person_get_for_agent(agent=agent, person_id=person.pk)
        if person is None:
            raise ValidationError({"person_query": [_g(PERSON_NOT_FOUND)]})
        content = proof_content_person(
            employer=employer, person=person, month_from=month_from, month_to=month_to
        )
    elif kind == ContributionProof.Kind.UNIT:
        person = None
        content = proof_content_unit(employer=employer, month_from=month_from, month_to=month_to)
    else:
        raise ValidationError({"kind": [_g("请选择证明类型。")]})

    code = proof_code_new()
    while ContributionProof.objects.filter(code=code).exists():  # 79 bits: practically never
        code = proof_code_new()
    created_at = timezone.now()
    content["issued_at"] = timezone.localtime(created_at).strftime("%Y-%m-%d %H:%M")
    region_code = employer.region.code
    content["issuer"] = {"name": issuer_name(region_code), "region": region_code}
    proof = ContributionProof(
        code=code,
        kind=kind,
        employer=employer,
        person=person,
        month_from=month_from,
        month_to=month_to,
        content=content,
        created_by=agent,
        created_at=created_at,
    )
    data = proof_pdf(
        proof,
        full_name=person.name if person is not None else "",
        check_url=proof_check_url(code, request),
        form_url=proof_form_url(request),
    )
    # Not re-read from the database: the unit, the agent and the person were loaded (and the
    # person scoped to the unit) above, and the code was found unused just now.
    proof.full_clean(exclude=["pdf", "employer", "person", "created_by"], validate_unique=False)
    return _proof_store(proof, data, request=request)


@transaction.atomic
def _proof_store(proof: ContributionProof, data: bytes, *, request=None) -> ContributionProof:
    """Store an issued proof with its signed PDF, audited."""
    # A random file name: neither the code nor a person's name is written to the file system.
    proof.pdf.save(f"{secrets.token_hex(12)}.pdf", ContentFile(data), save=False)
    proof.save()
    content, agent = proof.content, proof.created_by
    audit_log(
        action="contributions.proof_issued",
        actor=agent.user,
        employer_id=proof.employer_id,
        obj=proof,
        request=request,
        details={
            "kind": proof.kind,
            "month_from": content["month_from"],
            "month_to": content["month_to"],
            "paid_months": content["paid_months"],
        },
    )
    return proof


@transaction.atomic
def proof_revoke(*, agent, proof_id: int, request=None) -> ContributionProof:
    """Mark one of the unit's proofs 已作废: the public page says so from now on."""
    proof = get_object_or_404(
        ContributionProof.objects.select_for_update(),
        pk=proof_id,
        employer_id=agent.employer_id,
    )
    if proof.revoked_at is not None:
        when = timezone.localtime(proof.revoked_at).strftime("%Y-%m-%d %H:%M")
        raise ValidationError(_g(ALREADY_REVOKED) % {"when": when}, code="already_revoked")
    proof.revoked_at = timezone.now()
    proof.save(update_fields=["revoked_at"])
    audit_log(
        action="contributions.proof_revoked",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=proof,
        request=request,
        details={"kind": proof.kind},
    )
    return proof


def proof_download_record(*, agent, proof: ContributionProof, request=None) -> None:
    """Audit that an agent took the proof's PDF."""
    audit_log(
        action="contributions.proof_downloaded",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=proof,
        request=request,
    )


def proof_check_record(*, proof: ContributionProof | None, request) -> None:
    """Audit a public check (no code or personal data in the log; the proof id when found)."""
    audit_log(
        action="contributions.proof_checked",
        outcome="success" if proof is not None else "failure",
        employer_id=proof.employer_id if proof is not None else None,
        obj=proof,
        request=request,
        details={"revoked": bool(proof and proof.revoked_at)},
    )
