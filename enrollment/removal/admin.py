"""The clerk's queue of remove-employee filings (portal.admin_review.ReviewAdmin)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from enrollment.models import InsuranceCode, RemoveEmployeeFiling
from portal.admin_review import ReviewAdmin


@admin.register(RemoveEmployeeFiling)
class RemoveEmployeeFilingAdmin(ReviewAdmin):
    review_columns = ["reference", "unit_name", "person_name", "reason", "month_column"]
    search_fields = ["reference", "employer__name", "enrolment__person__name"]

    def get_list_select_related(self, request):
        return ["review_region", "employer", "enrolment__person"]

    def get_search_results(self, request, queryset, search_term):
        """A filing number is looked up exactly; anything else matches unit or person names."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.upper().startswith("JY"):
            return queryset.filter(reference=term.upper()), False
        return super().get_search_results(request, queryset, term)

    @admin.display(description=_("单位全称"), ordering="employer__name")
    def unit_name(self, obj):
        return obj.employer.name

    @admin.display(description=_("姓名"))
    def person_name(self, obj):
        return obj.enrolment.person.name

    @admin.display(description=_("末次缴费年月"), ordering="last_contribution_month")
    def month_column(self, obj):
        return obj.last_contribution_month.strftime("%Y-%m")

    review_evidence_title = _("减员人员与原因")
    reject_reasons = [
        _("减员原因与实际情况不符,请核对后重新提交。"),
        _("末次缴费年月有误,请按实际停止缴费的月份填写。"),
        _("请补充解除或终止劳动合同的证明材料后重新提交。"),
        _("该人员当月仍有工资发放记录,请核实后再办理减员。"),
    ]

    def review_evidence(self, obj):
        enrolment = obj.enrolment
        person = enrolment.person
        codes = _("、").join(str(InsuranceCode(code).label) for code in enrolment.insurance_codes)
        return [
            (_("姓名"), person.name),
            (_("证件类型"), person.get_document_type_display()),
            (_("证件号码"), person.masked_document_number),
            (_("参保险种"), codes or "—"),
            (_("参保起始年月"), enrolment.start_month.strftime("%Y-%m")),
            (_("当前参保状态"), enrolment.get_status_display()),
            (_("减员原因"), obj.get_reason_display()),
            (_("本人自愿离职"), _("是") if obj.voluntary else _("否")),
            (_("末次缴费年月"), obj.last_contribution_month.strftime("%Y-%m")),
        ]
