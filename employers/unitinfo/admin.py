"""The clerk's queue of unit change filings (portal.admin_review.ReviewAdmin)."""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from employers.models import UnitChangeFiling
from employers.unitinfo.selectors import unit_change_latest_transfer, unit_change_rows
from portal.admin_review import ReviewAdmin

# Personal data and internals the generic read-only form would show in clear.
HIDDEN_FIELDS = ["contact_phone", "bank_account", "contact_email", "previous", "idempotency_key"]


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


@admin.register(UnitChangeFiling)
class UnitChangeFilingAdmin(ReviewAdmin):
    review_columns = ["reference", "unit_name", "kind", "stage"]
    search_fields = ["reference", "employer__name"]
    exclude = HIDDEN_FIELDS

    def get_list_select_related(self, request):
        return ["review_region", "employer"]

    def get_readonly_fields(self, request, obj=None):
        return [
            name for name in super().get_readonly_fields(request, obj) if name not in HIDDEN_FIELDS
        ]

    @admin.display(description=_("单位全称"), ordering="employer__name")
    def unit_name(self, obj):
        return obj.employer.name

    review_evidence_title = _("变更内容(原值 → 新值)")
    reject_reasons = [
        _("变更原因不明确,请补充说明后重新提交。"),
        _("新银行账户户名与单位全称不一致,请更正后重新提交。"),
        _("联系人信息不完整,请补充联系人姓名和手机号。"),
        _("请上传单位出具的变更说明后重新提交。"),
    ]

    def review_evidence(self, obj):
        rows = [
            (_("变更类型"), obj.get_kind_display()),
            (_("办理阶段"), obj.get_stage_display()),
        ]
        for label, before, after in unit_change_rows(obj, for_clerk=True):
            rows.append(
                (
                    label,
                    _("%(before)s → %(after)s") % {"before": before or "—", "after": after or "—"},
                )
            )
        if obj.kind == UnitChangeFiling.Kind.CONTACT:
            rows.append((_("新手机号验证时间"), _when(obj.phone_verified_at)))
        else:
            transfer = unit_change_latest_transfer(obj)
            rows += [
                (_("新账户验证时间"), _when(obj.account_verified_at)),
                (_("打款流水号"), (transfer.bank_reference if transfer else "") or "—"),
                (_("打款状态"), transfer.get_state_display() if transfer else "—"),
            ]
        rows.append((_("变更原因"), obj.reason or "—"))
        return rows
