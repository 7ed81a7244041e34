"""The clerk's queue of 补缴申请 (portal.admin_review.ReviewAdmin, as the benefit claims)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from contributions.benefits.admin import BenefitClaimAdmin
from contributions.models import BackPayApplication


def _yuan(value) -> str:
    return "—" if value is None else _("%(amount)s 元") % {"amount": f"{value:,.2f}"}


@admin.register(BackPayApplication)
class BackPayApplicationAdmin(BenefitClaimAdmin):
    review_columns = ["reference", "unit_name", "person_name", "month_span", "total"]
    review_evidence_title = _("补缴申请(审核通过即按月生成补缴核定单)")
    reject_reasons = [
        _("劳动合同或工资发放记录不能证明该职工在补缴月份在本单位工作,请补充材料后重新申请。"),
        _("补缴月份的缴费基数与工资发放记录不符,请核对后重新申请。"),
        _("该职工补缴月份已在其他单位参保,不能由本单位补缴。"),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("months")

    @admin.display(description=_("补缴月份"))
    def month_span(self, obj):
        months = [row.month for row in obj.months.all()]
        if not months:
            return "—"
        return _("%(first)s — %(last)s(%(count)d 个月)") % {
            "first": f"{min(months):%Y-%m}",
            "last": f"{max(months):%Y-%m}",
            "count": len(months),
        }

    def review_evidence(self, obj):
        rows = [
            *self._person_rows(obj),
            (
                _("用工日期"),
                obj.enrolment.employment_start.isoformat()
                if obj.enrolment.employment_start
                else "—",
            ),
            (_("漏缴原因"), obj.reason),
            (_("滞纳金计算截止日"), obj.computed_on.isoformat()),
        ]
        for row in obj.months.select_related("bill").order_by("month"):
            rows.append(
                (
                    _("%s 费款所属期") % f"{row.month:%Y-%m}",
                    _(
                        "基数 %(base)s 元;单位 %(employer)s + 个人 %(personal)s = %(total)s 元;"
                        "滞纳金 %(total)s × 0.05%% × %(days)d 天(原截止日 %(due)s)= %(fee)s 元"
                        "%(bill)s"
                    )
                    % {
                        "base": row.base,
                        "employer": row.employer_amount,
                        "personal": row.personal_amount,
                        "total": row.contribution,
                        "days": row.late_days,
                        "due": row.due_on.isoformat(),
                        "fee": row.late_fee,
                        "bill": _(";核定单 %s") % row.bill.reference if row.bill_id else "",
                    },
                )
            )
        rows += [
            (_("补缴费款合计"), _yuan(obj.contribution_total)),
            (_("滞纳金合计"), _yuan(obj.late_fee_total)),
            (_("应缴合计"), _yuan(obj.total)),
        ]
        return rows
