"""How a unit registration takes part in the review workflow (portal.review).

Pre-checks: the registry still holds the unit's account with the same code, number and name;
no other registration of the account is open or done; the identity proof is present and was
valid when it was given. Approval lets the unit's administrator log in (the first login
activates the unit); rejection shows the clerk's comment on the status page, where the unit
corrects its answers and resubmits.
"""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from employers.models import Employer, RegistrationApplication, VerificationMethod
from portal import filings, review
from portal.identifiers import uscc_checksum_ok
from portal.models import Notification
from portal.review import precheck_result


def registration_prechecks(application: RegistrationApplication) -> list[dict]:
    """Run the automatic checks a clerk sees before deciding."""
    employer = application.employer
    account = application.account
    account.refresh_from_db()
    registry_ok = (
        account.uscc == employer.uscc
        and account.ss_number == employer.ss_number
        and account.name.strip() == employer.name.strip()
    )
    others = (
        RegistrationApplication.objects.filter(account=account)
        .exclude(pk=application.pk)
        .exclude(state=RegistrationApplication.State.VERIFYING)
    )
    evidence_ok, evidence_detail = _evidence_check(application)
    checks = [
        precheck_result(
            "registry_match",
            _("与开户登记簿一致"),
            registry_ok,
            "" if registry_ok else _("登记簿中的单位名称、信用代码或社保编号与申请不一致"),
        ),
        precheck_result(
            "no_duplicate",
            _("无重复注册申请"),
            not others.exists(),
            _("同一开户单位另有 %d 份申请") % others.count() if others.exists() else "",
        ),
        precheck_result("evidence", _("身份认证凭据有效"), evidence_ok, evidence_detail),
    ]
    if not uscc_checksum_ok(employer.uscc):
        checks.append(
            precheck_result(
                "uscc_checksum",
                _("信用代码校验位"),
                False,
                _("早期试点代码,未通过GB 32100校验位检查,请人工核对营业执照"),
            )
        )
    return checks


def _evidence_check(application: RegistrationApplication) -> tuple[bool, str]:
    evidence = application.verification_evidence or {}
    if not application.verification_method or application.verified_at is None or not evidence:
        return False, _("没有身份认证记录")
    method = application.verification_method
    if method == VerificationMethod.CA:
        not_after = evidence.get("not_after")
        if evidence.get("uscc") not in (None, application.employer.uscc):
            return False, _("证书中的信用代码与本单位不一致")
        if not_after and datetime.datetime.fromisoformat(not_after) < application.verified_at:
            return False, _("认证时证书已过期")
        if evidence.get("crl_status") == "missing":
            return False, _("未能检查证书吊销状态(未导入该CA的吊销列表),请人工核实")
        return True, _("CA证书认证,证书序列号 %s") % evidence.get("serial", "")
    if method == VerificationMethod.FACE:
        return True, _("法定代表人人脸识别通过")
    if method == VerificationMethod.BANK:
        return True, _("对公账户小额打款金额核对一致")
    return False, _("未知的认证方式")


def registration_on_decided(
    application: RegistrationApplication, *, actor, decision: str, comment: str = ""
) -> None:
    """Move the unit with the decision: approved units may log in, rejected ones may resubmit."""
    employer = application.employer
    employer.status = (
        Employer.Status.APPROVED if decision == "approve" else Employer.Status.REJECTED
    )
    employer.save(update_fields=["status"])


def registration_notifications(
    application: RegistrationApplication, *, decision: str, comment: str = ""
) -> list[dict]:
    """SMS to the unit's contact phone, and e-mail where the unit gave an address."""
    employer = application.employer
    template = "registration_approved" if decision == "approve" else "registration_rejected"
    context = {
        "unit": employer.name,
        "reference": application.reference,
        "date": timezone.localdate().strftime("%Y-%m-%d"),
    }
    notices = [
        {
            "channel": Notification.Channel.SMS,
            "recipient": employer.contact_phone,
            "template": template,
            "context": context,
            "employer_id": employer.pk,
        }
    ]
    if employer.contact_email:
        notices.append(
            {
                "channel": Notification.Channel.EMAIL,
                "recipient": employer.contact_email,
                "template": template,
                "context": context,
                "employer_id": employer.pk,
            }
        )
    return notices


def register() -> None:
    """Register the registration hooks with the review workflow (from AppConfig.ready)."""
    review.register(
        RegistrationApplication,
        prechecks=registration_prechecks,
        on_decided=registration_on_decided,
        notifications=registration_notifications,
        select_related=["employer"],
    )
    # The unit's own registration; its status page belongs to the registering browser.
    filings.register(
        filings.FilingKind(
            key="registration", label=gettext_lazy("单位注册"), model=RegistrationApplication
        )
    )
