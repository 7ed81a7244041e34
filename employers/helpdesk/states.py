"""What every state a unit meets means and what to do next: the help page's explanations.

Each section lists the values of one set of choices; tests check that no value is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from employers.models import Employer, Question, UnitChangeFiling
from portal.models import ReviewState


@dataclass(frozen=True)
class StateGuide:
    value: str
    label: str
    meaning: str
    next_step: str


@dataclass(frozen=True)
class StateSection:
    key: str
    title: str
    intro: str
    states: list[StateGuide]


def _guides(choices: type[models.TextChoices], texts: dict) -> list[StateGuide]:
    return [StateGuide(c.value, c.label, *texts[c.value]) for c in choices]


REVIEW_TEXTS = {
    ReviewState.SUBMITTED: (
        _("申请已提交,系统正在自动预审(核对证件、参保状态、缴费基数上下限等)。"),
        _("无需操作。预审一般在几分钟内完成,请勿重复提交同一业务。"),
    ),
    ReviewState.PRECHECKED: (
        _("自动预审已完成,结果已记录,等待进入人工审核。"),
        _("无需操作。预审结果仅供经办人员参考,最终以人工审核为准。"),
    ),
    ReviewState.PENDING: (
        _("申请在经办机构的审核队列中,一般在1至3个工作日内审核完毕。"),
        _("请留意短信和站内消息。超过审核时限仍未办结的,可在留言板留言或拨打12333咨询。"),
    ),
    ReviewState.APPROVED: (
        _("审核通过,业务已生效。"),
        _("可在站内消息中查看审核结果全文;增员、减员和基数变化会体现在之后的月度核定中。"),
    ),
    ReviewState.REJECTED: (
        _("审核未通过,经办人员已写明审核意见。"),
        _("打开该业务的详情页或站内消息查看审核意见,按意见修改或补充材料后重新提交。"),
    ),
    ReviewState.RESUBMITTED: (
        _("已按审核意见修改并重新提交,重新进入预审和审核。"),
        _("无需操作,等待审核结果。审核时限从重新提交时起算。"),
    ),
}

UNIT_TEXTS = {
    Employer.Status.UNVERIFIED: (
        _("注册信息已保存,尚未完成单位身份认证。"),
        _(
            "凭申请编号打开注册状态页,选择CA数字证书、法定代表人人脸识别或对公账户小额打款"
            "中的一种完成认证后提交。"
        ),
    ),
    Employer.Status.PENDING: (
        _("注册申请已提交,经办机构正在审核。"),
        _("等待短信通知,也可凭申请编号在注册状态页查询进度。"),
    ),
    Employer.Status.REJECTED: (
        _("注册申请未通过审核。"),
        _("在注册状态页查看审核意见,修改后重新提交。"),
    ),
    Employer.Status.APPROVED: (
        _("注册审核通过,单位账号尚未激活。"),
        _("使用单位社保编号和单位管理员的身份证号登录,首次登录即激活。"),
    ),
    Employer.Status.ACTIVE: (
        _("单位账号正常,可以网上办理各项业务。"),
        _("单位管理员可在“经办人管理”中为其他经办人开通账号并分配角色。"),
    ),
    Employer.Status.DISABLED: (
        _("单位账号已停用,暂不能网上办理业务。"),
        _("请携带单位证明材料到参保地经办机构窗口办理,或拨打12333咨询。"),
    ),
}

CHANGE_TEXTS = {
    UnitChangeFiling.Stage.AWAITING_VERIFICATION: (
        _("银行账户变更已保存,正在等待向新账户小额打款验证。"),
        _("查询新账户的入账记录,在变更页面填写收到的金额完成验证;验证后进入审核。"),
    ),
    UnitChangeFiling.Stage.IN_REVIEW: (
        _("变更已提交审核;审核通过前,原联系信息或原缴费账户继续有效。"),
        _("等待审核结果,审核状态的含义见上表。"),
    ),
    UnitChangeFiling.Stage.CANCELLED: (
        _("变更申请已撤销,原信息不变。"),
        _("如仍需变更,请重新提交变更申请。"),
    ),
}

QUESTION_TEXTS = {
    Question.State.OPEN: (
        _(
            "留言已提交或已追问,等待经办机构答复。经办机构在2个工作日内答复,超过时限的会标注"
            "“已超期”并优先处理。"
        ),
        _("等待答复。答复会以短信和站内消息通知提问的经办人。"),
    ),
    Question.State.ANSWERED: (
        _("经办机构已答复。"),
        _("在留言板或站内消息中查看答复全文;仍有疑问可在该留言下继续追问。"),
    ),
    Question.State.CLOSED: (
        _("留言已关闭,不能继续追问。"),
        _("如有新的问题,请重新提交留言。"),
    ),
}


def state_sections() -> list[StateSection]:
    """The sections of the help page on states, in the order a unit meets them."""
    return [
        StateSection(
            "register",
            _("单位注册状态"),
            _("单位在网上注册后,注册状态页和登录页显示以下状态之一。"),
            _guides(Employer.Status, UNIT_TEXTS),
        ),
        StateSection(
            "review",
            _("业务审核状态"),
            _(
                "单位注册、增员、减员、缴费基数申报和单位信息变更都经过同一审核流程,"
                "业务详情页和“已办业务查询”显示以下状态之一。"
            ),
            _guides(ReviewState, REVIEW_TEXTS),
        ),
        StateSection(
            "change",
            _("单位信息变更的办理阶段"),
            _("联系信息和银行账户变更在进入审核前,还可能处于以下阶段。"),
            _guides(UnitChangeFiling.Stage, CHANGE_TEXTS),
        ),
        StateSection(
            "question",
            _("留言状态"),
            _("留言板中的每条留言处于以下状态之一。"),
            _guides(Question.State, QUESTION_TEXTS),
        ),
    ]
