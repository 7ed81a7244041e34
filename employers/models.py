from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.crypto import BlindIndexField, EncryptedTextField
from portal.identifiers import mask_bank_account, mask_id_number, mask_phone


class OpenedAccount(models.Model):
    """A unit whose social-insurance account the bureau opened at the counter (registry row)."""

    ss_number = models.CharField(_("单位社保编号"), max_length=32, unique=True)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    name = models.CharField(_("单位全称"), max_length=200)
    region = models.ForeignKey(
        "portal.Region", verbose_name=_("统筹区"), on_delete=models.PROTECT, related_name="+"
    )
    legal_rep_name = models.CharField(_("法定代表人姓名"), max_length=50)
    opened_on = models.DateField(_("开户日期"))
    imported_at = models.DateTimeField(_("导入时间"), auto_now=True)

    class Meta:
        verbose_name = _("已开户单位")
        verbose_name_plural = _("已开户单位登记簿")
        ordering = ["ss_number"]

    def __str__(self):
        return f"{self.name}({self.ss_number})"


class Employer(models.Model):
    """A unit registered on the portal (单位)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("审核中")
        REJECTED = "rejected", _("审核未通过")
        APPROVED = "approved", _("审核通过,待激活")
        ACTIVE = "active", _("正常")
        DISABLED = "disabled", _("已停用")

    account = models.OneToOneField(
        OpenedAccount, verbose_name=_("开户登记"), on_delete=models.PROTECT, related_name="employer"
    )
    name = models.CharField(_("单位全称"), max_length=200)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    ss_number = models.CharField(_("单位社保编号"), max_length=32, unique=True)
    region = models.ForeignKey(
        "portal.Region", verbose_name=_("统筹区"), on_delete=models.PROTECT, related_name="+"
    )
    legal_rep_name = models.CharField(_("法定代表人姓名"), max_length=50)
    legal_rep_id_number = EncryptedTextField(_("法定代表人身份证号"), kind="id_number")
    contact_phone = EncryptedTextField(_("联系人手机号"), kind="phone")
    bank_name = models.CharField(_("开户行"), max_length=100)
    bank_account = EncryptedTextField(_("银行账号"), kind="bank_account")
    bank_account_name = models.CharField(_("户名"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    created_at = models.DateTimeField(_("注册时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name}({self.ss_number})"

    @property
    def masked_bank_account(self) -> str:
        return mask_bank_account(self.bank_account)


class Role(models.TextChoices):
    """What an agent may do for the unit (DESIGN.md section 6)."""

    UNIT_ADMIN = "unit_admin", _("单位管理员")
    ENROLMENT = "enrolment", _("增减员经办")
    CONTRIBUTIONS = "contributions", _("缴费申报员")
    QUERIES = "queries", _("信息查询员")
    BENEFITS = "benefits", _("待遇申领员")


class Agent(models.Model):
    """A person acting for one unit (经办人); logs in through the linked user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登录账号"),
        on_delete=models.CASCADE,
        related_name="agent",
    )
    employer = models.ForeignKey(
        Employer, verbose_name=_("单位"), on_delete=models.CASCADE, related_name="agents"
    )
    name = models.CharField(_("姓名"), max_length=50)
    id_number = EncryptedTextField(_("身份证号"), kind="id_number")
    id_number_index = BlindIndexField(source="id_number", kind="id_number")
    phone = EncryptedTextField(_("手机号"), kind="phone")
    phone_index = BlindIndexField(source="phone", kind="phone")
    roles = models.JSONField(_("角色"), default=list, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("经办人")
        verbose_name_plural = _("经办人")
        ordering = ["employer", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["employer", "id_number_index"], name="agent_unique_id_per_employer"
            )
        ]

    def __str__(self):
        return f"{self.name}({self.masked_id_number})"

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def has_role(self, role: str) -> bool:
        return Role.UNIT_ADMIN in self.roles or role in self.roles

    def role_labels(self) -> list[str]:
        return [Role(role).label for role in self.roles if role in Role.values]
