"""The clerk's queue of unit registrations (portal.admin_review.ReviewAdmin)."""

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from employers.models import Agent, Employer, RegistrationApplication, Role
from portal.admin_review import ReviewAdmin
from portal.identifiers import mask_id_number, mask_phone
from portal.review_detail import evidence_rows, local_time

# RegistrationApplication.verification_evidence, by method (employers/verification: ca.py's
# CertificateCheck.as_evidence, face.py and bank.py), as the clerk reads it.
EVIDENCE_LABELS = {
    "subject": _("证书持有者"),
    "issuer": _("证书签发机构"),
    "uscc": _("证书中的统一社会信用代码"),
    "serial": _("证书序列号"),
    "not_after": _("证书有效期至"),
    "fingerprint": _("证书指纹(SHA-256)"),
    "algorithm": _("签名算法"),
    "crl_status": _("证书吊销检查"),
    "provider": _("人脸识别服务商"),
    "session": _("人脸识别会话编号"),
    "checked_at": _("人脸识别时间"),
    "bank_reference": _("打款流水号"),
}
# RFC 4514 attribute types of a certificate's subject and issuer (RFC 5280, GB/T 20518).
NAME_PARTS = {
    "CN": _("名称"),
    "O": _("单位"),
    "OU": _("部门"),
    "L": _("城市"),
    "ST": _("省份"),
    "C": _("国家"),
    "2.5.4.97": _("机构标识"),
}


def readable_name(value: str) -> str:
    """A distinguished name as "名称:…;单位:…", its escaped commas kept in the values."""
    parts, current, escaped = [], "", False
    for char in value:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    shown = []
    for part in parts:
        kind, _sep, text = part.partition("=")
        label = NAME_PARTS.get(kind.strip())
        if label is not None and text and not text.startswith("#"):
            shown.append(f"{label}:{text}")
    return ";".join(shown) or "—"


def hex_pairs(value: str) -> str:
    """A serial number or fingerprint as colon-separated pairs, as certificate viewers show it."""
    digits = "".join(ch for ch in str(value) if ch not in ": ").upper()
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2)) or "—"


EVIDENCE_VALUES = {
    "subject": readable_name,
    "issuer": readable_name,
    "serial": hex_pairs,
    "fingerprint": hex_pairs,
    "crl_status": {
        "current": _("未吊销(吊销列表在有效期内)"),
        "stale": _("未吊销(吊销列表已过下次更新时间,请留意)"),
        "missing": _("未检查(尚未导入该签发机构的吊销列表)"),
    },
    "algorithm": {
        "RSA-SHA256": _("RSA 签名(SHA-256 摘要)"),
        "ECDSA-SHA256": _("ECDSA 签名(SHA-256 摘要)"),
        "SM2-SM3": _("SM2 签名(SM3 摘要,默认用户ID 1234567812345678)"),
    },
    "provider": {"sandbox": _("模拟服务(开发测试环境)")},
}


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

    review_applicant_role = _("单位管理员")
    review_evidence_title = _("单位登记信息与身份认证")
    reject_reasons = [
        _("单位全称或统一社会信用代码与营业执照不一致,请核对后重新提交。"),
        _("法定代表人信息与开户登记不一致,请核对后重新提交。"),
        _("对公账户户名与单位全称不一致,请更正银行账户信息。"),
        _("身份认证凭据不完整或已失效,请重新完成身份认证。"),
        _("联系人手机号无法接通,请更正联系方式。"),
    ]

    def review_applicant(self, obj):
        """The unit's administrator: the agent registered with the application."""
        agents = Agent.objects.filter(employer_id=obj.employer_id).order_by("pk")
        return next((agent for agent in agents if agent.has_role(Role.UNIT_ADMIN)), None)

    def review_evidence(self, obj):
        employer = obj.employer
        rows = [
            (_("法定代表人"), employer.legal_rep_name),
            (_("法定代表人身份证号"), mask_id_number(employer.legal_rep_id_number)),
            (_("联系人"), employer.contact_name or "—"),
            (_("联系人手机号"), mask_phone(employer.contact_phone)),
            (_("开户行"), employer.bank_name),
            (_("对公账号"), employer.masked_bank_account),
            (_("户名"), employer.bank_account_name),
            (_("认证方式"), obj.get_verification_method_display() or "—"),
            (_("认证时间"), local_time(obj.verified_at)),
        ]
        rows += evidence_rows(
            obj.verification_evidence,
            EVIDENCE_LABELS,
            values=EVIDENCE_VALUES,
            skip=["method"],
        )
        for flag in obj.flags:
            rows.append((_("提示"), RegistrationApplication.Flag(flag).label))
        return rows
