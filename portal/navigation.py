"""The portal's modules: top navigation and the left menu of each (DESIGN.md section 1)."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class MenuItem:
    label: str
    url_name: str = ""  # "" while the item has no page yet
    # The permission (employers.permissions.PERMISSIONS) an agent needs to see the item.
    permission: str = ""


@dataclass(frozen=True)
class Module:
    key: str
    label: str
    items: list[MenuItem] = field(default_factory=list)


MODULES = [
    Module(
        "unit",
        _("单位信息管理"),
        [
            MenuItem(_("单位基本信息"), "unitinfo:info", permission="unit.view"),
            MenuItem(_("经办人管理"), "agents:list", permission="agents.manage"),
            MenuItem(_("银行账户信息"), "unitinfo:bank", permission="unit.view"),
            MenuItem(_("已办业务查询"), "filings", permission="unit.view"),
        ],
    ),
    Module(
        "enrollment",
        _("职工参保管理"),
        [
            MenuItem(_("新增参保人员"), "enrollment:add", permission="enrollment.add"),
            MenuItem(_("批量增员"), "enrollment:batch", permission="enrollment.batch"),
            MenuItem(_("人员减员"), "enrollment:remove", permission="enrollment.remove"),
            MenuItem(_("参保人员花名册"), "enrollment:roster", permission="enrollment.roster"),
            MenuItem(_("人员续保"), "enrollment:resume_list", permission="enrollment.add"),
            MenuItem(
                _("个人信息变更"), "enrollment:person_change_list", permission="enrollment.add"
            ),
        ],
    ),
    Module(
        "contributions",
        _("缴费申报"),
        [
            MenuItem(
                _("缴费基数申报"), "contributions:declaration", permission="contributions.declare"
            ),
            MenuItem(_("月度核定"), "contributions:bill_list", permission="contributions.monthly"),
            MenuItem(_("缴费确认"), "contributions:bill_awaiting", permission="contributions.pay"),
            MenuItem(
                _("补缴申请"), "contributions:backpay_index", permission="contributions.declare"
            ),
        ],
    ),
    Module(
        "queries",
        _("查询统计"),
        [
            MenuItem(_("缴费记录查询"), "contributions:record_list", permission="queries.view"),
            MenuItem(_("参保人员查询"), "contributions:person_search", permission="queries.view"),
            MenuItem(_("数据导出"), "contributions:export_list", permission="queries.export"),
        ],
    ),
    Module(
        "benefits",
        _("待遇申领"),
        [
            MenuItem(_("待遇申领"), "contributions:benefit_index", permission="benefits.claim"),
            MenuItem(
                _("生育津贴申领"), "contributions:benefit_maternity", permission="benefits.claim"
            ),
            MenuItem(
                _("工伤认定申请"), "contributions:benefit_recognition", permission="benefits.claim"
            ),
            MenuItem(
                _("工伤待遇申领"),
                "contributions:benefit_injury_claims",
                permission="benefits.claim",
            ),
        ],
    ),
    Module(
        "proofs",
        _("打印证明"),
        [MenuItem(_("参保缴费证明"), "contributions:proof_list", permission="proofs.print")],
    ),
]


def module_by_key(key: str) -> Module | None:
    return next((module for module in MODULES if module.key == key), None)


def modules_for(allowed: Callable[[str], bool]) -> list[Module]:
    """Return the modules with only the items that have a page and whose permission ``allowed``
    grants; empty ones go (no menu leads nowhere)."""
    modules = []
    for module in MODULES:
        items = [item for item in module.items if item.url_name and allowed(item.permission)]
        if items:
            modules.append(replace(module, items=items))
    return modules
