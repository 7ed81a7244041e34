"""Demo data of the help pages, the 留言板 and the 站内消息 (for ``manage.py seed_demo``)."""

from __future__ import annotations

import datetime
import uuid

from django.utils import timezone

from employers.helpdesk.services import question_answer, question_ask
from employers.models import Agent, Employer, Question, QuestionTopic
from portal.inbox import inbox_message_create
from portal.models import InboxMessage, Region

DEMO_REGION_CONTACT = ("010-12333", "工作日 8:30–12:00,13:30–17:00(法定节假日除外)")
DEMO_QUESTION_KEY = uuid.UUID("5eed0000-0000-4000-8000-00000000a001")


def helpdesk_seed_demo(*, region: Region, employer: Employer, agent: Agent, clerk) -> Question:
    """The region's hotline and hours, an answered question, a few inbox messages; idempotent."""
    if not region.hotline:
        region.hotline, region.service_hours = DEMO_REGION_CONTACT
        region.save(update_fields=["hotline", "service_hours"])
    if not InboxMessage.objects.filter(employer_id=employer.pk).exists():
        _inbox_seed_demo(employer=employer, agent=agent)
    question = Question.objects.filter(idempotency_key=DEMO_QUESTION_KEY).first()
    if question is None:
        question = question_ask(
            agent=agent,
            topic=QuestionTopic.CONTRIBUTIONS,
            subject="新入职职工当月的缴费记录什么时候能查到?",
            text=(
                "本月10日为一名新入职职工办理了增员,已审核通过,但在缴费记录查询里查不到"
                "该职工本月的记录,请问是什么原因?"
            ),
            idempotency_key=DEMO_QUESTION_KEY,
        )
        question_answer(
            question=question,
            clerk=clerk,
            text=(
                "您好。缴费记录在费款到账后生成:增员审核通过后,该职工会计入下一次月度核定,"
                "单位确认核定单并扣款,银行到账(一般3至5个工作日)后即可查到。"
                "可在“缴费记录查询”中选择该职工和月份查看记录缺失的具体原因。"
            ),
        )
    return question


def _inbox_seed_demo(*, employer: Employer, agent: Agent) -> None:
    now = timezone.now()
    unit = employer.name
    messages = [
        (
            "registration_approved",
            {"unit": unit, "reference": "ZC20260301DEMO0001", "date": "2026-03-02"},
            30,
        ),
        (
            "add_employee_approved",
            {"unit": unit, "reference": "ZY20260310DEMO0001", "name": "李**", "date": "2026-03-11"},
            3,
        ),
        (
            "add_employee_rejected",
            {
                "unit": unit,
                "reference": "ZY20260312DEMO0002",
                "name": "王**",
                "comment": "劳动合同扫描件不清晰,请重新扫描后上传。",
            },
            1,
        ),
    ]
    for template, context, days_ago in messages:
        inbox_message_create(
            employer_id=employer.pk,
            template=template,
            context=context,
            created_at=now - datetime.timedelta(days=days_ago),
        )
