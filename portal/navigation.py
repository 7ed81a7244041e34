"""The portal's modules: top navigation and the left menu of each (DESIGN.md section 1)."""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class MenuItem:
    label: str
    url_name: str = ""
    role: str = ""  # the employers.Role an agent needs to see the item; "" for every agent


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
            MenuItem(_("单位基本信息")),
            MenuItem(_("经办人管理"), role="unit_admin"),
            MenuItem(_("银行账户信息"), role="unit_admin"),
        ],
    ),
    Module(
        "enrollment",
        _("职工参保管理"),
        [
            MenuItem(_("新增参保人员"), role="enrolment"),
            MenuItem(_("批量增员"), role="enrolment"),
            MenuItem(_("人员减员"), role="enrolment"),
            MenuItem(_("参保人员花名册"), role="enrolment"),
        ],
    ),
    Module(
        "contributions",
        _("缴费申报"),
        [
            MenuItem(_("缴费基数申报"), role="contributions"),
            MenuItem(_("月度核定"), role="contributions"),
            MenuItem(_("缴费确认"), role="contributions"),
        ],
    ),
    Module(
        "queries",
        _("查询统计"),
        [
            MenuItem(_("缴费记录查询"), role="queries"),
            MenuItem(_("参保人员查询"), role="queries"),
            MenuItem(_("数据导出"), role="queries"),
        ],
    ),
    Module("benefits", _("待遇申领"), [MenuItem(_("待遇申领"), role="benefits")]),
    Module("proofs", _("打印证明"), [MenuItem(_("参保缴费证明"), role="queries")]),
]


def module_by_key(key: str) -> Module | None:
    return next((module for module in MODULES if module.key == key), None)
