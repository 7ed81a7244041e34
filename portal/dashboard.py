"""The workbench's figures: the unit's agents and the "needs attention" list (DESIGN.md section
14, issue 16 item 8).

Each figure is asked only when the agent's roles let it act on the answer, so the page costs the
same whatever the unit holds: the filings by outcome in one query, and every other figure the
agent's roles call for in a second one, a row of scalar subqueries whose SQL is compiled once per
process for each set of roles. Items with nothing to report are left out; the list is empty when
all is done.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from typing import NamedTuple

from django.core.signals import setting_changed
from django.db.models import F, Func, IntegerField, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from contributions.billing.selectors import bill_list_for_agent
from contributions.declarations.selectors import declaration_due_list, declaration_season_start
from employers.accounts.lockout import locked_agent_lock_list
from employers.agents.selectors import agent_list_for_agent
from employers.models import Agent, Employer, RegistrationApplication, VerificationMethod
from employers.permissions import agent_has_permission
from portal.compiled_sql import CompiledQuery
from portal.filings import Outcome, filings_counts

CERTIFICATE_WARNING = datetime.timedelta(days=30)


@dataclass(frozen=True)
class AttentionItem:
    key: str
    text: str
    url: str
    level: str = "warning"  # "danger", "warning" or "info": the badge colour


class AttentionRow(NamedTuple):
    """An attention item as the dashboard's list prints it (for_rows): its badge's level tested
    as fields (the template compared the level's text for each item)."""

    key: str
    level: str
    danger: bool
    info: bool
    url: str
    text: str


def attention_rows(items: list[AttentionItem]) -> list[AttentionRow]:
    return [
        AttentionRow(
            item.key, item.level, item.level == "danger", item.level == "info", item.url, item.text
        )
        for item in items
    ]


def _url(name: str, query: str = "") -> str:
    url = _reversed(name, get_script_prefix(), get_urlconf(), get_language())
    return url + (f"?{query}" if query else "")


@functools.lru_cache(maxsize=64)
def _reversed(name: str, prefix: str, urlconf, language: str) -> str:
    """reverse(name) once per process for a script prefix, urlconf and language (the list's
    few links each cost reverse() ~15 us on every dashboard)."""
    return reverse(name, urlconf=urlconf)


def _reversed_clear(**kwargs) -> None:
    _reversed.cache_clear()  # ROOT_URLCONF may have changed (tests)


setting_changed.connect(_reversed_clear)


# The unit's status labels (lazy: translated when printed), read once per process.
_STATUS_LABELS = dict(Employer.Status.choices)


def employer_status_label(employer: Employer) -> str:
    """The unit's status as employer.get_status_display() gives it (the value itself when it is
    not a known status)."""
    return str(_STATUS_LABELS.get(employer.status, employer.status))


@dataclass(frozen=True)
class Dashboard:
    agent_counts: dict[str, int] | None  # total and active; for those who manage the agents
    attention: list[AttentionItem]


def _count(queryset: QuerySet) -> Subquery:
    # COUNT over the rows without a GROUP BY: 0, not NULL, when there are none.
    rows = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Subquery(rows, output_field=IntegerField())


def _figure_columns(*, unit, region=None, season_start=None, now=None, pay, declare, manage):
    columns = {}
    if pay:
        columns["bills"] = _count(bill_list_for_agent(agent=Agent(employer_id=unit), awaiting=True))
    if declare:
        due = declaration_due_list(employer_id=unit, region_id=region, season_start=season_start)
        columns["due_starts_on"] = Subquery(due.values("starts_on")[:1])
        columns["due_ends_on"] = Subquery(due.values("ends_on")[:1])
    if manage:
        agents = agent_list_for_agent(agent=Agent(employer_id=unit))
        columns["agents_total"] = _count(agents)
        columns["agents_active"] = _count(agents.filter(is_active=True))
        columns["locked"] = _count(locked_agent_lock_list(employer_id=unit, now=now))
        # Only the expiry: the evidence of a CA registration holds the whole certificate.
        columns["certificate_not_after"] = Subquery(
            RegistrationApplication.objects.filter(
                employer_id=unit, verification_method=VerificationMethod.CA
            )
            .order_by("pk")
            .values(not_after=KT("verification_evidence__not_after"))[:1]
        )
    return columns


@functools.cache
def _figures_query(pay: bool, declare: bool, manage: bool) -> tuple[CompiledQuery, list[str]]:
    """The figures' query for one set of roles, compiled once per process, and the names of
    its columns (known once it has been compiled, before its first rows)."""
    names: list[str] = []

    def build(**sentinels):
        columns = _figure_columns(**sentinels, pay=pay, declare=declare, manage=manage)
        names[:] = columns
        return (
            Employer.objects.filter(pk=sentinels["unit"]).annotate(**columns).values_list(*columns)
        )

    typed = {}
    if declare:
        typed.update(region=int, season_start=datetime.date)
    if manage:
        typed.update(now=datetime.datetime)
    return CompiledQuery(build, "unit", **typed), names


def _figures(agent, *, now: datetime.datetime, pay: bool, declare: bool, manage: bool) -> dict:
    """The figures the agent's roles call for, by column name (one query; none without roles
    that call for any)."""
    if not (pay or declare or manage):
        return {}
    values = {"unit": agent.employer_id}
    if declare:
        values.update(
            region=agent.employer.region_id,
            season_start=declaration_season_start(timezone.localdate(now)),
        )
    if manage:
        values.update(now=now)
    query, names = _figures_query(pay, declare, manage)
    (row,) = query.rows(**values)
    return dict(zip(names, row, strict=True))


def dashboard_for_agent(agent, *, now: datetime.datetime | None = None) -> Dashboard:
    """The agent's counts (for those who manage agents) and what it should look at now, most
    urgent first; two queries at most."""
    now = now or timezone.now()
    allowed = lambda permission: agent_has_permission(agent, permission)  # noqa: E731
    pay, declare, manage = (
        allowed("contributions.pay"),
        allowed("contributions.declare"),
        allowed("agents.manage"),
    )
    figures = _figures(agent, now=now, pay=pay, declare=declare, manage=manage)
    items: list[AttentionItem] = []

    counts = filings_counts(employer_id=agent.employer_id, outcomes=[Outcome.REFUSED, Outcome.OPEN])
    if counts[Outcome.REFUSED]:
        items.append(
            AttentionItem(
                "refused",
                _("%(n)d 项业务审核未通过,请查看审核意见并修改后重新提交")
                % {"n": counts[Outcome.REFUSED]},
                _url("filings", "outcome=refused"),
                "danger",
            )
        )
    if counts[Outcome.OPEN]:
        items.append(
            AttentionItem(
                "open",
                _("%(n)d 项业务正在审核中") % {"n": counts[Outcome.OPEN]},
                _url("filings", "outcome=open"),
                "info",
            )
        )
    if figures.get("bills"):
        items.append(
            AttentionItem(
                "bills",
                _("%(n)d 张核定单待确认或待缴费") % {"n": figures["bills"]},
                _url("contributions:bill_awaiting"),
            )
        )
    if figures.get("due_starts_on") is not None:
        items.append(
            AttentionItem(
                "declaration",
                _("%(start)s 至 %(end)s 缴费基数尚未申报")
                % {
                    "start": f"{figures['due_starts_on']:%Y-%m}",
                    "end": f"{figures['due_ends_on']:%Y-%m}",
                },
                _url("contributions:declaration"),
            )
        )
    if figures.get("locked"):
        items.append(
            AttentionItem(
                "locked",
                _("%(n)d 名经办人登录已被锁定,可在经办人管理中查看") % {"n": figures["locked"]},
                _url("agents:list"),
            )
        )
    expiry = _certificate_expiry(figures.get("certificate_not_after"))
    if expiry is not None and expiry <= now + CERTIFICATE_WARNING:
        local = timezone.localtime(expiry)
        text = (
            _("本单位CA数字证书已于 %(date)s 过期,请到CA机构办理更新")
            if expiry <= now
            else _("本单位CA数字证书将于 %(date)s 到期,请及时到CA机构办理更新")
        )
        items.append(
            AttentionItem(
                "certificate", text % {"date": f"{local:%Y-%m-%d}"}, _url("help:faq"), "danger"
            )
        )
    agent_counts = None
    if manage:
        agent_counts = {"total": figures["agents_total"], "active": figures["agents_active"]}
    return Dashboard(agent_counts=agent_counts, attention=items)


def _certificate_expiry(not_after: str | None) -> datetime.datetime | None:
    """When the certificate the unit registered with by CA expires, as its evidence says."""
    if not not_after:
        return None
    try:
        return datetime.datetime.fromisoformat(not_after)
    except (TypeError, ValueError):
        return None
