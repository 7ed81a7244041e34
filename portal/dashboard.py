"""The workbench's "needs attention" list (DESIGN.md section 14, issue 16 item 8).

Each item is one query at most and is asked only when the agent's roles let it act on the
answer, so the page costs the same whatever the unit holds. Items with nothing to report are
left out; the list is empty when all is done.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from contributions.billing.selectors import bill_list_for_agent
from contributions.declarations.selectors import declaration_due_for_agent
from employers.accounts.lockout import locked_agent_count
from employers.models import RegistrationApplication, VerificationMethod
from employers.permissions import agent_has_permission
from portal.filings import Outcome, filings_counts

CERTIFICATE_WARNING = datetime.timedelta(days=30)


@dataclass(frozen=True)
class AttentionItem:
    key: str
    text: str
    url: str
    level: str = "warning"  # "danger", "warning" or "info": the badge colour


def _url(name: str, query: str = "") -> str:
    return reverse(name) + (f"?{query}" if query else "")


def attention_items(agent, *, now: datetime.datetime | None = None) -> list[AttentionItem]:
    """What the agent should look at now, most urgent first."""
    now = now or timezone.now()
    allowed = lambda permission: agent_has_permission(agent, permission)  # noqa: E731
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
    if allowed("contributions.pay"):
        awaiting = bill_list_for_agent(agent=agent, awaiting=True).count()
        if awaiting:
            items.append(
                AttentionItem(
                    "bills",
                    _("%(n)d 张核定单待确认或待缴费") % {"n": awaiting},
                    _url("contributions:bill_awaiting"),
                )
            )
    if allowed("contributions.declare"):
        period = declaration_due_for_agent(agent=agent, today=timezone.localdate(now))
        if period is not None:
            items.append(
                AttentionItem(
                    "declaration",
                    _("%(start)s 至 %(end)s 缴费基数尚未申报")
                    % {"start": f"{period.starts_on:%Y-%m}", "end": f"{period.ends_on:%Y-%m}"},
                    _url("contributions:declaration"),
                )
            )
    if allowed("agents.manage"):
        locked = locked_agent_count(employer_id=agent.employer_id, now=now)
        if locked:
            items.append(
                AttentionItem(
                    "locked",
                    _("%(n)d 名经办人登录已被锁定,可在经办人管理中查看") % {"n": locked},
                    _url("agents:list"),
                )
            )
        expiry = _certificate_expiry(agent.employer)
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
    return items


def _certificate_expiry(employer) -> datetime.datetime | None:
    """When the certificate the unit registered with expires, if it registered by CA (1 query)."""

    evidence = (
        RegistrationApplication.objects.filter(
            employer_id=employer.pk, verification_method=VerificationMethod.CA
        )
        .values_list("verification_evidence", flat=True)
        .first()
    )
    if not evidence or not evidence.get("not_after"):
        return None
    try:
        return datetime.datetime.fromisoformat(evidence["not_after"])
    except (TypeError, ValueError):
        return None
