"""Bulk decisions (portal.review_bulk): the rows of single decisions, written set-based."""

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from employers.models import RegistrationApplication, Role
from enrollment.models import AddEmployeeFiling, Enrolment, RemovalReason, RemoveEmployeeFiling
from enrollment.removal.services import remove_employee_filing_submit
from portal.models import (
    AuditEvent,
    InboxMessage,
    Notification,
    ReviewState,
    ReviewTransition,
)
from portal.review import review_decide
from portal.review_bulk import bulk_decision_messages, review_decide_many
from tests.conftest import otp_verify
from tests.enrollment.add_helpers import this_month, unit_with_agent
from tests.enrollment.enrolment_helpers import create_enrolment
from tests.factories import (
    RegionFactory,
    create_agent,
    create_clerk,
    create_employer,
    create_submitted_application,
)
from tests.portal.review_helpers import add_filings

pytestmark = pytest.mark.django_db

# Statements of a bulk approval of 增员 filings, whatever their number: the clerk (loaded by the
# test), permissions (2) and regions, the lock, the enrolments (lock, update, history), the
# filings' update, an insert each for transitions, audit events, outbox rows and inbox messages
# (two on PostgreSQL: ids from the sequence, then COPY), and the savepoint: 15, or 19.
BULK_QUERIES = 19


@pytest.fixture
def agent():
    return unit_with_agent()[1]


@pytest.fixture
def clerk():
    return create_clerk()


def fresh(user):
    """The same user without cached permissions, as a new request has it."""
    return get_user_model().objects.get(pk=user.pk)


def clerk_request(user):
    request = RequestFactory().post("/admin/", REMOTE_ADDR="10.1.2.3")
    request.user = user
    return request


def _last_pk(model, field="pk"):
    return model.objects.order_by(f"-{field}").values_list(field, flat=True).first() or 0


def written_by(decide, model, items) -> dict:
    """What ``decide()`` writes about ``items``, compared field by field; then rolled back."""
    marks = {
        "transition": _last_pk(ReviewTransition),
        "audit": _last_pk(AuditEvent),
        "notification": _last_pk(Notification),
        "inbox": _last_pk(InboxMessage),
        "history": _last_pk(Enrolment.history.model, "history_id"),
    }
    pks = [item.pk for item in items]
    with transaction.atomic():
        decide()
        rows = {
            "items": sorted(
                model.objects.filter(pk__in=pks).values_list(
                    "pk", "review_state", "decided_by_id", "review_comment", "is_overdue"
                )
            ),
            "decided_at_set": not model.objects.filter(pk__in=pks, decided_at=None).exists(),
            "transitions": sorted(
                ReviewTransition.objects.filter(pk__gt=marks["transition"]).values_list(
                    "content_type_id",
                    "object_id",
                    "action",
                    "from_state",
                    "to_state",
                    "actor_id",
                    "actor_label",
                    "comment",
                )
            ),
            "audit": sorted(
                (e.action, e.actor_id, e.actor_label, e.employer_id, e.outcome)
                + (e.object_type, e.object_id, e.ip_address, json.dumps(e.details, sort_keys=True))
                for e in AuditEvent.objects.filter(pk__gt=marks["audit"])
            ),
            "notifications": sorted(
                (n.channel, n.template, n.recipient, n.subject, n.body, n.employer_id, n.status)
                for n in Notification.objects.filter(pk__gt=marks["notification"])
            ),
            "inbox": sorted(
                (m.employer_id, m.agent_id, m.category, m.template, m.title, m.body, m.reference)
                for m in InboxMessage.objects.filter(pk__gt=marks["inbox"])
            ),
            "enrolments": sorted(Enrolment.objects.values_list("pk", "status")),
            "history": sorted(
                Enrolment.history.filter(history_id__gt=marks["history"]).values_list(
                    "id", "history_type", "history_user_id", "history_change_reason", "status"
                )
            ),
        }
        transaction.set_rollback(True)
    return rows


def one_by_one(model, items, clerk, decision, comment=""):
    def decide():
        for item in items:
            review_decide(
                model=model,
                pk=item.pk,
                actor=fresh(clerk),
                decision=decision,
                comment=comment,
                request=clerk_request(clerk),
            )

    return decide


def together(model, items, clerk, decision, comment=""):
    def decide():
        result = review_decide_many(
            model=model,
            pks=[item.pk for item in items],
            actor=fresh(clerk),
            decision=decision,
            comment=comment,
            request=clerk_request(clerk),
        )
        assert len(result.decided) == len(items)

    return decide


@pytest.mark.parametrize(
    ("decision", "comment"), [("approve", ""), ("reject", "请补充劳动合同首页")]
)
def test_bulk_writes_the_rows_of_single_decisions_for_add_filings(agent, clerk, decision, comment):
    filings = add_filings(agent, 4)
    single = written_by(
        one_by_one(AddEmployeeFiling, filings, clerk, decision, comment), AddEmployeeFiling, filings
    )
    bulk = written_by(
        together(AddEmployeeFiling, filings, clerk, decision, comment), AddEmployeeFiling, filings
    )
    assert bulk == single
    assert len(bulk["transitions"]) == len(bulk["notifications"]) == len(bulk["inbox"]) == 4
    assert len(bulk["history"]) == 4
    expected = Enrolment.Status.ACTIVE if decision == "approve" else Enrolment.Status.CANCELLED
    assert {status for _pk, status in bulk["enrolments"]} == {expected}


def test_bulk_writes_the_rows_of_single_decisions_through_per_item_hooks(
    clerk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        applications = [create_submitted_application() for _ in range(3)]
    model = RegistrationApplication
    single = written_by(one_by_one(model, applications, clerk, "approve"), model, applications)
    bulk = written_by(together(model, applications, clerk, "approve"), model, applications)
    assert bulk == single
    assert len(bulk["notifications"]) == 3


def test_bulk_approval_takes_the_same_statements_for_5_and_50_filings(
    agent, clerk, django_assert_max_num_queries
):
    few, many = add_filings(agent, 5), add_filings(agent, 50)
    model = AddEmployeeFiling
    with CaptureQueriesContext(connection) as for_few:
        review_decide_many(
            model=model, pks=[f.pk for f in few], actor=fresh(clerk), decision="approve"
        )
    with django_assert_max_num_queries(BULK_QUERIES), CaptureQueriesContext(connection) as for_many:
        result = review_decide_many(
            model=model, pks=[f.pk for f in many], actor=fresh(clerk), decision="approve"
        )
    assert len(result.decided) == 50
    assert len(for_many) == len(for_few)


def test_bulk_skips_and_names_items_decided_by_someone_else(agent, clerk):
    filings = add_filings(agent, 3)
    other = create_clerk("li")
    review_decide(
        model=AddEmployeeFiling, pk=filings[1].pk, actor=other, decision="reject", comment="缺附件"
    )
    result = review_decide_many(
        model=AddEmployeeFiling, pks=[f.pk for f in filings], actor=clerk, decision="approve"
    )
    assert sorted(f.pk for f in result.decided) == [filings[0].pk, filings[2].pk]
    assert result.skipped == [(filings[1].reference, result.skipped[0][1])]
    assert "li" in result.skipped[0][1] and "审核未通过" in result.skipped[0][1]
    filings[1].refresh_from_db()
    assert filings[1].review_state == ReviewState.REJECTED and filings[1].decided_by == other
    transitions = ReviewTransition.objects.filter(object_id=filings[1].pk, action="approve")
    assert not transitions.exists()
    warning = dict(bulk_decision_messages(result))["warning"]
    assert "1 件已由他人处理" in warning and filings[1].reference in warning


def test_an_item_refused_by_its_hook_is_left_as_it_was_and_the_others_are_decided(clerk):
    agent = create_agent(create_employer(), roles=[Role.ENROLMENT])
    enrolments = [create_enrolment(agent.employer) for _ in range(3)]
    filings = [
        remove_employee_filing_submit(
            agent=agent,
            idempotency_key=uuid.uuid4(),
            enrolment=enrolment,
            reason=RemovalReason.CONTRACT_TERMINATED,
            voluntary=True,
            last_contribution_month=this_month(),
        )
        for enrolment in enrolments
    ]
    # Ended meanwhile (another way out of the unit): approving its removal is refused.
    Enrolment.objects.filter(pk=enrolments[0].pk).update(status=Enrolment.Status.TERMINATED)
    result = review_decide_many(
        model=RemoveEmployeeFiling, pks=[f.pk for f in filings], actor=clerk, decision="approve"
    )
    assert sorted(f.pk for f in result.decided) == [filings[1].pk, filings[2].pk]
    assert [label for label, _reason in result.refused] == [filings[0].reference]
    filings[0].refresh_from_db()
    assert filings[0].review_state == ReviewState.SUBMITTED
    assert not ReviewTransition.objects.filter(object_id=filings[0].pk, action="approve").exists()
    assert Notification.objects.filter(template="remove_employee_approved").count() == 2
    statuses = dict(Enrolment.objects.values_list("pk", "status"))
    assert [statuses[e.pk] for e in enrolments[1:]] == [Enrolment.Status.TERMINATED] * 2


def test_bulk_rejection_requires_a_comment(agent, clerk):
    filings = add_filings(agent, 1)
    with pytest.raises(ValidationError):
        review_decide_many(
            model=AddEmployeeFiling, pks=[filings[0].pk], actor=clerk, decision="reject"
        )


def test_a_clerk_of_another_region_decides_nothing_and_the_attempt_is_audited(agent):
    filings = add_filings(agent, 2)
    outsider = create_clerk("sh", regions=[RegionFactory(code="310000", name="上海市(测试)")])
    result = review_decide_many(
        model=AddEmployeeFiling, pks=[f.pk for f in filings], actor=outsider, decision="approve"
    )
    assert not result.decided and len(result.refused) == 2
    assert AuditEvent.objects.filter(action="review.approve", outcome="failure").count() == 2
    assert not AddEmployeeFiling.objects.filter(review_state=ReviewState.APPROVED).exists()


def test_admin_bulk_approval_shows_what_was_decided_and_skipped(client, agent, clerk):
    filings = add_filings(agent, 3)
    review_decide(
        model=AddEmployeeFiling,
        pk=filings[0].pk,
        actor=create_clerk("wang"),
        decision="approve",
    )
    otp_verify(client, clerk)
    response = client.post(
        reverse("admin:enrollment_addemployeefiling_changelist"),
        {"action": "approve_selected", "_selected_action": [str(f.pk) for f in filings]},
        follow=True,
    )
    page = response.content.decode()
    assert "已审核通过 2 件" in page
    assert "1 件已由他人处理" in page and filings[0].reference in page
    assert AddEmployeeFiling.objects.filter(review_state=ReviewState.APPROVED).count() == 3


def test_admin_bulk_rejection_asks_for_a_comment_then_rejects(client, agent, clerk):
    filings = add_filings(agent, 2)
    otp_verify(client, clerk)
    url = reverse("admin:enrollment_addemployeefiling_changelist")
    selected = [str(f.pk) for f in filings]
    ask = client.post(url, {"action": "reject_selected", "_selected_action": selected})
    assert "填写审核意见" in ask.content.decode()
    done = client.post(
        url,
        {"action": "reject_selected", "_selected_action": selected, "comment": "请补充附件"},
        follow=True,
    )
    assert "已不予通过 2 件" in done.content.decode()
    assert set(AddEmployeeFiling.objects.values_list("review_state", "review_comment")) == {
        (ReviewState.REJECTED, "请补充附件")
    }


def test_bulk_notifications_are_sent_after_commit_once_each(
    agent, clerk, sms_outbox, django_capture_on_commit_callbacks
):
    filings = add_filings(agent, 3)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        review_decide_many(
            model=AddEmployeeFiling, pks=[f.pk for f in filings], actor=clerk, decision="approve"
        )
    assert callbacks and not sms_outbox
    for callback in callbacks:
        callback()
    texts = [message.text for message in sms_outbox]
    assert len(texts) == 3
    for filing in filings:
        assert sum(filing.reference in text for text in texts) == 1
    statuses = Notification.objects.filter(template="add_employee_approved")
    assert set(statuses.values_list("status", flat=True)) == {Notification.Status.DELIVERED}
