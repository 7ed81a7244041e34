"""The clerk's queue of 缴费基数申报 (portal.admin_review.ReviewAdmin).

The lines are shown read-only in the evidence panel (the first EVIDENCE_LINES of them, masked
ID numbers), with counts of the lines outside the bounds and adjusted to a bound.
"""

from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from contributions.declarations.selectors import declaration_lines
from contributions.models import BaseDeclaration
from portal.admin_review import ReviewAdmin

EVIDENCE_LINES = 200
HIDDEN_FIELDS = {"idempotency_key"}


@admin.register(BaseDeclaration)
class BaseDeclarationAdmin(ReviewAdmin):
    review_columns = ["reference", "unit_name", "period_column", "line_count", "source"]
    search_fields = ["reference", "employer__name", "employer__uscc", "employer__ss_number"]

    def get_list_select_related(self, request):
        return ["review_region", "employer", "period"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(line_total=Count("lines"))

    def get_readonly_fields(self, request, obj=None):
        return [
            name for name in super().get_readonly_fields(request, obj) if name not in HIDDEN_FIELDS
        ]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    @admin.display(description=_("单位全称"), ordering="employer__name")
    def unit_name(self, obj):
        return obj.employer.name

    @admin.display(description=_("政策期间"), ordering="period__starts_on")
    def period_column(self, obj):
        return _("%(start)s 至 %(end)s") % {
            "start": f"{obj.period.starts_on:%Y-%m}",
            "end": f"{obj.period.ends_on:%Y-%m}",
        }

    @admin.display(description=_("人数"), ordering="line_total")
    def line_count(self, obj):
        return obj.line_total

    review_evidence_title = _("申报内容")
    reject_reasons = [
        _("申报的月平均工资与上年度工资发放记录不符,请核实后重新申报。"),
        _("部分职工的月平均工资明显偏低,请提供工资发放记录后重新申报。"),
        _("申报人员与本单位在职参保人员不一致,请核对名单后重新申报。"),
        _("申报表中有职工的证件号码有误,请更正后重新申报。"),
    ]

    def review_evidence(self, obj):
        period = obj.period
        lines = declaration_lines(obj)
        total = lines.count()
        adjusted = lines.filter(adjusted_to_bound=True).count()
        shown = list(lines[:EVIDENCE_LINES])
        table = format_html(
            '<table class="review-lines"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("姓名"),
            _("证件号码"),
            _("上年度缴费基数"),
            _("月平均工资"),
            _("申报缴费基数"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                (
                    (
                        line.enrolment.person.name,
                        line.enrolment.person.masked_document_number,
                        line.previous_base if line.previous_base is not None else "—",
                        line.wage,
                        line.declared_base,
                        _("(已按上下限调整)") if line.adjusted_to_bound else "",
                    )
                    for line in shown
                ),
            ),
        )
        rows = [
            (
                _("政策期间"),
                _("%(start)s 至 %(end)s")
                % {"start": f"{period.starts_on:%Y-%m-%d}", "end": f"{period.ends_on:%Y-%m-%d}"},
            ),
            (
                _("缴费基数上下限"),
                _("下限 %(lower)s 元,上限 %(upper)s 元")
                % {"lower": period.base_lower, "upper": period.base_upper},
            ),
            (_("申报方式"), obj.get_source_display()),
            (_("申报人数"), total),
            (_("按上下限调整人数"), adjusted),
            (_("申报明细"), table),
        ]
        if total > len(shown):
            rows.append(
                (
                    _("说明"),
                    _("仅显示前 %(n)d 人,共 %(total)d 人。") % {"n": len(shown), "total": total},
                )
            )
        return rows
