"""Clerk screens of enrolment: the 增员 review queue, reference data, persons and enrolments."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from enrollment.add.services import registration_form_generate
from enrollment.batch import admin as admin_batch  # noqa: F401
from enrollment.models import (
    AddEmployeeFiling,
    BatchImport,
    CouplingRule,
    EmploymentForm,
    Enrolment,
    InsuranceCode,
    Person,
    RegionEnrolmentSettings,
)
from enrollment.personchange import admin as admin_person_change  # noqa: F401
from enrollment.removal import admin as admin_removal  # noqa: F401
from portal.admin import ReadOnlyAdmin
from portal.admin_files import (
    FRAMED_BY_ADMIN,
    FRAMED_BY_ADMIN_REPORT_ONLY,
    PREVIEW_KINDS,
    clerk_file_response,
)
from portal.admin_review import ReviewAdmin
from portal.audit import audit_log
from portal.review_detail import ReviewFile

HIDDEN_FILING_FIELDS = {"registration_form", "idempotency_key"}


class BatchImportFilter(admin.SimpleListFilter):
    """增员 filed by one 批量增员 import (?batch=<its reference>), or those filed on the form."""

    title = _("批量增员批次")
    parameter_name = "batch"
    RECENT = 20

    def lookups(self, request, model_admin):
        recent = BatchImport.objects.select_related("employer").order_by("-created_at")
        return [
            ("none", _("网页逐人填报")),
            *[
                (batch.reference, f"{batch.reference} {batch.employer.name}")
                for batch in recent[: self.RECENT]
            ],
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(batch_import__isnull=True)
        if value:
            return queryset.filter(batch_import__reference=value)
        return queryset


@admin.register(AddEmployeeFiling)
class AddEmployeeFilingAdmin(ReviewAdmin):
    review_columns = ["reference", "unit_name", "person_name", "insurance_types", "start_month"]
    search_fields = ["reference", "employer__name", "employer__uscc", "employer__ss_number"]
    list_filter = [*ReviewAdmin.list_filter, BatchImportFilter]

    def get_list_select_related(self, request):
        return ["review_region", "employer", "enrolment__person"]

    def get_readonly_fields(self, request, obj=None):
        # The stored form is reached through the checked view below, never a raw media URL.
        return [
            name
            for name in super().get_readonly_fields(request, obj)
            if name not in HIDDEN_FILING_FIELDS
        ]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    @admin.display(description=_("单位全称"), ordering="employer__name")
    def unit_name(self, obj):
        return obj.employer.name

    @admin.display(description=_("姓名"), ordering="enrolment__person__name")
    def person_name(self, obj):
        return obj.enrolment.person.name

    @admin.display(description=_("参保险种"))
    def insurance_types(self, obj):
        return _("、").join(obj.enrolment.insurance_codes)

    @admin.display(description=_("参保起始年月"), ordering="enrolment__start_month")
    def start_month(self, obj):
        return obj.enrolment.start_month.strftime("%Y-%m")

    review_evidence_title = _("参保人员信息")
    reject_reasons = [
        _("身份证件扫描件不清晰或不完整,请重新上传。"),
        _("劳动合同缺失、未签字或未盖章,请补充后重新提交。"),
        _("参保起始年月与用工日期不符,请核对后重新提交。"),
        _("月缴费工资与劳动合同约定的工资不符,请核对后重新提交。"),
        _("该人员在其他单位仍有参保登记,请先由原单位办理减员。"),
    ]

    def review_evidence(self, obj):
        enrolment = obj.enrolment
        person = enrolment.person
        rows = []
        if enrolment.resumed_from_id:
            previous = enrolment.resumed_from
            rows.append(
                (
                    _("业务类型"),
                    _("续保:接续 %(start)s 起的参保登记(%(status)s,末次缴费年月 %(last)s)")
                    % {
                        "start": previous.start_month.strftime("%Y-%m"),
                        "status": previous.get_status_display(),
                        "last": previous.last_contribution_month.strftime("%Y-%m")
                        if previous.last_contribution_month
                        else "—",
                    },
                )
            )
        rows += [
            (_("姓名"), person.name),
            (_("证件"), f"{person.get_document_type_display()} {person.masked_document_number}"),
            (_("性别"), person.get_sex_display()),
            (_("出生日期"), person.birth_date.strftime("%Y-%m-%d")),
            (_("国籍"), person.nationality),
            (_("户籍类型"), person.get_hukou_type_display()),
            (_("用工形式"), enrolment.employment_form.name),
            (
                _("参保险种"),
                _("、").join(str(InsuranceCode(code).label) for code in enrolment.insurance_codes),
            ),
            (_("月缴费工资"), _("%(amount)s 元") % {"amount": enrolment.contribution_base}),
            (_("参保起始年月"), enrolment.start_month.strftime("%Y-%m")),
            (
                _("用工日期"),
                enrolment.employment_start.strftime("%Y-%m-%d")
                if enrolment.employment_start
                else "—",
            ),
            (_("参保状态"), enrolment.get_status_display()),
        ]
        if not obj.attachments.exists():
            rows.append((_("附件"), _("未上传")))
        for flag in obj.flags:
            rows.append((_("提示"), AddEmployeeFiling.Flag(flag).label))
        return rows

    def review_files(self, obj):
        opts = self.model._meta
        files = [
            ReviewFile(
                label=attachment.get_kind_display(),
                name=attachment.original_name,
                url=reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_attachment",
                    args=[obj.pk, attachment.pk],
                ),
                kind=PREVIEW_KINDS.get(attachment.content_type, "other"),
            )
            for attachment in obj.attachments.order_by("kind", "uploaded_at")
        ]
        files.append(
            ReviewFile(
                label=_("新增参保人员登记表"),
                name=f"{obj.reference}.pdf",
                url=reverse(f"admin:{opts.app_label}_{opts.model_name}_form", args=[obj.pk]),
                kind="pdf",
            )
        )
        return files

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/attachments/<int:attachment_id>/",
                self.admin_site.admin_view(self.attachment_view),
                name=f"{opts.app_label}_{opts.model_name}_attachment",
            ),
            path(
                "<path:object_id>/form.pdf",
                self.admin_site.admin_view(self.form_view),
                name=f"{opts.app_label}_{opts.model_name}_form",
            ),
            *super().get_urls(),
        ]

    def _filing_for_clerk(self, request, object_id) -> AddEmployeeFiling:
        # get_queryset limits a clerk to the regions assigned to them.
        filing = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_permission(request, filing):
            raise PermissionDenied
        return filing

    def _serve(self, request, obj, field_file, *, filename, content_type, action, employer_id):
        audit_log(
            action=action, actor=request.user, employer_id=employer_id, obj=obj, request=request
        )
        return clerk_file_response(
            request, field_file, filename=filename, content_type=content_type
        )

    @FRAMED_BY_ADMIN
    @FRAMED_BY_ADMIN_REPORT_ONLY
    def attachment_view(self, request, object_id, attachment_id):
        filing = self._filing_for_clerk(request, object_id)
        attachment = filing.attachments.filter(pk=attachment_id).first()
        if attachment is None or not attachment.file:
            raise Http404
        return self._serve(
            request,
            attachment,
            attachment.file,
            filename=attachment.original_name,
            content_type=attachment.content_type,
            action="enrollment.attachment_viewed_by_clerk",
            employer_id=filing.employer_id,
        )

    @FRAMED_BY_ADMIN
    @FRAMED_BY_ADMIN_REPORT_ONLY
    def form_view(self, request, object_id):
        filing = self._filing_for_clerk(request, object_id)
        if not filing.registration_form:
            filing = registration_form_generate(filing_id=filing.pk)
        return self._serve(
            request,
            filing,
            filing.registration_form,
            filename=f"新增参保人员登记表-{filing.reference}.pdf",
            content_type="application/pdf",
            action="enrollment.form_viewed_by_clerk",
            employer_id=filing.employer_id,
        )


@admin.register(EmploymentForm)
class EmploymentFormAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "region", "is_active", "sort_order"]
    list_filter = ["is_active", "region"]
    list_editable = ["is_active", "sort_order"]
    search_fields = ["code", "name"]


@admin.register(CouplingRule)
class CouplingRuleAdmin(admin.ModelAdmin):
    list_display = ["message", "region", "hukou_type", "employment_form_code"]
    list_filter = ["region", "hukou_type"]
    search_fields = ["message", "employment_form_code"]


@admin.register(RegionEnrolmentSettings)
class RegionEnrolmentSettingsAdmin(admin.ModelAdmin):
    list_display = ["region", "backdate_months", "filing_deadline_days"]


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    """Persons change only through filings; numbers are shown masked."""

    list_display = [
        "name",
        "document_type",
        "masked_document_number",
        "sex",
        "birth_date",
        "hukou_type",
    ]
    list_filter = ["document_type", "hukou_type", "sex"]
    search_fields = ["name"]
    fields = [
        "name",
        "document_type",
        "masked_document_number",
        "sex",
        "birth_date",
        "nationality",
        "hukou_type",
        "masked_phone",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("证件号码"))
    def masked_document_number(self, obj):
        return obj.masked_document_number

    @admin.display(description=_("手机号"))
    def masked_phone(self, obj):
        return obj.masked_phone or "—"


@admin.register(Enrolment)
class EnrolmentAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    """Enrolments change only through reviewed filings; the history shows every change."""

    list_display = [
        "person",
        "masked_document_number",
        "employer",
        "status",
        "start_month",
        "contribution_base",
    ]
    list_filter = ["status"]
    list_select_related = ["person", "employer"]
    search_fields = ["person__name", "employer__name", "employer__ss_number"]
    fields = [
        "person",
        "masked_document_number",
        "employer",
        "employment_form",
        "insurance_codes",
        "start_month",
        "employment_start",
        "contribution_base",
        "status",
        "last_contribution_month",
        "ended_on",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    raw_id_fields = ["person", "employer"]

    @admin.display(description=_("证件号码"))
    def masked_document_number(self, obj):
        return obj.person.masked_document_number
