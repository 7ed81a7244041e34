"""The clerk's queue of unit registrations (portal.admin_review.ReviewAdmin)."""

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from employers.models import Employer, RegistrationApplication
from portal.admin_review import ReviewAdmin
from portal.identifiers import mask_id_number, mask_phone


@admin.register(RegistrationApplication)
class RegistrationApplicationAdmin(ReviewAdmin):
    review_columns = [
        "reference",
        "unit_name",
        "unit_uscc",
        "unit_ss_number",
        "verification_method",
    ]
    search_fields = ["reference", "employer__name", "employer__uscc", "employer__ss_number"]
    exclude = []

    def get_list_select_related(self, request):
        return ["review_region", "employer"]

    def get_search_results(self, request, queryset, search_term):
        """Look the term up by its shape: exact codes use indexes; only names are substrings.

        The admin's default ORs a substring match over four columns across a join, which no
        index serves (bench/review_queue.py: 500 ms at 100,000 items).
        """
        term = "".join(search_term.split()).upper()
        if not term:
            return queryset, False
        if term.startswith("ZC"):
            return queryset.filter(reference=term), False
        if term.isascii() and term.isalnum() and any(ch.isdigit() for ch in term):
            # A USCC (18 characters, possibly all digits) or a social-security number.
            units = Employer.objects.filter(Q(uscc=term) | Q(ss_number=term)).values("pk")
            return queryset.filter(employer__in=units), False
        return queryset.filter(employer__name__icontains=search_term.strip()), False

    @admin.display(description=_("单位全称"), ordering="employer__name")
    def unit_name(self, obj):
        return obj.employer.name

    @admin.display(description=_("统一社会信用代码"))
    def unit_uscc(self, obj):
        return obj.employer.uscc

    @admin.display(description=_("单位社保编号"))
    def unit_ss_number(self, obj):
        return obj.employer.ss_number

    def review_evidence(self, obj):
        employer = obj.employer
        rows = [
            (_("单位全称"), employer.name),
            (_("统一社会信用代码"), employer.uscc),
            (_("单位社保编号"), employer.ss_number),
            (_("法定代表人"), employer.legal_rep_name),
            (_("法定代表人身份证号"), mask_id_number(employer.legal_rep_id_number)),
            (_("联系人手机号"), mask_phone(employer.contact_phone)),
            (_("开户行"), employer.bank_name),
            (_("对公账号"), employer.masked_bank_account),
            (_("户名"), employer.bank_account_name),
            (_("认证方式"), obj.get_verification_method_display() or "—"),
            (
                _("认证时间"),
                timezone.localtime(obj.verified_at).strftime("%Y-%m-%d %H:%M")
                if obj.verified_at
                else "—",
            ),
        ]
        labels = {
            "subject": _("证书主题"),
            "issuer": _("签发机构"),
            "serial": _("证书序列号"),
            "not_after": _("证书有效期至"),
            "fingerprint": _("证书指纹"),
            "algorithm": _("签名算法"),
            "crl_status": _("吊销检查"),
            "provider": _("人脸识别服务商"),
            "bank_reference": _("打款流水号"),
        }
        for key, value in (obj.verification_evidence or {}).items():
            if key in labels:
                rows.append((labels[key], value))
        for flag in obj.flags:
            rows.append((_("提示"), RegistrationApplication.Flag(flag).label))
        return rows
