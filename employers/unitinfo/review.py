"""How a unit change filing (单位信息变更) takes part in the review workflow (portal.review).

Pre-checks: no other change of the same kind is open, a new contact phone was confirmed by SMS
code and the e-mail is well formed; a new bank account passed its penny-drop and is in the
unit's name. Approval puts the new values in force on the unit; rejection changes nothing. Either
decision goes by SMS to the unit's contact phone, and an approved phone change to the replaced
number as well, so that its holder learns of the change.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from employers.models import Employer, PennyDropTransfer, UnitChangeFiling
from employers.unitinfo.selectors import open_unit_change
from employers.unitinfo.services import BANK_FIELDS, CONTACT_FIELDS, same_name
from portal import review
from portal.audit import audit_log
from portal.models import Notification
from portal.review import precheck_result

Kind = UnitChangeFiling.Kind

# Set on the filing by on_decided for the notifications hook (the same object, one transaction).
REPLACED_PHONE_ATTR = "_replaced_contact_phone"


def _email_ok(email: str) -> bool:
    if not email:
        return True
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


def _phone_ok(filing: UnitChangeFiling, employer: Employer) -> bool:
    return filing.contact_phone == employer.contact_phone or filing.phone_verified_at is not None


def _account_ok(filing: UnitChangeFiling) -> bool:
    return (
        filing.account_verified_at is not None
        and PennyDropTransfer.objects.filter(
            change_filing_id=filing.pk, state=PennyDropTransfer.State.VERIFIED
        ).exists()
    )


def unit_change_prechecks(filing: UnitChangeFiling) -> list[dict]:
    """Run the automatic checks a clerk sees before deciding."""
    employer = Employer.objects.get(pk=filing.employer_id)
    other = open_unit_change(employer_id=employer.pk, kind=filing.kind, exclude_pk=filing.pk)
    checks = [
        precheck_result(
            "no_other_open",
            _("没有同类变更正在办理"),
            other is None,
            _("另有业务编号 %s 正在办理") % other.reference if other else "",
        )
    ]
    if filing.kind == Kind.CONTACT:
        phone_ok = _phone_ok(filing, employer)
        email_ok = _email_ok(filing.contact_email)
        checks += [
            precheck_result(
                "phone_verified",
                _("新联系人手机号已短信验证"),
                phone_ok,
                "" if phone_ok else _("新手机号没有短信验证记录"),
            ),
            precheck_result(
                "email_format",
                _("联系邮箱格式正确"),
                email_ok,
                "" if email_ok else _("邮箱格式不正确"),
            ),
        ]
    else:
        account_ok = _account_ok(filing)
        name_ok = same_name(filing.bank_account_name, employer.name)
        checks += [
            precheck_result(
                "account_verified",
                _("新账户小额打款验证通过"),
                account_ok,
                "" if account_ok else _("没有通过验证的打款记录"),
            ),
            precheck_result(
                "account_name",
                _("户名与单位全称一致"),
                name_ok,
                "" if name_ok else _("户名与单位全称不一致"),
            ),
        ]
    return checks


def unit_change_on_decided(
    filing: UnitChangeFiling, *, actor, decision: str, comment: str = ""
) -> None:
    """On approval put the new values in force on the unit; a rejection changes nothing."""
    if decision != "approve":
        return
    employer = Employer.objects.select_for_update().get(pk=filing.employer_id)
    if filing.kind == Kind.CONTACT:
        # Raised inside review_decide's transaction: the decision is rolled back with it.
        if not _phone_ok(filing, employer):
            raise ValidationError(_("新联系人手机号未经短信验证,不能审核通过。"), code="phone")
        names = CONTACT_FIELDS
    else:
        if not _account_ok(filing):
            raise ValidationError(_("新账户尚未通过小额打款验证,不能审核通过。"), code="account")
        names = BANK_FIELDS
    changed = [name for name in names if getattr(employer, name) != getattr(filing, name)]
    if "contact_phone" in changed:
        setattr(filing, REPLACED_PHONE_ATTR, employer.contact_phone)
    for name in changed:
        setattr(employer, name, getattr(filing, name))
    if changed:
        employer.full_clean(exclude=["account", "region"])
        employer.save(update_fields=changed)
    audit_log(
        action=f"unit.{filing.kind}_changed",
        actor=actor,
        employer_id=employer.pk,
        obj=employer,
        details={"reference": filing.reference, "fields": changed},
    )


def unit_change_notifications(
    filing: UnitChangeFiling, *, decision: str, comment: str
) -> list[dict]:
    """SMS to the unit's contact phone (and to the replaced one after a phone change)."""
    employer = Employer.objects.only("name", "contact_phone").get(pk=filing.employer_id)
    template = "unit_change_approved" if decision == "approve" else "unit_change_rejected"
    context = {
        "unit": employer.name,
        "reference": filing.reference,
        "kind": filing.get_kind_display(),
        "comment": comment,
    }
    notice = {"channel": Notification.Channel.SMS, "template": template, "context": context}
    notices = [{**notice, "recipient": employer.contact_phone, "employer_id": employer.pk}]
    replaced = getattr(filing, REPLACED_PHONE_ATTR, "")
    if replaced and replaced != employer.contact_phone:
        # The same news to the number that no longer receives the unit's notices; without the
        # unit's id, so that the unit's 站内消息 holds the event once (portal.inbox).
        notices.append({**notice, "recipient": replaced, "employer_id": None})
    return notices


def register() -> None:
    """Register the UnitChangeFiling hooks with the review workflow (from AppConfig.ready)."""
    review.register(
        UnitChangeFiling,
        prechecks=unit_change_prechecks,
        on_decided=unit_change_on_decided,
        notifications=unit_change_notifications,
    )
