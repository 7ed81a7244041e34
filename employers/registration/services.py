"""Every write of a unit registration: start, identity evidence, submit and resubmit."""

from __future__ import annotations

import datetime
import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from employers.models import (
    Employer,
    OpenedAccount,
    RegistrationApplication,
    Role,
    VerificationMethod,
)
from employers.services import agent_create, employer_create
from portal.audit import audit_log
from portal.identifiers import (
    normalise_resident_id,
    uscc_checksum_ok,
)
from portal.models import Notification, ReviewState
from portal.notifications import notification_create
from portal.review import review_submit
from portal.workdays import add_working_days

REVIEW_WORKING_DAYS = 3  # the promise on the status page: reviewed within 1–3 working days


def _new_reference() -> str:
    return f"ZC{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


@transaction.atomic
def registration_start(
    *,
    account: OpenedAccount,
    legal_rep_id_number: str,
    contact_phone: str,
    bank_name: str,
    bank_account: str,
    bank_account_name: str,
    agent_name: str,
    agent_id_number: str,
    agent_phone: str,
    password: str,
    contact_email: str = "",
    request=None,
) -> RegistrationApplication:
    """Record the unit's answers: the unit (unverified), its first administrator, the application.

    A unit registers once: a registered unit or one under review is refused. An earlier
    application that never got past identity verification is replaced.
    """
    account = OpenedAccount.objects.select_for_update().get(pk=account.pk)
    existing = Employer.objects.filter(account=account).first()
    if existing is not None:
        if blocker := registration_blocker(account, existing=existing):
            raise ValidationError(blocker, code="already_registered")
        get_user_model().objects.filter(agent__employer=existing).delete()
        existing.delete()
    employer = employer_create(
        account=account,
        legal_rep_id_number=legal_rep_id_number,
        contact_phone=contact_phone,
        contact_email=contact_email,
        bank_name=bank_name,
        bank_account=bank_account,
        bank_account_name=bank_account_name,
        status=Employer.Status.UNVERIFIED,
    )
    agent_create(
        employer=employer,
        name=agent_name,
        id_number=agent_id_number,
        phone=agent_phone,
        password=password,
        roles=[Role.UNIT_ADMIN],
    )
    flags = [] if uscc_checksum_ok(account.uscc) else [RegistrationApplication.Flag.USCC_CHECKSUM]
    application = RegistrationApplication(
        reference=_new_reference(), account=account, employer=employer, flags=flags
    )
    application.full_clean()
    application.save()
    audit_log(
        action="registration.started",
        employer_id=employer.pk,
        obj=application,
        request=request,
        details={"flags": flags},
    )
    return application


def registration_blocker(account: OpenedAccount, *, existing=None) -> str:
    """Why this account cannot start a registration now ("" when it can): it is registered or
    under review. A registration abandoned before identity verification does not count."""
    existing = existing or Employer.objects.filter(account=account).first()
    if existing is None or existing.status == Employer.Status.UNVERIFIED:
        return ""
    return str(ALREADY_REGISTERED.get(existing.status, ALREADY_REGISTERED["default"]))


ALREADY_REGISTERED = {
    Employer.Status.PENDING: _(
        "本单位的注册申请正在审核中,请等待审核结果短信,或登录查看审核进度。"
    ),
    Employer.Status.REJECTED: _(
        "本单位已提交过注册申请且未通过审核,请登录后按审核意见修改并重新提交。"
    ),
    "default": _("本单位已完成网上注册,请直接登录;如忘记密码,请使用“忘记密码”。"),
}


@transaction.atomic
def registration_record_certificate(
    *, application: RegistrationApplication, check, request=None
) -> RegistrationApplication:
    """Record a verified CA certificate as the application's identity proof."""
    application = RegistrationApplication.objects.select_for_update().get(pk=application.pk)
    application.verification_method = VerificationMethod.CA
    application.verified_at = timezone.now()
    application.verification_evidence = check.as_evidence()
    application.save(
        update_fields=["verification_method", "verified_at", "verification_evidence", "updated_at"]
    )
    return application


@transaction.atomic
def registration_submit(
    *, application: RegistrationApplication, request=None
) -> RegistrationApplication:
    """Put a verified application into the review queue."""
    application = (
        RegistrationApplication.objects.select_for_update()
        .select_related("employer")
        .get(pk=application.pk)
    )
    if application.state == RegistrationApplication.State.SUBMITTED:
        return application  # a double click submits once
    if application.verified_at is None:
        raise ValidationError(
            _("请先完成身份认证(CA证书、人脸识别或对公账户打款任选一种)。"), code="unverified"
        )
    application.state = RegistrationApplication.State.SUBMITTED
    application.review_region_id = application.employer.region_id
    application.save(update_fields=["state", "review_region", "updated_at"])
    review_submit(item=application, request=request)
    employer = application.employer
    employer.status = Employer.Status.PENDING
    employer.save(update_fields=["status"])
    notification_create(
        channel=Notification.Channel.SMS,
        recipient=employer.contact_phone,
        template="registration_submitted",
        context={
            "unit": employer.name,
            "reference": application.reference,
            "due": timezone.localdate(application.due_at).strftime("%Y-%m-%d"),
        },
        employer_id=employer.pk,
    )
    audit_log(
        action="registration.submitted",
        employer_id=employer.pk,
        obj=application,
        request=request,
        details={"method": application.verification_method},
    )
    return application


def registration_due_date(application: RegistrationApplication) -> datetime.date | None:
    """The date by which the review is promised, in working days after submission."""
    if application.due_at is not None:
        return timezone.localdate(application.due_at)
    if application.submitted_at is None:
        return None
    submitted = timezone.localdate(application.submitted_at)
    return add_working_days(submitted, REVIEW_WORKING_DAYS)


@transaction.atomic
def registration_resubmit(
    *,
    application: RegistrationApplication,
    legal_rep_id_number: str,
    contact_email: str,
    bank_name: str,
    bank_account: str,
    bank_account_name: str,
    reverify: bool = False,
    actor=None,
    request=None,
) -> RegistrationApplication:
    """Correct a rejected application's answers and put it back into the review queue.

    When the unit asks to verify its identity again, or a correction makes the earlier proof
    prove nothing (a face matched to another ID number, a penny-drop to another account), the
    application goes back to identity verification instead; it is submitted once verified.
    """
    application = (
        RegistrationApplication.objects.select_for_update()
        .select_related("employer")
        .get(pk=application.pk)
    )
    if application.review_state != ReviewState.REJECTED:
        raise ValidationError(_("只有未通过审核的申请可以修改后重新提交。"), code="not_rejected")
    employer = application.employer
    proof_outdated = (
        application.verification_method == VerificationMethod.FACE
        and normalise_resident_id(legal_rep_id_number) != employer.legal_rep_id_number
    ) or (
        application.verification_method == VerificationMethod.BANK
        and bank_account != employer.bank_account
    )
    employer.legal_rep_id_number = normalise_resident_id(legal_rep_id_number)
    employer.contact_email = contact_email
    employer.bank_name = bank_name
    employer.bank_account = bank_account
    employer.bank_account_name = bank_account_name
    if reverify or proof_outdated:
        # Still rejected for the registry (nobody else may start over this unit) until the
        # new proof submits it.
        employer.full_clean()
        employer.save(
            update_fields=[
                "legal_rep_id_number",
                "contact_email",
                "bank_name",
                "bank_account",
                "bank_account_name",
            ]
        )
        application.state = RegistrationApplication.State.VERIFYING
        application.verification_method = ""
        application.verified_at = None
        application.verification_evidence = {}
        application.save(
            update_fields=[
                "state",
                "verification_method",
                "verified_at",
                "verification_evidence",
                "updated_at",
            ]
        )
        audit_log(
            action="registration.reverify",
            actor=actor,
            obj=application,
            employer_id=employer.pk,
            request=request,
            details={"asked": reverify, "proof_outdated": proof_outdated},
        )
        return application
    employer.status = Employer.Status.PENDING
    employer.full_clean()
    employer.save(
        update_fields=[
            "legal_rep_id_number",
            "contact_email",
            "bank_name",
            "bank_account",
            "bank_account_name",
            "status",
        ]
    )
    review_submit(item=application, actor=actor, request=request)
    return application
