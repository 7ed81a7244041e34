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
from portal.identifiers import mask_phone


@admin.register(OpenedAccount)
class OpenedAccountAdmin(admin.ModelAdmin):
    list_display = ["ss_number", "uscc", "name", "region", "legal_rep_name", "opened_on"]
    list_filter = ["region"]
    search_fields = ["ss_number", "uscc", "name"]
    list_select_related = ["region"]
    date_hierarchy = "opened_on"


class AgentInline(admin.TabularInline):
    model = Agent
    fields = ["name", "masked_id_number", "masked_phone", "roles", "is_active"]
    readonly_fields = ["name", "masked_id_number", "masked_phone", "roles"]
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
    readonly_fields = ["account", "name", "uscc", "ss_number", "region", "created_at"]
    inlines = [AgentInline]

    @admin.display(description=_("联系人手机号"))
    def masked_contact_phone(self, obj):
        return mask_phone(obj.contact_phone)


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["name", "employer", "masked_id_number", "masked_phone", "is_active", "locked"]
    list_filter = ["is_active", "employer__region"]
    search_fields = ["name", "employer__name", "employer__ss_number"]
    list_select_related = ["employer", "user"]
    readonly_fields = ["user", "employer", "created_at"]
    exclude = ["id_number_index", "phone_index"]
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
