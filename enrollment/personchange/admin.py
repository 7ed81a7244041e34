"""The clerk's queue of 个人信息变更 (portal.admin_review.ReviewAdmin): old → new, the proof."""

from django.contrib import admin
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from enrollment.models import PersonChangeFiling
from enrollment.personchange.selectors import person_change_rows
from enrollment.personchange.services import COUNTER_NOTE
from portal.admin_files import PREVIEW_KINDS, AttachmentsAdminMixin
from portal.admin_review import ReviewAdmin
from portal.review_detail import ReviewFile

# Personal data and internals the generic read-only form would show in clear.
HIDDEN_FIELDS = {"phone", "previous", "idempotency_key"}


@admin.register(PersonChangeFiling)
class PersonChangeFilingAdmin(AttachmentsAdminMixin, ReviewAdmin):
    attachment_audit_action = "enrollment.person_change_attachment_viewed_by_clerk"
    review_columns = ["reference", "unit_name", "person_name", "changed_column"]
    search_fields = ["reference", "employer__name", "person__name"]

    def get_list_select_related(self, request):
        return ["review_region", "employer", "person"]

    def get_readonly_fields(self, request, obj=None):
        return [
            name for name in super().get_readonly_fields(request, obj) if name not in HIDDEN_FIELDS
        ]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    @admin.display(description=_("单位全称"), ordering="employer__name")
    def unit_name(self, obj):
        return obj.employer.name

    @admin.display(description=_("姓名(变更前)"), ordering="person__name")
    def person_name(self, obj):
        return (obj.previous or {}).get("name") or obj.person.name

    @admin.display(description=_("变更项目"))
    def changed_column(self, obj):
        return obj.changed_labels

    review_evidence_title = _("变更内容(原值 → 新值)")
    reject_reasons = [
        _("证明材料与变更内容不符,请上传户口簿或身份证件扫描件后重新提交。"),
        _("证明材料不清晰,请重新扫描后上传。"),
        _("变更原因不明确,请补充说明后重新提交。"),
        _("用工形式变更须上传新的劳动合同,请补充后重新提交。"),
    ]

    def review_evidence(self, obj):
        person = obj.person
        rows = [
            (_("证件"), f"{person.get_document_type_display()} {person.masked_document_number}"),
        ]
        for label, before, after, changed in person_change_rows(obj):
            if changed:
                arrow = _("%(before)s → %(after)s") % {"before": before, "after": after}
                rows.append((label, arrow))
            else:
                rows.append((label, _("%s(不变)") % before))
        rows += [(_("变更原因"), obj.reason), (_("证件号码"), COUNTER_NOTE)]
        return rows

    def review_files(self, obj):
        opts = self.model._meta
        return [
            ReviewFile(
                label=_("证明材料"),
                name=attachment.original_name,
                url=reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_attachment",
                    args=[obj.pk, attachment.pk],
                ),
                kind=PREVIEW_KINDS.get(attachment.content_type, "other"),
            )
            for attachment in obj.attachments.all()
        ]
