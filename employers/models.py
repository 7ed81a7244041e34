import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.choices_display import StoredChoicesDisplay
from portal.crypto import BlindIndexField, EncryptedTextField
from portal.identifiers import mask_bank_account, mask_id_number, mask_phone
from portal.models import OPEN_REVIEW_STATES, ReviewableModel


def question_upload_to(instance, filename: str) -> str:
    # Never the uploaded name: it may hold personal data and is kept in attachment_name.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"questions/{instance.question.employer_id}/{uuid.uuid4().hex}.{extension}"


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
    # Set at the counter when the account is opened (国民经济行业分类 GB/T 4754; 工伤保险行业
    # 风险类别 一类至八类, 人社部发〔2015〕71号); the portal shows them and never changes them.
    industry = models.CharField(_("所属行业"), max_length=100, blank=True)
    injury_risk_class = models.PositiveSmallIntegerField(
        _("工伤风险类别"), null=True, blank=True, help_text=_("一类至八类")
    )
    address = models.CharField(_("注册地址"), max_length=200, blank=True)
    imported_at = models.DateTimeField(_("导入时间"), auto_now=True)

    class Meta:
        verbose_name = _("已开户单位")
        verbose_name_plural = _("已开户单位登记簿")
        ordering = ["ss_number"]

    def __str__(self):
        return f"{self.name}({self.ss_number})"


class Employer(StoredChoicesDisplay, models.Model):
    """A unit registered on the portal (单位)."""

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", _("待身份认证")
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
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = EncryptedTextField(_("联系人手机号"), kind="phone")
    address = models.CharField(_("办公地址"), max_length=200, blank=True)
    contact_email = models.EmailField(
        _("联系邮箱"), blank=True, help_text=_("填写后审核结果也会发送到该邮箱。")
    )
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


class VerificationMethod(models.TextChoices):
    CA = "ca", _("CA数字证书")
    FACE = "face", _("法定代表人人脸识别")
    BANK = "bank", _("对公账户小额打款")


class RegistrationApplication(ReviewableModel):
    """A unit's registration (单位注册): the answers, the identity proof, then review."""

    class State(models.TextChoices):
        VERIFYING = "verifying", _("待身份认证")
        SUBMITTED = "submitted", _("已提交,等待审核")

    class Flag(models.TextChoices):
        USCC_CHECKSUM = "uscc_checksum", _("信用代码未通过校验位检查(登记簿早期试点代码)")

    reference = models.CharField(_("申请编号"), max_length=24, unique=True)
    account = models.ForeignKey(
        OpenedAccount,
        verbose_name=_("开户登记"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    employer = models.OneToOneField(
        Employer, verbose_name=_("单位"), on_delete=models.CASCADE, related_name="application"
    )
    state = models.CharField(
        _("状态"), max_length=16, choices=State.choices, default=State.VERIFYING, db_index=True
    )
    verification_method = models.CharField(
        _("认证方式"), max_length=8, choices=VerificationMethod.choices, blank=True
    )
    verified_at = models.DateTimeField(_("认证时间"), null=True, blank=True)
    verification_evidence = models.JSONField(_("认证凭据"), default=dict, blank=True)
    flags = models.JSONField(_("提示"), default=list, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("单位注册申请")
        verbose_name_plural = _("单位注册申请")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["review_state", "due_at"], name="registration_queue"),
            # The clerk's default queue: open items by due time, with or without a region
            # (bench/review_queue.py: a sorted scan of 100,000 rows became an index scan).
            models.Index(
                fields=["due_at", "id"],
                condition=models.Q(review_state__in=list(OPEN_REVIEW_STATES)),
                name="registration_open_due",
            ),
            models.Index(
                fields=["review_region", "due_at", "id"],
                condition=models.Q(review_state__in=list(OPEN_REVIEW_STATES)),
                name="registration_open_region",
            ),
        ]

    def __str__(self):
        return f"{self.reference} {self.employer.name}"

    def review_employer_id(self) -> int | None:
        return self.employer_id


class TrustedCARoot(models.Model):
    """A CA root certificate that ops trust for unit certificates (USB-Key)."""

    name = models.CharField(_("名称"), max_length=200)
    certificate_pem = models.TextField(_("根证书(PEM)"))
    fingerprint_sha256 = models.CharField(_("SHA-256指纹"), max_length=64, unique=True)
    subject = models.CharField(_("主题"), max_length=500)
    not_after = models.DateTimeField(_("有效期至"))
    is_active = models.BooleanField(_("启用"), default=True)
    added_at = models.DateTimeField(_("添加时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("受信任CA根证书")
        verbose_name_plural = _("受信任CA根证书")
        ordering = ["name"]

    def __str__(self):
        return self.name


class CertificateRevocationList(models.Model):
    """The latest CRL ops loaded for one issuer."""

    issuer = models.CharField(_("签发者"), max_length=500)
    issuer_key_hash = models.CharField(_("签发者标识"), max_length=64, unique=True)
    crl_der = models.BinaryField(_("CRL(DER)"))
    this_update = models.DateTimeField(_("本次更新"))
    next_update = models.DateTimeField(_("下次更新"), null=True, blank=True)
    revoked_count = models.PositiveIntegerField(_("吊销证书数"), default=0)
    loaded_at = models.DateTimeField(_("导入时间"), auto_now=True)

    class Meta:
        verbose_name = _("证书吊销列表")
        verbose_name_plural = _("证书吊销列表")
        ordering = ["issuer"]

    def __str__(self):
        return self.issuer


class CAChallenge(models.Model):
    """A single-use challenge the unit's USB-Key signs; discarded once used or expired."""

    class Purpose(models.TextChoices):
        REGISTRATION = "registration", _("注册认证")
        LOGIN = "login", _("证书登录")

    nonce = models.CharField(_("挑战值"), max_length=64, unique=True)
    purpose = models.CharField(_("用途"), max_length=16, choices=Purpose.choices)
    application = models.ForeignKey(
        RegistrationApplication,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="ca_challenges",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"))
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("证书挑战")
        verbose_name_plural = _("证书挑战")

    def __str__(self):
        return f"{self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M}"


class FaceVerificationSession(models.Model):
    """A face-recognition session at the provider for the unit's legal representative."""

    class State(models.TextChoices):
        CREATED = "created", _("等待识别")
        PASSED = "passed", _("识别通过")
        FAILED = "failed", _("识别未通过")

    token = models.CharField(_("会话标识"), max_length=64, unique=True)
    application = models.ForeignKey(
        RegistrationApplication, on_delete=models.CASCADE, related_name="face_sessions"
    )
    provider = models.CharField(_("服务商"), max_length=32)
    id_number_index = models.CharField(_("身份证号索引"), max_length=64)
    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.CREATED)
    failure_reason = models.CharField(_("未通过原因"), max_length=32, blank=True)

    # What each provider outcome means to the legal representative, and what to do next.
    FAILURE_TEXTS = {
        "mismatch": _("人脸与身份证照片比对不一致:请法定代表人本人在光线充足处正对镜头重新识别。"),
        "liveness_failed": _(
            "活体检测未通过:请按提示眨眼、转头,不要使用照片或视频,并保持面部完整清晰。"
        ),
        "id_mismatch": _("识别的身份证号不是本单位法定代表人的身份证号,请由法定代表人本人识别。"),
        "provider_unavailable": _("人脸识别服务暂时无法使用,请稍后再试,或选择其他认证方式。"),
    }
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"))
    callback_at = models.DateTimeField(_("回调时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("人脸识别会话")
        verbose_name_plural = _("人脸识别会话")

    def __str__(self):
        return f"{self.provider} {self.get_state_display()}"

    @property
    def failure_text(self) -> str:
        """The failure in words (never the provider's raw code)."""
        if not self.failure_reason:
            return ""
        return str(self.FAILURE_TEXTS.get(self.failure_reason, _("识别未通过,请重新识别。")))


class PennyDropTransfer(models.Model):
    """A small transfer to the unit's corporate account; the unit proves receipt by its amount.

    The bank is called outside any transaction: the row is written PENDING, the call happens
    after commit (employers.tasks.penny_drop_send), and the bank's answer moves it to SENT (with
    the bank's reference and arrival day) or REJECTED. A lost answer is resolved by a status
    query under the same request_id (the idempotency key), never by a second transfer.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("正在汇出")
        SENT = "sent", _("已汇出")
        REJECTED = "rejected", _("银行未受理")
        VERIFIED = "verified", _("验证通过")
        FAILED = "failed", _("验证失败")
        EXPIRED = "expired", _("已过期")

    # What a bank's refusal means to the unit, and what to do next (never the bank's raw code).
    REJECTION_TEXT = _(
        "银行未能向该账户汇款:请核对开户行、账号和户名是否与开户许可证一致、账户是否正常,"
        "或改用其他方式认证。"
    )

    # A transfer proves either a registering unit's account or the new account of a change filing.
    application = models.ForeignKey(
        RegistrationApplication,
        on_delete=models.CASCADE,
        related_name="penny_drops",
        null=True,
        blank=True,
    )
    change_filing = models.ForeignKey(
        "employers.UnitChangeFiling",
        on_delete=models.CASCADE,
        related_name="penny_drops",
        null=True,
        blank=True,
    )
    amount_fen = models.PositiveSmallIntegerField(_("金额(分)"))
    memo_code = models.CharField(_("附言验证码"), max_length=8)
    # The idempotency key of the transfer at the bank (empty on transfers made before it).
    request_id = models.CharField(_("请求编号"), max_length=40, blank=True)
    bank_reference = models.CharField(_("银行流水号"), max_length=64, blank=True)
    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.PENDING)
    wrong_attempts = models.PositiveSmallIntegerField(_("错误次数"), default=0)
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    # Calls to the bank so far, and when the last one started (a lease against parallel calls).
    bank_calls = models.PositiveSmallIntegerField(_("银行调用次数"), default=0)
    bank_called_at = models.DateTimeField(_("最近调用银行时间"), null=True, blank=True)
    bank_failure = models.CharField(_("银行拒绝原因"), max_length=64, blank=True)
    sent_at = models.DateTimeField(_("汇出时间"), null=True, blank=True)
    arrives_on = models.DateField(_("预计到账日"), null=True, blank=True)
    expires_at = models.DateTimeField(_("回填截止时间"))
    verified_at = models.DateTimeField(_("验证时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("对公账户小额打款")
        verbose_name_plural = _("对公账户小额打款")
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(application__isnull=False)
                | models.Q(change_filing__isnull=False),
                name="penny_drop_has_subject",
            ),
            models.UniqueConstraint(
                fields=["request_id"],
                condition=~models.Q(request_id=""),
                name="penny_drop_request_id_unique",
            ),
            models.UniqueConstraint(
                fields=["bank_reference"],
                condition=~models.Q(bank_reference=""),
                name="penny_drop_bank_reference_unique",
            ),
        ]
        indexes = [
            # The resolver's scan of transfers still waiting for the bank.
            models.Index(
                fields=["bank_called_at"],
                condition=models.Q(state="pending"),
                name="penny_drop_pending_idx",
            )
        ]

    def __str__(self):
        return f"{self.bank_reference or self.request_id} {self.get_state_display()}"

    @property
    def payee(self):
        """Whose account the money goes to: the registering unit's, or a change filing's new one."""
        return self.change_filing or self.application.employer


class LoginLock(models.Model):
    """The login lock of one login key, with its escalation over a day (DESIGN.md section 7).

    The key is what django-axes counts failures under: an agent's login name, or, for identifiers
    that name no agent, a keyed hash of them, so that an unknown account locks exactly as a known
    one does and a lock tells nobody whether the account exists. A lock lasts LOGIN_LOCK_MINUTES,
    doubling with each further lock within 24 hours; the LOGIN_LOCKS_BEFORE_HOLD-th lock in 24
    hours holds until it is lifted (clerk, ``unlock_agent``, the agent's SMS code or CA login).
    """

    key = models.CharField(_("登录标识"), max_length=150, unique=True)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)
    held = models.BooleanField(_("须解锁后登录"), default=False)
    lock_times = models.JSONField(_("24小时内锁定时间"), default=list, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("登录锁定")
        verbose_name_plural = _("登录锁定")

    def __str__(self):
        return self.key

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.held or (self.locked_until is not None and self.locked_until > now)


class UnitChangeFiling(ReviewableModel):
    """单位信息变更: new contact details or a new contribution bank account, reviewed by a clerk.

    The unit's details change only on approval; until then the old values stay in force and the
    page shows both. Name, USCC and legal representative change only at the counter.
    """

    class Kind(models.TextChoices):
        CONTACT = "contact", _("联系信息变更")
        BANK = "bank", _("银行账户变更")

    class Stage(models.TextChoices):
        # Before review: a bank change waits for the penny-drop to the new account.
        AWAITING_VERIFICATION = "awaiting", _("待验证新账户")
        IN_REVIEW = "review", _("已提交审核")
        CANCELLED = "cancelled", _("已撤销")

    reference = models.CharField(_("业务编号"), max_length=24, unique=True)
    employer = models.ForeignKey(
        Employer, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="change_filings"
    )
    submitted_by = models.ForeignKey(
        Agent, verbose_name=_("经办人"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("变更类型"), max_length=16, choices=Kind.choices)
    stage = models.CharField(
        _("办理阶段"), max_length=16, choices=Stage.choices, default=Stage.IN_REVIEW
    )
    idempotency_key = models.UUIDField(_("提交标识"), unique=True)
    # The new values (a contact change carries all four, unchanged ones as they were).
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = EncryptedTextField(_("联系人手机号"), kind="phone", blank=True)
    phone_verified_at = models.DateTimeField(_("新手机号验证时间"), null=True, blank=True)
    address = models.CharField(_("办公地址"), max_length=200, blank=True)
    contact_email = models.EmailField(_("联系邮箱"), blank=True)
    bank_name = models.CharField(_("开户行"), max_length=100, blank=True)
    bank_account = EncryptedTextField(_("银行账号"), kind="bank_account", blank=True)
    bank_account_name = models.CharField(_("户名"), max_length=200, blank=True)
    account_verified_at = models.DateTimeField(_("新账户验证时间"), null=True, blank=True)
    # What was in force when the filing was made, masked, for the clerk's side-by-side view.
    previous = models.JSONField(_("变更前信息"), default=dict, blank=True)
    reason = models.CharField(_("变更原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("单位信息变更")
        verbose_name_plural = _("单位信息变更")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["employer", "-created_at"], name="unit_change_by_unit"),
            models.Index(fields=["review_state", "due_at"], name="unit_change_queue"),
        ]

    def __str__(self):
        return f"{self.reference} {self.get_kind_display()}"

    def review_employer_id(self) -> int | None:
        return self.employer_id

    @property
    def masked_bank_account(self) -> str:
        return mask_bank_account(self.bank_account)

    @property
    def masked_contact_phone(self) -> str:
        return mask_phone(self.contact_phone)


class QuestionTopic(models.TextChoices):
    REGISTRATION = "registration", _("单位注册与认证")
    LOGIN = "login", _("登录与账号")
    ENROLMENT = "enrolment", _("增减员")
    CONTRIBUTIONS = "contributions", _("缴费申报与核定")
    RECORDS = "records", _("缴费记录与证明")
    BENEFITS = "benefits", _("待遇申领")
    OTHER = "other", _("其他问题")


class Question(models.Model):
    """留言板: a question an agent asks the hall; clerks answer it in the admin."""

    class State(models.TextChoices):
        OPEN = "open", _("待答复")
        ANSWERED = "answered", _("已答复")
        CLOSED = "closed", _("已关闭")

    reference = models.CharField(_("留言编号"), max_length=24, unique=True)
    employer = models.ForeignKey(
        Employer, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="questions"
    )
    agent = models.ForeignKey(
        Agent, verbose_name=_("经办人"), on_delete=models.PROTECT, related_name="questions"
    )
    region = models.ForeignKey(
        "portal.Region", verbose_name=_("统筹区"), on_delete=models.PROTECT, related_name="+"
    )
    topic = models.CharField(_("问题类别"), max_length=16, choices=QuestionTopic.choices)
    subject = models.CharField(_("标题"), max_length=100)
    state = models.CharField(
        _("状态"), max_length=16, choices=State.choices, default=State.OPEN, db_index=True
    )
    idempotency_key = models.UUIDField(_("提交标识"), unique=True)
    created_at = models.DateTimeField(_("提问时间"), auto_now_add=True)
    # When the latest agent message must be answered: 2 working days (DESIGN.md section 14).
    due_at = models.DateTimeField(_("答复时限"), null=True, blank=True)
    is_overdue = models.BooleanField(_("已超期"), default=False)
    answered_at = models.DateTimeField(_("最近答复时间"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("留言")
        verbose_name_plural = _("留言板")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["employer", "-created_at"], name="question_by_unit"),
            models.Index(fields=["state", "due_at"], name="question_queue"),
        ]

    def __str__(self):
        return f"{self.reference} {self.subject}"


class QuestionMessage(models.Model):
    """One message of a question's thread: the question, a follow-up, or a clerk's answer."""

    question = models.ForeignKey(
        Question, verbose_name=_("留言"), on_delete=models.CASCADE, related_name="messages"
    )
    agent = models.ForeignKey(
        Agent,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("答复人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    text = models.TextField(_("内容"), max_length=2000)
    attachment = models.FileField(_("附件"), upload_to=question_upload_to, blank=True)
    attachment_name = models.CharField(_("附件原文件名"), max_length=200, blank=True)
    attachment_type = models.CharField(_("附件类型"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("留言内容")
        verbose_name_plural = _("留言内容")
        ordering = ["question", "created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(agent__isnull=False, clerk__isnull=True)
                | models.Q(agent__isnull=True, clerk__isnull=False),
                name="question_message_one_author",
            )
        ]

    def __str__(self):
        return f"{self.question.reference} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def from_clerk(self) -> bool:
        return self.clerk_id is not None
