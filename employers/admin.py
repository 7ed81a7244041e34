from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from employers.accounts.lockout import agent_unlock
from employers.helpdesk import admin as helpdesk_admin  # noqa: F401 (the 留言板 queue)
from employers.models import Agent, Employer, LoginLock, OpenedAccount
from employers.registration import admin as registration_admin  # noqa: F401 (the queue)
from employers.unitinfo import admin as unitinfo_admin  # noqa: F401 (change filings)
from employers.verification import admin as verification_admin  # noqa: F401 (CA roots, CRLs)
from portal.identifiers import mask_id_number, mask_phone


@admin.register(OpenedAccount)
class OpenedAccountAdmin(admin.ModelAdmin):
    list_display = ["ss_number", "uscc", "name", "region", "legal_rep_name", "opened_on"]
    list_filter = ["region"]
    search_fields = ["ss_number", "uscc", "name"]
    list_select_related = ["region"]
    date_hierarchy = "opened_on"


class RoleLabelsMixin:
    @admin.display(description=_("角色"))
    def role_labels(self, agent) -> str:
        """The agent's roles by their Chinese names (the field itself is a list of codes)."""
        return _("、").join(str(label) for label in agent.role_labels()) or "—"


class AgentInline(RoleLabelsMixin, admin.TabularInline):
    model = Agent
    fields = ["name", "masked_id_number", "masked_phone", "role_labels", "is_active"]
    readonly_fields = ["name", "masked_id_number", "masked_phone", "role_labels", "is_active"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("身份证号"))
    def masked_id_number(self, obj):
        return obj.masked_id_number

    @admin.display(description=_("手机号"))
    def masked_phone(self, obj):
        return obj.masked_phone


@admin.register(Employer)
class EmployerAdmin(admin.ModelAdmin):
    list_display = ["name", "ss_number", "uscc", "region", "status", "masked_contact_phone"]
    list_filter = ["status", "region"]
    search_fields = ["name", "ss_number", "uscc"]
    list_select_related = ["region"]
    # Read-only with personal data masked: a unit's details change through filings (单位信息变更)
    # or at the counter, never by editing the row.
    fields = [
        "name",
        "uscc",
        "ss_number",
        "region",
        "legal_rep_name",
        "masked_legal_rep_id_number",
        "contact_name",
        "masked_contact_phone",
        "address",
        "contact_email",
        "bank_name",
        "masked_bank_account",
        "bank_account_name",
        "status",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [AgentInline]

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("联系人手机号"))
    def masked_contact_phone(self, obj):
        return mask_phone(obj.contact_phone)

    @admin.display(description=_("法定代表人身份证号"))
    def masked_legal_rep_id_number(self, obj):
        return mask_id_number(obj.legal_rep_id_number)

    @admin.display(description=_("银行账号"))
    def masked_bank_account(self, obj):
        return obj.masked_bank_account


class LockedFilter(admin.SimpleListFilter):
    title = _("登录锁定")
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return [("yes", _("已锁定"))]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        return queryset.filter(
            Q(lock_held=True)
            | Q(lock_until__gt=timezone.now())
            | Q(lock_held__isnull=True, login_failures__gte=settings.AXES_FAILURE_LIMIT)
        )


@admin.register(Agent)
class AgentAdmin(RoleLabelsMixin, admin.ModelAdmin):
    list_display = ["name", "employer", "masked_id_number", "masked_phone", "is_active", "locked"]
    list_filter = ["is_active", LockedFilter, "employer__region"]
    search_fields = ["name", "employer__name", "employer__ss_number"]
    list_select_related = ["employer", "user"]
    # Roles are the unit administrator's to give (经办人管理); clerks see them and may disable
    # an agent. ID number and phone are shown masked.
    fields = [
        "name",
        "employer",
        "masked_id_number",
        "masked_phone",
        "role_labels",
        "is_active",
        "created_at",
    ]
    readonly_fields = [
        "name",
        "employer",
        "masked_id_number",
        "masked_phone",
        "role_labels",
        "created_at",
    ]
    actions = ["unlock_agents"]

    def get_queryset(self, request):
        # django-axes keeps failures under the agent's login name (employers.accounts.backends).
        failures = (
            AccessAttempt.objects.filter(username=OuterRef("user__username"))
            .values("username")
            .annotate(total=Sum("failures_since_start"))
            .values("total")
        )
        locks = LoginLock.objects.filter(key=OuterRef("user__username"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                login_failures=Coalesce(Subquery(failures), 0),
                lock_held=Subquery(locks.values("held")[:1]),
                lock_until=Subquery(locks.values("locked_until")[:1]),
            )
        )

    @admin.display(description=_("登录锁定"), boolean=True)
    def locked(self, obj):
        if obj.lock_held is None:  # no timed lock: failures counted to the limit hold
            return obj.login_failures >= settings.AXES_FAILURE_LIMIT
        return obj.lock_held or (obj.lock_until is not None and obj.lock_until > timezone.now())

    @admin.action(description=_("解除所选经办人的登录锁定"), permissions=["change"])
    def unlock_agents(self, request, queryset):
        unlocked = 0
        locked = Q(login_failures__gt=0) | Q(lock_held__isnull=False)
        for agent in queryset.filter(locked).select_related("user"):
            agent_unlock(agent=agent, actor=request.user, request=request, via="admin")
            unlocked += 1
        self.message_user(
            request,
            _("已解除 %(count)d 名经办人的登录锁定(清除失败记录)。") % {"count": unlocked},
            messages.SUCCESS,
        )

    @admin.display(description=_("身份证号"))
    def masked_id_number(self, obj):
        return obj.masked_id_number

    @admin.display(description=_("手机号"))
    def masked_phone(self, obj):
        return obj.masked_phone
