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
import re
import secrets
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from contributions.common import TYPE_ORDER, add_months, months_between
from contributions.models import (
    BillKind,
    BillLine,
    BillStatus,
    ContributionProof,
    InsuranceType,
)
from enrollment.models import Enrolment, InsuranceCode, Person
from enrollment.roster.selectors import roster_for_agent
from portal.audit import audit_log
from portal.identifiers import mask_id_number, mask_name

# 16 characters of 31 (no 0/O, 1/I/L): about 79 bits, read aloud and typed without confusion.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 16
CODE_GROUP = 4
CODE_INPUT_MAX = 64
MAX_MONTHS = 120
CANDIDATE_LIMIT = 20
UNPAID = "未缴费/未到账"
ZERO = Decimal("0.00")

# Enrolments a proof can speak for: approved ones, current or ended (not pending or cancelled).
PROVEN_STATUSES = (
    Enrolment.Status.ACTIVE,
    Enrolment.Status.SUSPENDED,
    Enrolment.Status.TERMINATED,
)

FUTURE_MONTH = _("不能选择未来的月份(本月为 %(month)s)。")
START_AFTER_END = _("起始年月不能晚于截止年月。")
RANGE_TOO_LONG = _("一份证明最多包含 %(max)d 个月,请缩小年月范围或分多份开具。")
PERSON_NOT_FOUND = _(
    "本单位没有找到该人员的参保登记。请核对姓名,或输入完整的证件号码(已减员的人员也可查到)。"
)
PERSON_REQUIRED = _("请填写要开具证明的人员的姓名或完整证件号码。")
ALREADY_REVOKED = _("该证明已于 %(when)s 作废。")


# Codes ----------------------------------------------------------------------------------------


def proof_code_new() -> str:
    """Return a fresh random verification code (16 characters, no look-alikes)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def proof_code_normalise(text) -> str:
    """Bring a typed or scanned code to the stored form: no spaces or dashes, upper case."""
    text = str(text or "")[:CODE_INPUT_MAX]
    return re.sub(r"[\s\-‐‑‒–—_]+", "", text).upper()


def proof_code_looks_valid(code: str) -> bool:
    """Tell whether a normalised code is made of letters and digits only (safe in a URL)."""
    return bool(re.fullmatch(r"[0-9A-Z]{1,32}", code))


def proof_code_display(code: str) -> str:
    """Group a code for reading: ABCD-EFGH-JKMN-PQRS."""
    return "-".join(code[i : i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))


def _public_base() -> str:
    return str(getattr(settings, "PORTAL_PUBLIC_BASE_URL", "") or "").rstrip("/")


def _absolute(path: str, request=None) -> str:
    base = _public_base()
    if base:
        return base + path
    if request is not None:
        return request.build_absolute_uri(path)
    return path


def proof_check_url(code: str, request=None) -> str:
    """The absolute address of the public check page of ``code`` (what the QR code holds).

    PORTAL_PUBLIC_BASE_URL (the address the public reaches the portal at) wins over the host of
    the request: an agent may issue the proof from an intranet address the public cannot reach.
    """
    return _absolute(reverse("proof_public:check", args=[code]), request)


def proof_form_url(request=None) -> str:
    """The absolute address of the public page where a code is typed in."""
    return _absolute(reverse("proof_public:form"), request)


# Months ---------------------------------------------------------------------------------------


def _month_text(month: datetime.date | None) -> str:
    return f"{month:%Y-%m}" if month else ""


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


# Selectors ------------------------------------------------------------------------------------


def proof_person_candidates(*, agent, q: str, limit: int = CANDIDATE_LIMIT) -> list[Person]:
    """Persons with an approved enrolment (current or ended) with the agent's unit matching a
    name (in part) or a full document number (through the blind index); each carries
    ``proof_enrolments``, its enrolments with the unit."""
    q = " ".join((q or "").split())
    if not q:
        return []
    person_ids = (
        roster_for_agent(agent, q=q)
        .filter(status__in=PROVEN_STATUSES)
        .order_by("person_id")
        .values_list("person_id", flat=True)
        .distinct()[:limit]
    )
    persons = list(Person.objects.filter(pk__in=list(person_ids)).order_by("name", "pk"))
    _attach_enrolments(agent.employer_id, persons)
    return persons


def _attach_enrolments(employer_id: int, persons: list[Person]) -> None:
    by_person = defaultdict(list)
    for enrolment in Enrolment.objects.filter(
        employer_id=employer_id,
        person_id__in=[person.pk for person in persons],
        status__in=PROVEN_STATUSES,
    ).order_by("start_month", "pk"):
        by_person[enrolment.person_id].append(enrolment)
    for person in persons:
        person.proof_enrolments = by_person[person.pk]


def proof_person_get_for_agent(*, agent, person_id) -> Person | None:
    """The person if they have or had an approved enrolment with the agent's unit, else None."""
    try:
        person_id = int(person_id)
    except (TypeError, ValueError):
        return None
    person = Person.objects.filter(
        pk=person_id,
        enrolments__employer_id=agent.employer_id,
        enrolments__status__in=PROVEN_STATUSES,
    ).first()
    if person is not None:
        _attach_enrolments(agent.employer_id, [person])
    return person


def proof_list_for_agent(*, agent) -> QuerySet[ContributionProof]:
    """The unit's proofs, newest first, with what the list shows (one query per page)."""
    return (
        ContributionProof.objects.filter(employer_id=agent.employer_id)
        .select_related("person", "created_by")
        .defer("content", "person__phone", "person__document_number")
        .order_by("-created_at", "-pk")
    )


def proof_get_for_agent(*, agent, proof_id: int) -> ContributionProof:
    """One proof of the agent's unit; 404 whether it is missing or another unit's."""
    return get_object_or_404(
        ContributionProof.objects.select_related("employer", "person", "created_by"),
        pk=proof_id,
        employer_id=agent.employer_id,
    )


def proof_get_by_code(code: str) -> ContributionProof | None:
    """The proof with this (normalised) code, or None; the public page's only read."""
    code = proof_code_normalise(code)
    if not proof_code_looks_valid(code):
        code = ""  # matches nothing, in the same one query (and no NUL reaches PostgreSQL)
    return ContributionProof.objects.filter(code=code).first()


# Content --------------------------------------------------------------------------------------


def _money(value) -> str:
    return f"{(value or ZERO).quantize(Decimal('0.01'))}"


def _type_label(insurance_type: str) -> str:
    return str(InsuranceType(insurance_type).label)


def _ordered_types(types) -> list[str]:
    return [kind for kind in TYPE_ORDER if kind in types]


def _enrolment_entry(enrolment: Enrolment) -> dict:
    end = ""
    if enrolment.status == Enrolment.Status.TERMINATED:
        end = _month_text(enrolment.last_contribution_month or enrolment.ended_on)
    return {
        "start_month": _month_text(enrolment.start_month),
        "end_month": end,
        "status": str(enrolment.get_status_display()),
        "insurance": [
            str(InsuranceCode(code).label)
            for code in enrolment.insurance_codes
            if code in InsuranceCode.values
        ],
    }


def _settled_lines(employer_id: int, month_from, month_to) -> QuerySet[BillLine]:
    return BillLine.objects.filter(
        employer_id=employer_id,
        month__gte=month_from,
        month__lte=month_to,
        bill__status=BillStatus.SETTLED,
    )


def _months_and_totals(month_from, month_to, cells: dict, *, unit: bool) -> dict:
    """Lay the (month, insurance type) cells out month by month and add up the totals."""
    months, paid = [], 0
    by_type = defaultdict(lambda: [ZERO, ZERO])
    for month in months_between(month_from, month_to):
        types = _ordered_types({kind for (m, kind) in cells if m == month})
        if not types:
            months.append({"month": _month_text(month), "paid": False, "note": UNPAID})
            continue
        paid += 1
        items, employer_sum, personal_sum = [], ZERO, ZERO
        for kind in types:
            cell = cells[(month, kind)]
            employer_sum += cell["employer"]
            personal_sum += cell["personal"]
            by_type[kind][0] += cell["employer"]
            by_type[kind][1] += cell["personal"]
            item = {
                "type": kind,
                "label": _type_label(kind),
                "base": _money(cell["base"]),
                "employer": _money(cell["employer"]),
                "personal": _money(cell["personal"]),
                "total": _money(cell["employer"] + cell["personal"]),
            }
            if unit:
                item["persons"] = cell["persons"]
            items.append(item)
        months.append(
            {
                "month": _month_text(month),
                "paid": True,
                "items": items,
                "employer": _money(employer_sum),
                "personal": _money(personal_sum),
                "total": _money(employer_sum + personal_sum),
            }
        )
    totals_by_type = [
        {
            "type": kind,
            "label": _type_label(kind),
            "employer": _money(by_type[kind][0]),
            "personal": _money(by_type[kind][1]),
            "total": _money(by_type[kind][0] + by_type[kind][1]),
        }
        for kind in _ordered_types(by_type)
    ]
    employer_total = sum((value[0] for value in by_type.values()), ZERO)
    personal_total = sum((value[1] for value in by_type.values()), ZERO)
    return {
        "months": months,
        "paid_months": paid,
        "unpaid_months": len(months) - paid,
        "totals": {
            "by_type": totals_by_type,
            "employer": _money(employer_total),
            "personal": _money(personal_total),
            "total": _money(employer_total + personal_total),
        },
    }


def _unit_entry(employer) -> dict:
    return {"name": employer.name, "ss_number": employer.ss_number}


def proof_content_person(*, employer, person: Person, month_from, month_to) -> dict:
    """What a person's proof states (masked name and number), from settled lines (one query)."""
    cells: dict = {}
    rows = (
        _settled_lines(employer.pk, month_from, month_to)
        .filter(person_id=person.pk)
        .values_list(
            "month",
            "insurance_type",
            "base",
            "employer_amount",
            "personal_amount",
            "bill__kind",
        )
        .order_by("month", "bill__sequence", "pk")
    )
    for month, kind, base, employer_amount, personal_amount, bill_kind in rows:
        cell = cells.setdefault(
            (month, kind), {"base": None, "employer": ZERO, "personal": ZERO, "regular": False}
        )
        cell["employer"] += employer_amount
        cell["personal"] += personal_amount
        if bill_kind == BillKind.REGULAR or not cell["regular"]:
            cell["base"] = base
            cell["regular"] = cell["regular"] or bill_kind == BillKind.REGULAR
    enrolments = getattr(person, "proof_enrolments", None)
    if enrolments is None:
        enrolments = list(
            Enrolment.objects.filter(
                employer_id=employer.pk, person_id=person.pk, status__in=PROVEN_STATUSES
            ).order_by("start_month", "pk")
        )
    return {
        "version": 1,
        "kind": ContributionProof.Kind.PERSON.value,
        "unit": _unit_entry(employer),
        "person": {
            "name": mask_name(person.name),
            "document_type": str(person.get_document_type_display()),
            "document_number": mask_id_number(person.document_number),
        },
        "enrolments": [_enrolment_entry(enrolment) for enrolment in enrolments],
        "month_from": _month_text(month_from),
        "month_to": _month_text(month_to),
        **_months_and_totals(month_from, month_to, cells, unit=False),
    }


def proof_content_unit(*, employer, month_from, month_to) -> dict:
    """What a unit's proof states, aggregated in the database (two queries at any size)."""
    cells: dict = {}
    rows = (
        _settled_lines(employer.pk, month_from, month_to)
        .values("month", "insurance_type", "bill__kind")
        .annotate(
            base_sum=Sum("base"),
            employer_sum=Sum("employer_amount"),
            personal_sum=Sum("personal_amount"),
            persons=Count("person_id", distinct=True),
        )
        .order_by("month", "insurance_type", "bill__kind")
    )
    for row in rows:
        key = (row["month"], row["insurance_type"])
        cell = cells.setdefault(
            key, {"base": None, "employer": ZERO, "personal": ZERO, "persons": 0, "regular": False}
        )
        cell["employer"] += row["employer_sum"]
        cell["personal"] += row["personal_sum"]
        regular = row["bill__kind"] == BillKind.REGULAR
        if regular or not cell["regular"]:
            cell["base"] = row["base_sum"]
            cell["persons"] = row["persons"]
            cell["regular"] = cell["regular"] or regular
    insured = Enrolment.objects.filter(
        employer_id=employer.pk, status=Enrolment.Status.ACTIVE
    ).count()
    return {
        "version": 1,
        "kind": ContributionProof.Kind.UNIT.value,
        "unit": {**_unit_entry(employer), "insured_now": insured},
        "month_from": _month_text(month_from),
        "month_to": _month_text(month_to),
        **_months_and_totals(month_from, month_to, cells, unit=True),
    }


# Services -------------------------------------------------------------------------------------


@transaction.atomic
def proof_issue(
    *,
    agent,
    kind: str,
    month_from: datetime.date,
    month_to: datetime.date,
    person: Person | None = None,
    request=None,
) -> ContributionProof:
    """Issue a proof for the agent's unit or one of its (former) employees, with its PDF."""
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
    proof.full_clean(exclude=["pdf"])
    # A random file name: neither the code nor a person's name is written to the file system.
    proof.pdf.save(f"{secrets.token_hex(12)}.pdf", ContentFile(data), save=False)
    proof.save()
    audit_log(
        action="contributions.proof_issued",
        actor=agent.user,
        employer_id=employer.pk,
        obj=proof,
        request=request,
        details={
            "kind": kind,
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
