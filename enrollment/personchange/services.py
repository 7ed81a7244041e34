"""个人信息变更 (DESIGN.md §15): a unit corrects an employee's name, phone, 户籍类型 or 用工形式.

The unit files the new values with a reason and a proof (checked by content, portal.uploads);
a clerk reviews them (old → new) and the approval applies them, in one transaction, to the
person and to the unit's enrolment (enrollment.personchange.review). Until then the registered
details stay in force. The document number is never changed online: the page sends the unit to
the counter (COUNTER_NOTE). A person has at most one change under review at a time.
"""

from __future__ import annotations

import secrets
import uuid

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enrollment import rules
from enrollment.add.services import employment_form_resolve, person_name_check
from enrollment.models import (
    PERSON_CHANGE_FIELDS,
    Enrolment,
    HukouType,
    Person,
    PersonChangeAttachment,
    PersonChangeFiling,
)
from enrollment.renames import person_renamed
from portal.audit import audit_log
from portal.identifiers import mask_phone, normalise_mobile, validate_mobile
from portal.models import OPEN_REVIEW_STATES, ReviewState
from portal.review import review_submit
from portal.uploads import CheckedFile, upload_check

FIELD_LABELS = dict(PERSON_CHANGE_FIELDS)
FIELDS = tuple(FIELD_LABELS)
# The unit's enrolments whose persons it may correct: those it is responsible for now.
CHANGEABLE_STATUSES = (Enrolment.Status.ACTIVE, Enrolment.Status.SUSPENDED)
COUNTER_NOTE = gettext_lazy(
    "证件号码(身份证号)不能在网上变更。如需更正,请由本人携带居民身份证原件、"
    "户口簿原件(或公安机关出具的身份证号码变更证明),以及加盖单位公章的变更申请,"
    "到参保地社保经办机构窗口办理。"
)
UNCHANGED = gettext_lazy("填写的信息与当前登记的信息完全相同,无需变更。请修改需要更正的内容。")
ALREADY_OPEN = gettext_lazy(
    "该人员已有一笔正在办理的个人信息变更(业务编号 %(reference)s),请等待其办结后再申请。"
)
NOT_HERE = gettext_lazy("只能为在本单位参保(正常或暂停)的人员办理个人信息变更。")


def new_change_reference() -> str:
    """A filing number: GR, the date, 8 random hex digits (unique constraint backs it)."""
    return f"GR{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


def changed_labels(fields) -> str:
    return "、".join(str(FIELD_LABELS[name]) for name in fields if name in FIELD_LABELS)


def open_person_change(*, person_id: int, exclude_pk: int | None = None):
    """The person's change under review, if any."""
    queryset = PersonChangeFiling.objects.filter(
        person_id=person_id, review_state__in=list(OPEN_REVIEW_STATES)
    )
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    return queryset.only("reference").first()


def person_change_check(
    *, enrolment: Enrolment, name, phone: str, hukou_type: str, employment_form
) -> tuple[dict, list[str]]:
    """Check the new values against the person's registered ones; return (values, changed).

    An empty phone keeps the registered one (the page never shows it in full). Raises one
    ValidationError with every message, keyed by form field.
    """
    person = enrolment.person
    region = enrolment.employer.region
    errors: dict[str, list] = {}
    values: dict = {"phone": person.phone}
    try:
        values["name"] = person_name_check(name)
    except ValidationError as exc:
        exc.update_error_dict(errors)
    phone = (phone or "").strip()
    if phone:
        phone = normalise_mobile(phone)
        try:
            validate_mobile(phone)
            values["phone"] = phone
        except ValidationError as exc:
            errors.setdefault("phone", []).extend(exc.error_list)
    if hukou_type not in HukouType.values:
        errors.setdefault("hukou_type", []).append(ValidationError(_("请选择户籍类型。")))
    else:
        try:
            rules.hukou_check(
                document_type=person.document_type,
                nationality=person.nationality,
                hukou_type=hukou_type,
            )
            values["hukou_type"] = hukou_type
        except ValidationError as exc:
            exc.update_error_dict(errors)
    try:
        values["employment_form"] = employment_form_resolve(region=region, value=employment_form)
    except ValidationError as exc:
        exc.update_error_dict(errors)
    if "hukou_type" in values and "employment_form" in values:
        try:
            rules.insurance_coupling_check(
                region=region,
                hukou_type=values["hukou_type"],
                employment_form_code=values["employment_form"].code,
                insurance_codes=list(enrolment.insurance_codes),
            )
        except ValidationError as exc:
            # The insurance types are not on this form: say which field to change instead.
            messages = exc.message_dict.get("insurance_codes", exc.messages)
            errors.setdefault("employment_form", []).append(
                ValidationError(
                    _("与该人员现参保险种不符:%s 如需调整险种,请到经办窗口办理。")
                    % " ".join(messages)
                )
            )
    if errors:
        raise ValidationError(errors)
    current = {
        "name": person.name,
        "phone": person.phone,
        "hukou_type": person.hukou_type,
        "employment_form": enrolment.employment_form_id,
    }
    new = {**values, "employment_form": values["employment_form"].pk}
    changed = [name for name in FIELDS if new[name] != current[name]]
    if not changed:
        raise ValidationError(UNCHANGED, code="unchanged")
    return values, changed


def _previous(enrolment: Enrolment) -> dict:
    """What is in force now, for the clerk's old → new; the phone masked only."""
    person = enrolment.person
    return {
        "name": person.name,
        "phone": mask_phone(person.phone) if person.phone else "",
        "hukou_type": person.hukou_type,
        "employment_form": enrolment.employment_form.name,
    }


def _reason_check(reason) -> str:
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ValidationError({"reason": _("请填写变更原因。")}, code="required")
    return reason


def _attachment_store(filing: PersonChangeFiling, checked: CheckedFile) -> None:
    attachment = PersonChangeAttachment(
        filing=filing,
        employer_id=filing.employer_id,
        original_name=checked.original_name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
    )
    # The name passed here is ignored: person_change_upload_to gives a random one.
    attachment.file.save(checked.original_name, ContentFile(checked.data), save=False)
    attachment.save()


def _attachment_check(upload, *, required: bool) -> CheckedFile | None:
    if upload is None:
        if required:
            raise ValidationError(
                {"scan": _("请上传证明材料(身份证件、户口簿或劳动合同的扫描件)。")},
                code="required",
            )
        return None
    try:
        return upload_check(upload)
    except ValidationError as exc:
        raise ValidationError({"scan": exc.messages}) from None


def _enrolment_for_update(*, agent, enrolment_id) -> Enrolment:
    enrolment = (
        Enrolment.objects.select_for_update()
        .select_related("person", "employment_form", "employer__region")
        .filter(pk=enrolment_id, employer_id=agent.employer_id)
        .first()
    )
    if enrolment is None or enrolment.status not in CHANGEABLE_STATUSES:
        raise ValidationError(NOT_HERE, code="not_here")
    # The person's row is the lock every change of the person waits for.
    Person.objects.select_for_update().filter(pk=enrolment.person_id).first()
    return enrolment


def _input_check(
    enrolment, *, name, phone, hukou_type, employment_form, reason, scan, attachment_required
):
    """Every check of the form's input; one ValidationError with all the messages."""
    errors: dict[str, list] = {}
    values, changed, checked = {}, [], None
    try:
        values, changed = person_change_check(
            enrolment=enrolment,
            name=name,
            phone=phone,
            hukou_type=hukou_type,
            employment_form=employment_form,
        )
    except ValidationError as exc:
        exc.update_error_dict(errors)
    try:
        reason = _reason_check(reason)
    except ValidationError as exc:
        exc.update_error_dict(errors)
    try:
        checked = _attachment_check(scan, required=attachment_required)
    except ValidationError as exc:
        exc.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)
    return values, changed, reason, checked


def _refuse_if_open(person_id: int, exclude_pk: int | None = None) -> None:
    other = open_person_change(person_id=person_id, exclude_pk=exclude_pk)
    if other is not None:
        raise ValidationError(ALREADY_OPEN % {"reference": other.reference}, code="open")


@transaction.atomic
def person_change_submit(
    *,
    agent,
    enrolment_id: int,
    idempotency_key: uuid.UUID | str,
    name: str,
    phone: str = "",
    hukou_type: str,
    employment_form,
    reason: str,
    scan=None,
    request=None,
) -> PersonChangeFiling:
    """Check and file a 个人信息变更 into the review queue; one filing per key."""
    key = uuid.UUID(str(idempotency_key))
    existing = PersonChangeFiling.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if existing.employer_id != agent.employer_id:
            raise ValidationError(_("提交标识无效,请刷新页面后重新填写。"), code="bad_key")
        return existing  # a double click: the first filing stands
    enrolment = _enrolment_for_update(agent=agent, enrolment_id=enrolment_id)
    _refuse_if_open(enrolment.person_id)
    values, changed, reason, checked = _input_check(
        enrolment,
        name=name,
        phone=phone,
        hukou_type=hukou_type,
        employment_form=employment_form,
        reason=reason,
        scan=scan,
        attachment_required=True,
    )
    filing = PersonChangeFiling.objects.create(
        reference=new_change_reference(),
        employer_id=agent.employer_id,
        submitted_by=agent,
        idempotency_key=key,
        person=enrolment.person,
        enrolment=enrolment,
        name=values["name"],
        phone=values["phone"],
        hukou_type=values["hukou_type"],
        employment_form=values["employment_form"],
        changed_fields=changed,
        previous=_previous(enrolment),
        reason=reason,
        review_region=enrolment.employer.region,
    )
    _attachment_store(filing, checked)
    review_submit(item=filing, actor=agent.user, request=request)
    audit_log(
        action="enrollment.person_change_submitted",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=filing,
        request=request,
        details={"reference": filing.reference, "fields": changed},
    )
    return filing


@transaction.atomic
def person_change_resubmit(
    *,
    agent,
    filing: PersonChangeFiling,
    name: str,
    phone: str = "",
    hukou_type: str,
    employment_form,
    reason: str,
    scan=None,
    request=None,
) -> PersonChangeFiling:
    """Correct a rejected 个人信息变更 and put it back into the review queue."""
    filing = (
        PersonChangeFiling.objects.select_for_update()
        .filter(pk=filing.pk, employer_id=agent.employer_id)
        .first()
    )
    if filing is None:
        raise ValidationError(_("该个人信息变更不存在。"), code="missing")
    if filing.review_state != ReviewState.REJECTED:
        raise ValidationError(
            _("只有审核未通过的个人信息变更可以修改后重新提交。"), code="not_rejected"
        )
    enrolment = _enrolment_for_update(agent=agent, enrolment_id=filing.enrolment_id)
    _refuse_if_open(enrolment.person_id, exclude_pk=filing.pk)
    values, changed, reason, checked = _input_check(
        enrolment,
        name=name,
        phone=phone,
        hukou_type=hukou_type,
        employment_form=employment_form,
        reason=reason,
        scan=scan,
        attachment_required=False,
    )
    filing.name = values["name"]
    filing.phone = values["phone"]
    filing.hukou_type = values["hukou_type"]
    filing.employment_form = values["employment_form"]
    filing.changed_fields = changed
    filing.previous = _previous(enrolment)
    filing.reason = reason
    filing.save(
        update_fields=[
            "name",
            "phone",
            "hukou_type",
            "employment_form",
            "changed_fields",
            "previous",
            "reason",
            "updated_at",
        ]
    )
    if checked is not None:
        _attachment_store(filing, checked)
    review_submit(item=filing, actor=agent.user, request=request)
    audit_log(
        action="enrollment.person_change_resubmitted",
        actor=agent.user,
        employer_id=agent.employer_id,
        obj=filing,
        request=request,
        details={"reference": filing.reference, "fields": changed},
    )
    return filing


def person_change_apply(filing: PersonChangeFiling, *, actor, request=None) -> list[str]:
    """Put an approved change in force on the person and the unit's enrolment; return the
    fields changed. Runs inside the decision's transaction: a refusal rolls the approval back."""
    enrolment = (
        Enrolment.objects.select_for_update()
        .filter(pk=filing.enrolment_id, employer_id=filing.employer_id)
        .first()
    )
    if enrolment is None or enrolment.status not in CHANGEABLE_STATUSES:
        raise ValidationError(
            _("该人员已不在本单位参保,不能审核通过,请不予通过并说明原因。"), code="not_here"
        )
    person = Person.objects.select_for_update().get(pk=filing.person_id)
    person_fields = [
        name for name in ("name", "phone", "hukou_type") if name in filing.changed_fields
    ]
    for name in person_fields:
        setattr(person, name, getattr(filing, name))
    if person_fields:
        person.full_clean(validate_unique=False, validate_constraints=False)
        person.save(update_fields=[*person_fields, "updated_at"])
    if "name" in person_fields:
        person_renamed(person.pk)
    if "employment_form" in filing.changed_fields:
        enrolment.employment_form_id = filing.employment_form_id
        enrolment.save(update_fields=["employment_form", "updated_at"])
    audit_log(
        action="enrollment.person_changed",
        actor=actor,
        employer_id=filing.employer_id,
        obj=person,
        request=request,
        details={"reference": filing.reference, "fields": list(filing.changed_fields)},
    )
    return list(filing.changed_fields)
