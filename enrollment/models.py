"""Insured persons, their enrolments, and the add- and remove-employee filings (DESIGN.md §9)."""

import uuid

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from portal.crypto import BlindIndexField, EncryptedTextField
from portal.identifiers import mask_id_number, mask_phone
from portal.models import OPEN_REVIEW_STATES, ReviewableModel


class DocumentType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("居民身份证")
    HK_MACAO_PERMIT = "hk_macao_permit", _("港澳居民来往内地通行证")
    TAIWAN_PERMIT = "taiwan_permit", _("台湾居民来往大陆通行证")
    HMT_RESIDENCE = "hmt_residence", _("港澳台居民居住证")
    FOREIGN_PERMANENT = "foreign_permanent", _("外国人永久居留身份证")
    PASSPORT = "passport", _("护照")


class HukouType(models.TextChoices):
    """户籍类型; 港澳台 residents and foreigners go by document type and nationality instead."""

    LOCAL_URBAN = "local_urban", _("本市城镇")
    LOCAL_RURAL = "local_rural", _("本市农村")
    NONLOCAL_URBAN = "nonlocal_urban", _("外埠城镇")
    NONLOCAL_RURAL = "nonlocal_rural", _("外埠农村")
    NONE = "none", _("无(港澳台及外籍人员)")


class InsuranceCode(models.TextChoices):
    """险种 codes as used nationally."""

    PENSION = "110", _("110 企业职工基本养老保险")
    UNEMPLOYMENT = "210", _("210 失业保险")
    MEDICAL = "310", _("310 职工基本医疗保险")
    WORK_INJURY = "410", _("410 工伤保险")
    MATERNITY = "510", _("510 生育保险")


# How an enrolment's insurance codes map onto the contribution side's insurance types: 生育 has
# been collected together with medical insurance since 2019 (国办发〔2019〕10号).
CONTRIBUTION_TYPE = {
    InsuranceCode.PENSION: "pension",
    InsuranceCode.UNEMPLOYMENT: "unemployment",
    InsuranceCode.MEDICAL: "medical",
    InsuranceCode.WORK_INJURY: "work_injury",
    InsuranceCode.MATERNITY: "medical",
}


class EmploymentForm(models.Model):
    """用工形式, kept as data a region can change (a row without region applies everywhere)."""

    region = models.ForeignKey(
        "portal.Region",
        verbose_name=_("统筹区"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text=_("留空表示所有统筹区通用"),
    )
    code = models.CharField(_("代码"), max_length=16)
    name = models.CharField(_("名称"), max_length=50)
    is_active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("用工形式")
        verbose_name_plural = _("用工形式")
        ordering = ["sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["region", "code"], name="employment_form_unique_code")
        ]

    def __str__(self):
        return self.name


class CouplingRule(models.Model):
    """A region's rule tying 户籍类型 and 用工形式 to the insurance types allowed or required.

    For example: a 农村 household with 农村合同制工人 joins the rural-worker unemployment scheme;
    非全日制 often only 工伤. Checked by enrollment.rules.insurance_coupling_check.
    """

    region = models.ForeignKey(
        "portal.Region",
        verbose_name=_("统筹区"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text=_("留空表示所有统筹区通用"),
    )
    hukou_type = models.CharField(
        _("户籍类型"),
        max_length=16,
        choices=HukouType.choices,
        blank=True,
        help_text=_("留空表示任意"),
    )
    employment_form_code = models.CharField(
        _("用工形式代码"), max_length=16, blank=True, help_text=_("留空表示任意")
    )
    allowed_codes = models.JSONField(
        _("可参保险种"), default=list, blank=True, help_text=_('留空表示不限,如 ["410"]')
    )
    required_codes = models.JSONField(_("必须参保险种"), default=list, blank=True)
    message = models.CharField(_("提示语"), max_length=200)

    class Meta:
        verbose_name = _("险种组合规则")
        verbose_name_plural = _("险种组合规则")

    def __str__(self):
        return self.message


class RegionEnrolmentSettings(models.Model):
    """Per-region limits for enrolment filings."""

    region = models.OneToOneField(
        "portal.Region", verbose_name=_("统筹区"), on_delete=models.CASCADE, related_name="+"
    )
    backdate_months = models.PositiveSmallIntegerField(
        _("可补登记月数"), default=3, help_text=_("参保起始年月最多可早于当月的月数")
    )
    filing_deadline_days = models.PositiveSmallIntegerField(
        _("增员时限(天)"), default=30, help_text=_("自用工之日起应在该天数内办理增员")
    )

    class Meta:
        verbose_name = _("统筹区增减员设置")
        verbose_name_plural = _("统筹区增减员设置")

    def __str__(self):
        return str(self.region)


class Person(models.Model):
    """An insured person (参保人员), known nationwide by document type and number."""

    class Sex(models.TextChoices):
        MALE = "male", _("男")
        FEMALE = "female", _("女")

    name = models.CharField(_("姓名"), max_length=50)
    document_type = models.CharField(
        _("证件类型"), max_length=20, choices=DocumentType.choices, default=DocumentType.RESIDENT_ID
    )
    document_number = EncryptedTextField(_("证件号码"), kind="document_number")
    document_index = BlindIndexField(source="document_number", kind="document_number")
    sex = models.CharField(_("性别"), max_length=8, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    nationality = models.CharField(_("国籍"), max_length=50, default="中国")
    hukou_type = models.CharField(_("户籍类型"), max_length=16, choices=HukouType.choices)
    phone = EncryptedTextField(_("手机号"), kind="phone", blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("参保人员")
        verbose_name_plural = _("参保人员")
        constraints = [
            models.UniqueConstraint(
                fields=["document_type", "document_index"], name="person_unique_document"
            )
        ]

    def __str__(self):
        return self.name

    @property
    def masked_document_number(self) -> str:
        return mask_id_number(self.document_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone) if self.phone else ""


# One bit per insurance code, for Enrolment.insurance_mask (never renumber: rows store them).
INSURANCE_BITS = {
    InsuranceCode.PENSION: 1,
    InsuranceCode.UNEMPLOYMENT: 2,
    InsuranceCode.MEDICAL: 4,
    InsuranceCode.WORK_INJURY: 8,
    InsuranceCode.MATERNITY: 16,
}


def insurance_mask_of(codes) -> int:
    """The bitmask of a list of insurance codes (unknown codes add nothing)."""
    mask = 0
    for code in codes or ():
        mask |= INSURANCE_BITS.get(str(code), 0)
    return mask


def insurance_masks_with(code: str) -> list[int]:
    """Every mask that includes ``code``: an IN list an index can serve (16 values)."""
    bit = INSURANCE_BITS[code]
    return [mask for mask in range(1 << len(INSURANCE_BITS)) if mask & bit]


class InsuranceMaskField(models.PositiveSmallIntegerField):
    """Enrolment.insurance_codes as a bitmask, derived on every save and bulk_create.

    pre_save runs for save(), create() and bulk_create(), so no write path can forget it;
    queryset.update() and bulk_update() of insurance_codes must set it too (none do).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("editable", False)
        kwargs.setdefault("default", 0)
        super().__init__(*args, **kwargs)

    def pre_save(self, model_instance, add):
        value = insurance_mask_of(model_instance.insurance_codes)
        setattr(model_instance, self.attname, value)
        return value


class Enrolment(models.Model):
    """A person's insurance with one unit; at most one open enrolment per person nationwide."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        ACTIVE = "active", _("正常")
        SUSPENDED = "suspended", _("暂停")
        TERMINATED = "terminated", _("终止")
        CANCELLED = "cancelled", _("已撤销")

    person = models.ForeignKey(
        Person, verbose_name=_("参保人员"), on_delete=models.PROTECT, related_name="enrolments"
    )
    employer = models.ForeignKey(
        "employers.Employer",
        verbose_name=_("单位"),
        on_delete=models.PROTECT,
        related_name="enrolments",
    )
    employment_form = models.ForeignKey(
        EmploymentForm, verbose_name=_("用工形式"), on_delete=models.PROTECT, related_name="+"
    )
    insurance_codes = models.JSONField(_("参保险种"), default=list)
    # Derived from insurance_codes (see InsuranceMaskField): the roster filters on it.
    insurance_mask = InsuranceMaskField(_("参保险种位图"))
    start_month = models.DateField(_("参保起始年月"), help_text=_("当月1日"))
    employment_start = models.DateField(_("用工日期"), null=True, blank=True)
    contribution_base = models.DecimalField(_("月缴费工资"), max_digits=10, decimal_places=2)
    status = models.CharField(
        _("参保状态"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    last_contribution_month = models.DateField(_("末次缴费年月"), null=True, blank=True)
    ended_on = models.DateField(_("终止日期"), null=True, blank=True)
    # 续保: the unit's earlier (ended or suspended) enrolment of the person that this one resumes.
    resumed_from = models.ForeignKey(
        "self",
        verbose_name=_("续保前的参保登记"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resumptions",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    OPEN_STATUSES = (Status.PENDING, Status.ACTIVE, Status.SUSPENDED)

    class Meta:
        verbose_name = _("参保登记")
        verbose_name_plural = _("参保登记")
        # One open enrolment per person nationwide; the one exception is a 续保 under review
        # of the unit's own suspended enrolment, which stays in force until the approval ends
        # it (enrollment.add.review). At most one enrolment per person is ever pending.
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(status__in=["active", "suspended"])
                | models.Q(status="pending", resumed_from__isnull=True),
                name="enrolment_one_open_per_person",
            ),
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(status="pending"),
                name="enrolment_one_pending_per_person",
            ),
        ]
        # The roster: the unit's rows, by status and insurance type (index-only counts).
        indexes = [
            models.Index(fields=["employer", "status", "insurance_mask"], name="enrolment_roster"),
            # The roster's pages, newest first (-pk) within the unit: without it PostgreSQL
            # walks the primary key of every unit's enrolments backwards.
            models.Index(fields=["employer", "id"], name="enrolment_unit_recent"),
        ]

    def __str__(self):
        return f"{self.person} @ {self.employer_id} ({self.get_status_display()})"


def attachment_upload_to(instance, filename: str) -> str:
    """A random name under the unit's folder: the uploader's file name is never used on disk."""
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(
        instance.content_type, "bin"
    )
    return f"attachments/{instance.employer_id}/{uuid.uuid4().hex}.{extension}"


def generated_upload_to(instance, filename: str) -> str:
    return f"forms/{instance.employer_id}/{uuid.uuid4().hex}.pdf"


class EmployeeFiling(ReviewableModel):
    """What 增员 and 减员 filings share: a number, the unit, the agent, the submission key."""

    reference = models.CharField(_("业务编号"), max_length=24, unique=True)
    employer = models.ForeignKey(
        "employers.Employer", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_by = models.ForeignKey(
        "employers.Agent", verbose_name=_("经办人"), on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.UUIDField(_("提交标识"), unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.reference} {self.enrolment.person.name}"

    def review_employer_id(self):
        return self.employer_id


class AddEmployeeFiling(EmployeeFiling):
    """增员: a request to start a person's enrolment with the unit, reviewed by a clerk."""

    class Flag(models.TextChoices):
        BACKDATED = "backdated", _("参保起始年月早于当月(补登记)")
        LATE = "late", _("超过用工之日起30日办理")

    enrolment = models.OneToOneField(
        Enrolment, verbose_name=_("参保登记"), on_delete=models.PROTECT, related_name="add_filing"
    )
    flags = models.JSONField(_("提示"), default=list, blank=True)
    registration_form = models.FileField(
        _("新增参保人员登记表"), upload_to=generated_upload_to, blank=True
    )
    # The 批量增员 import that filed it (none for a filing made on the form).
    batch_import = models.ForeignKey(
        "enrollment.BatchImport",
        verbose_name=_("批量增员批次"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="filings",
    )

    class Meta:
        verbose_name = _("增员申请")
        verbose_name_plural = _("增员申请")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["review_state", "due_at"], name="add_filing_queue"),
            # The clerk's default queue: open items by due time (see employers' registrations).
            models.Index(
                fields=["due_at", "id"],
                condition=models.Q(review_state__in=list(OPEN_REVIEW_STATES)),
                name="add_filing_open_due",
            ),
        ]

    def get_absolute_url(self):
        return reverse("enrollment:add_detail", kwargs={"reference": self.reference})


class Attachment(models.Model):
    """A file an agent attached to an add-employee filing, verified by its content."""

    class Kind(models.TextChoices):
        LABOUR_CONTRACT = "labour_contract", _("劳动合同")
        ID_SCAN = "id_scan", _("身份证件扫描件")

    filing = models.ForeignKey(
        AddEmployeeFiling,
        verbose_name=_("增员申请"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    employer_id = models.BigIntegerField(_("单位ID"), db_index=True)
    kind = models.CharField(_("材料类型"), max_length=20, choices=Kind.choices)
    file = models.FileField(_("文件"), upload_to=attachment_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=50)
    size = models.PositiveIntegerField(_("大小(字节)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self):
        return f"{self.get_kind_display()} {self.original_name}"


class RemovalReason(models.TextChoices):
    CONTRACT_ENDED = "contract_ended", _("终止劳动合同")
    CONTRACT_TERMINATED = "contract_terminated", _("解除劳动合同")
    RETIRED = "retired", _("离退休")
    DECEASED = "deceased", _("死亡")
    EMIGRATED = "emigrated", _("出国(境)定居")
    DISMISSED = "dismissed", _("开除、除名")
    TRANSFERRED_OUT = "transferred_out", _("调出")
    SENTENCED = "sentenced", _("判刑收监")
    MOVED_OUT = "moved_out", _("转出本统筹区")
    OTHER = "other", _("其他")


class RemoveEmployeeFiling(EmployeeFiling):
    """减员: a request to end a person's enrolment with the unit, reviewed by a clerk."""

    enrolment = models.ForeignKey(
        Enrolment,
        verbose_name=_("参保登记"),
        on_delete=models.PROTECT,
        related_name="remove_filings",
    )
    reason = models.CharField(_("减员原因"), max_length=24, choices=RemovalReason.choices)
    voluntary = models.BooleanField(_("本人自愿离职"), default=False)
    last_contribution_month = models.DateField(_("末次缴费年月"))

    class Meta:
        verbose_name = _("减员申请")
        verbose_name_plural = _("减员申请")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["review_state", "due_at"], name="remove_filing_queue"),
            # The clerk's default queue: open items by due time (see employers' registrations).
            models.Index(
                fields=["due_at", "id"],
                condition=models.Q(review_state__in=list(OPEN_REVIEW_STATES)),
                name="remove_filing_open_due",
            ),
        ]

    def get_absolute_url(self):
        return reverse("enrollment:remove_detail", kwargs={"reference": self.reference})


def import_upload_to(instance, filename: str) -> str:
    return f"imports/{instance.employer_id}/{uuid.uuid4().hex}.xlsx"


class BatchImport(models.Model):
    """批量增员: one uploaded workbook, processed by a task on the imports queue."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("处理中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("处理失败")

    reference = models.CharField(_("批次编号"), max_length=24, unique=True)
    employer = models.ForeignKey(
        "employers.Employer", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_by = models.ForeignKey(
        "employers.Agent", verbose_name=_("经办人"), on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(_("上传文件"), upload_to=import_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    file_sha256 = models.CharField(_("文件SHA-256"), max_length=64)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理行数"), default=0)
    created_count = models.PositiveIntegerField(_("成功增员"), default=0)
    duplicate_count = models.PositiveIntegerField(_("重复行"), default=0)
    error_count = models.PositiveIntegerField(_("错误行"), default=0)
    report = models.FileField(_("结果报告"), upload_to=import_upload_to, blank=True)
    failure_reason = models.CharField(_("失败原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    # Written when a worker claims the import and after each chunk: a running import whose
    # heartbeat is older than BATCH_IMPORT_LEASE_SECONDS lost its worker and is queued again.
    heartbeat_at = models.DateTimeField(_("最近处理时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("批量增员")
        verbose_name_plural = _("批量增员")
        ordering = ["-created_at"]

    def __str__(self):
        return self.reference

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 0 if self.status != self.Status.DONE else 100
        return min(100, self.processed_rows * 100 // self.total_rows)


def person_change_upload_to(instance, filename: str) -> str:
    """A random name under the unit's folder: the uploader's file name is never used on disk."""
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(
        instance.content_type, "bin"
    )
    return f"person_changes/{instance.employer_id}/{uuid.uuid4().hex}.{extension}"


# The fields a 个人信息变更 may correct, in the order the pages show them.
PERSON_CHANGE_FIELDS = (
    ("name", _("姓名")),
    ("phone", _("手机号")),
    ("hukou_type", _("户籍类型")),
    ("employment_form", _("用工形式")),
)


class PersonChangeFiling(ReviewableModel):
    """个人信息变更: a correction of a person's name, phone, 户籍类型 or 用工形式, reviewed.

    The person's details change only on approval; until then the old ones stay in force. The
    document number is never changed online (at the counter only).
    """

    reference = models.CharField(_("业务编号"), max_length=24, unique=True)
    employer = models.ForeignKey(
        "employers.Employer", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_by = models.ForeignKey(
        "employers.Agent", verbose_name=_("经办人"), on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.UUIDField(_("提交标识"), unique=True)
    person = models.ForeignKey(
        Person, verbose_name=_("参保人员"), on_delete=models.PROTECT, related_name="change_filings"
    )
    # The unit's enrolment of the person: what makes the unit the one to correct the details,
    # and the one whose 用工形式 changes.
    enrolment = models.ForeignKey(
        Enrolment, verbose_name=_("参保登记"), on_delete=models.PROTECT, related_name="+"
    )
    # The new values (unchanged ones as they were); ``changed_fields`` names those that change.
    name = models.CharField(_("姓名"), max_length=50)
    phone = EncryptedTextField(_("手机号"), kind="phone", blank=True)
    hukou_type = models.CharField(_("户籍类型"), max_length=16, choices=HukouType.choices)
    employment_form = models.ForeignKey(
        EmploymentForm, verbose_name=_("用工形式"), on_delete=models.PROTECT, related_name="+"
    )
    changed_fields = models.JSONField(_("变更项目"), default=list)
    # What was in force when the filing was made (the phone masked), for the clerk's old → new.
    previous = models.JSONField(_("变更前信息"), default=dict, blank=True)
    reason = models.CharField(_("变更原因"), max_length=200)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("个人信息变更")
        verbose_name_plural = _("个人信息变更")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["employer", "-created_at"], name="person_change_by_unit"),
            models.Index(fields=["review_state", "due_at"], name="person_change_queue"),
            models.Index(
                fields=["due_at", "id"],
                condition=models.Q(review_state__in=list(OPEN_REVIEW_STATES)),
                name="person_change_open_due",
            ),
        ]

    def __str__(self):
        return f"{self.reference} {self.name}"

    def get_absolute_url(self):
        return reverse("enrollment:person_change_detail", kwargs={"reference": self.reference})

    def review_employer_id(self):
        return self.employer_id

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone) if self.phone else ""

    @property
    def changed_labels(self) -> str:
        labels = dict(PERSON_CHANGE_FIELDS)
        return "、".join(str(labels[name]) for name in self.changed_fields if name in labels)


class PersonChangeAttachment(models.Model):
    """The proof attached to a 个人信息变更 (a scan of the ID card, 户口簿 or contract), checked
    by content (portal.uploads)."""

    filing = models.ForeignKey(
        PersonChangeFiling,
        verbose_name=_("个人信息变更"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    employer_id = models.BigIntegerField(_("单位ID"), db_index=True)
    file = models.FileField(_("文件"), upload_to=person_change_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=50)
    size = models.PositiveIntegerField(_("大小(字节)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("个人信息变更附件")
        verbose_name_plural = _("个人信息变更附件")
        ordering = ["pk"]

    def __str__(self):
        return self.original_name
