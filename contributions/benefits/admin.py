"""The clerk's queues of benefit claims (portal.admin_review.ReviewAdmin) and the regions'
benefit settings: the maternity divisor and extra days, where the unit's average wage comes from,
and the regional average wage by year."""

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributions.models import (
    InjuryClaim,
    InjuryRecognition,
    MaternityClaim,
    RegionalAverageWage,
    RegionBenefitSettings,
)
from portal.admin_files import PREVIEW_KINDS, AttachmentsAdminMixin
from portal.admin_review import ReviewAdmin
from portal.review_detail import ReviewFile

HIDDEN_FIELDS = {"idempotency_key"}


def _yuan(value) -> str:
    return "—" if value is None else _("%(amount)s 元") % {"amount": f"{value:,.2f}"}


class BenefitClaimAdmin(AttachmentsAdminMixin, ReviewAdmin):
    attachment_audit_action = "benefits.attachment_viewed_by_clerk"
    """What the three queues share: unit and person columns, the attachments shown inline."""

    search_fields = ["reference", "employer__name", "enrolment__person__name"]

    def get_list_select_related(self, request):
        return ["review_region", "employer", "enrolment__person"]

    def get_readonly_fields(self, request, obj=None):
        return [
            name for name in super().get_readonly_fields(request, obj) if name not in HIDDEN_FIELDS
        ]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    @admin.display(description=_("单位全称"), ordering="employer__name")
    def unit_name(self, obj):
        return obj.employer.name

    @admin.display(description=_("姓名"), ordering="enrolment__person__name")
    def person_name(self, obj):
        return obj.enrolment.person.name

    def _person_rows(self, obj):
        person = obj.enrolment.person
        return [
            (_("姓名"), person.name),
            (_("证件"), f"{person.get_document_type_display()} {person.masked_document_number}"),
            (_("性别"), person.get_sex_display()),
            (_("参保起始年月"), obj.enrolment.start_month.strftime("%Y-%m")),
            (_("参保状态"), obj.enrolment.get_status_display()),
        ]

    def review_files(self, obj):
        opts = self.model._meta
        return [
            ReviewFile(
                label=attachment.get_kind_display(),
                name=attachment.original_name,
                url=reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_attachment",
                    args=[obj.pk, attachment.pk],
                ),
                kind=PREVIEW_KINDS.get(attachment.content_type, "other"),
            )
            for attachment in obj.attachments.order_by("kind", "pk")
        ]


@admin.register(MaternityClaim)
class MaternityClaimAdmin(BenefitClaimAdmin):
    review_columns = ["reference", "unit_name", "person_name", "kind", "event_date", "amount"]
    review_evidence_title = _("生育津贴申领")
    reject_reasons = [
        _("出生医学证明不清晰或与申领人不符,请重新上传。"),
        _("生育(流产)日期与证明材料不一致,请核对后重新申领。"),
        _("该职工生育时未在本单位参保,不能由本单位申领。"),
        _("单位月平均工资与工资发放记录不符,请核对后重新申领。"),
    ]

    def review_evidence(self, obj):
        wage_note = (
            _("前12个月缴费基数,%(months)d 个月有核定记录") % {"months": obj.wage_months}
            if obj.wage_months
            else obj.get_wage_source_display()
        )
        return [
            *self._person_rows(obj),
            (_("生育类别"), obj.get_kind_display()),
            (_("生育(流产)日期"), obj.event_date.isoformat()),
            (_("胎儿数"), str(obj.babies)),
            (_("难产"), _("是") if obj.difficult_birth else _("否")),
            (
                _("产假天数"),
                _("%(days)d 天(含地方增加 %(extra)d 天)")
                % {
                    "days": obj.days,
                    "extra": obj.extra_days,
                },
            ),
            (_("单位月平均工资"), f"{_yuan(obj.unit_average_wage)}({wage_note})"),
            (_("计发天数"), obj.divisor_text),
            (
                _("申领金额"),
                f"{_yuan(obj.amount)} = {obj.unit_average_wage} ÷ {obj.divisor_text} × {obj.days}",
            ),
            (_("核定金额"), _yuan(obj.approved_amount)),
        ]


@admin.register(InjuryRecognition)
class InjuryRecognitionAdmin(BenefitClaimAdmin):
    review_columns = ["reference", "unit_name", "person_name", "accident_at", "filed_late"]
    review_evidence_title = _("工伤认定申请(审核通过即认定为工伤)")
    reject_reasons = [
        _("事故经过描述不清,请补充时间、地点、工作内容和受伤经过后重新申请。"),
        _("请补充医疗机构出具的初次诊断证明。"),
        _("逾期申请的原因不成立,请携带材料到经办窗口说明。"),
        _("该事故不属于工作时间、工作场所内因工作原因受到的伤害。"),
    ]

    def review_evidence(self, obj):
        return [
            *self._person_rows(obj),
            (
                _("事故发生时间"),
                timezone.localtime(obj.accident_at).strftime("%Y-%m-%d %H:%M"),
            ),
            (_("事故发生地点"), obj.place),
            (_("事故经过"), obj.description),
            (_("超过30日申请"), _("是") if obj.filed_late else _("否")),
            (_("逾期申请原因"), obj.late_reason or "—"),
        ]


@admin.register(InjuryClaim)
class InjuryClaimAdmin(BenefitClaimAdmin):
    review_columns = ["reference", "unit_name", "person_name", "disability_level", "lump_sum"]
    review_evidence_title = _("工伤待遇申领")
    reject_reasons = [
        _("伤残等级与劳动能力鉴定结论书不一致,请核对后重新申领。"),
        _("医疗费票据与申报金额不符,请核对后重新申领。"),
        _("请补充劳动能力鉴定结论书。"),
    ]

    def get_list_select_related(self, request):
        return [*super().get_list_select_related(request), "recognition"]

    def review_evidence(self, obj):
        receipts = _("；").join(
            f"{r.number} {r.issued_on.isoformat()} " + _("%(amount)s 元") % {"amount": r.amount}
            for r in obj.receipts.all()
        )
        months = (
            _("受伤前12个月中 %d 个月的缴费基数平均") % obj.own_wage_months
            if obj.own_wage_months
            else _("无受伤前的缴费记录,按参保登记的月缴费工资")
        )
        return [
            *self._person_rows(obj),
            (_("工伤认定申请"), obj.recognition.reference),
            (
                _("事故发生时间"),
                timezone.localtime(obj.recognition.accident_at).strftime("%Y-%m-%d %H:%M"),
            ),
            (_("伤残等级"), _("%d 级") % obj.disability_level),
            (_("本人月工资"), f"{_yuan(obj.own_wage)}({months})"),
            (
                _("统筹地区职工月平均工资"),
                f"{_yuan(obj.regional_average_wage)}"
                + _("(%(year)s 年度)") % {"year": obj.wage_year},
            ),
            (_("计发工资(60%–300%)"), _yuan(obj.bounded_wage)),
            (_("一次性伤残补助金"), _yuan(obj.lump_sum)),
            (_("医疗费票据"), receipts or "—"),
            (_("医疗费合计"), _yuan(obj.medical_total)),
            (_("核定一次性伤残补助金"), _yuan(obj.approved_lump_sum)),
            (_("核定医疗费"), _yuan(obj.approved_medical_total)),
        ]


@admin.register(RegionBenefitSettings)
class RegionBenefitSettingsAdmin(admin.ModelAdmin):
    """A region without a row uses the defaults: divisor 30, no extra days, wage from bases."""

    list_display = ["region", "maternity_divisor", "maternity_extra_days", "unit_wage_source"]
    list_select_related = ["region"]
    search_fields = ["region__code", "region__name"]
    autocomplete_fields = ["region"]


@admin.register(RegionalAverageWage)
class RegionalAverageWageAdmin(admin.ModelAdmin):
    list_display = ["region", "year", "monthly_wage"]
    list_filter = ["year"]
    list_select_related = ["region"]
    search_fields = ["region__code", "region__name"]
    autocomplete_fields = ["region"]
