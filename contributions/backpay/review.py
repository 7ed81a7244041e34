"""How a 补缴申请 takes part in the review workflow (portal.review).

Pre-checks show the clerk what the rules say as things stand now: the months before the person's
enrolment and after the 用工日期, within the region's window, not billed meanwhile, the proof
attached. Approval bills each month as a 补缴 bill (contributions.backpay.services.backpay_bill);
a rejection bills nothing and frees the months for a new application. The unit is told by SMS to
its contact phone, the full text in its inbox.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contributions.backpay import selectors
from contributions.backpay.services import backpay_bill, backpay_window_first
from contributions.common import month_start
from contributions.models import BackPayApplication
from portal import filings, review
from portal.identifiers import mask_name_to_surname as masked_name
from portal.models import Notification
from portal.review import precheck_result


def _months_text(months) -> str:
    return _("、").join(f"{month:%Y-%m}" for month in months)


def backpay_prechecks(application: BackPayApplication) -> list[dict]:
    """Months outside the enrolment, after the 用工日期, in the window, not billed; the proof."""
    enrolment = application.enrolment
    months = list(application.months.order_by("month").values_list("month", flat=True))
    employment = month_start(enrolment.employment_start) if enrolment.employment_start else None
    outside = [m for m in months if m >= enrolment.start_month]
    early = [m for m in months if employment is not None and m < employment]
    filed_on = timezone.localdate(application.submitted_at or application.created_at)
    first = backpay_window_first(window=application.window_months, today=filed_on)
    late = [m for m in months if m < first]
    billed = selectors.months_billed(
        employer_id=application.employer_id, person_id=enrolment.person_id, months=months
    )
    own = set(application.months.filter(bill__isnull=False).values_list("month", flat=True))
    billed = [m for m in billed if m not in own]
    has_proof = application.attachments.exists()
    return [
        precheck_result(
            "before_enrolment",
            _("补缴月份早于该职工的参保起始年月(%s)") % f"{enrolment.start_month:%Y-%m}",
            not outside,
            _("在参保期内:%s") % _months_text(outside) if outside else "",
        ),
        precheck_result(
            "after_employment_start",
            _("补缴月份不早于参保登记的用工日期"),
            not early,
            _("早于用工日期:%s") % _months_text(early)
            if early
            else ("" if employment else _("参保登记未填写用工日期,请核对劳动合同")),
        ),
        precheck_result(
            "within_window",
            _("在统筹区网上补缴期限内(%d 个月)") % application.window_months,
            not late,
            _("超出期限:%s") % _months_text(late) if late else "",
        ),
        precheck_result(
            "not_billed",
            _("补缴月份没有该职工的核定记录"),
            not billed,
            _("已有核定记录:%s") % _months_text(billed) if billed else "",
        ),
        precheck_result(
            "attachments",
            _("已上传劳动合同或工资发放记录"),
            has_proof,
            "" if has_proof else _("缺少证明材料"),
        ),
    ]


def backpay_on_decided(application: BackPayApplication, *, actor, decision: str, comment=""):
    """On approval bill the months; a rejection bills nothing."""
    if decision == "approve":
        backpay_bill(application, actor=actor)


def backpay_notifications(application: BackPayApplication, *, decision: str, comment: str):
    employer = application.employer
    months = list(application.months.order_by("month").values_list("month", flat=True))
    return [
        {
            "channel": Notification.Channel.SMS,
            "recipient": employer.contact_phone,
            "template": "backpay_approved" if decision == "approve" else "backpay_rejected",
            "context": {
                "unit": employer.name,
                "reference": application.reference,
                "name": masked_name(application.enrolment.person.name),
                "months": _months_text(months),
                "contribution_total": f"{application.contribution_total:.2f}",
                "late_fee_total": f"{application.late_fee_total:.2f}",
                "total": f"{application.total:.2f}",
            },
            "employer_id": employer.pk,
        }
    ]


def register() -> None:
    """Register 补缴申请 with the review workflow and 已办业务查询 (from AppConfig.ready)."""
    review.register(
        BackPayApplication,
        prechecks=backpay_prechecks,
        on_decided=backpay_on_decided,
        notifications=backpay_notifications,
        select_related=["employer", "enrolment__person"],
    )
    filings.register(
        filings.FilingKind(
            key="backpay",
            label=gettext_lazy("补缴申请"),
            model=BackPayApplication,
            url_name="contributions:backpay_detail",
            permission="contributions.declare",
        )
    )
