"""The review workflow (portal.review) on unit registrations."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from employers.models import Employer, RegistrationApplication
from portal.models import (
    AuditEvent,
    Notification,
    ReviewPolicy,
    ReviewState,
    ReviewTransition,
    WorkdayOverride,
)
from portal.review import (
    review_decide,
    review_due_at,
    review_history,
    review_policy_for,
    review_submit_many,
    review_watch_deadlines,
)
from portal.review_bulk import review_decide_many
from tests.factories import (
    RegionFactory,
    create_clerk,
    create_employer,
    create_submitted_application,
)

pytestmark = pytest.mark.django_db

Model = RegistrationApplication


@pytest.fixture
def application(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return create_submitted_application()


@pytest.fixture
def clerk():
    return create_clerk()


def refresh(item):
    item.refresh_from_db()
    return item


def test_submission_is_prechecked_and_queued_for_a_clerk(application):
    application = refresh(application)
    assert application.review_state == ReviewState.PENDING
    assert application.prechecks_passed is True
    assert {r["key"] for r in application.precheck_results} == {
        "registry_match",
        "no_duplicate",
        "evidence",
    }
    assert [t.action for t in review_history(application)] == ["submit", "precheck", "queue"]
    assert application.employer.status == Employer.Status.PENDING


def test_precheck_waits_for_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        application = create_submitted_application()
    assert refresh(application).review_state == ReviewState.SUBMITTED
    assert callbacks, "the pre-check task is queued after commit"


def test_due_time_counts_working_days_over_holidays_and_adjusted_weekends():
    # Submitted Friday 2026-06-05: Saturday 06-06 is an adjusted working day (调休), Monday
    # 06-08 works, Tuesday 06-09 is a holiday, so the third working day is Wednesday 06-10.
    WorkdayOverride.objects.create(date=datetime.date(2026, 6, 6), is_working_day=True)
    WorkdayOverride.objects.create(date=datetime.date(2026, 6, 9), is_working_day=False)
    tz = timezone.get_current_timezone()
    submitted = datetime.datetime(2026, 6, 5, 10, 0, tzinfo=tz)
    due = timezone.localtime(review_due_at(submitted, 3))
    assert due.date() == datetime.date(2026, 6, 10)
    assert due.time() == datetime.time(17, 30)


def test_region_policy_sets_the_time_limit(django_capture_on_commit_callbacks):
    region = RegionFactory()
    ReviewPolicy.objects.create(
        item_type="employers.registrationapplication", region=region, due_working_days=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        application = create_submitted_application(
            create_employer(status=Employer.Status.UNVERIFIED, region=region)
        )
    submitted = timezone.localdate(application.submitted_at)
    assert timezone.localdate(refresh(application).due_at) > submitted


def test_policy_terms_prefer_the_region_then_the_type_then_the_setting(settings):
    def terms(region_id):
        found = review_policy_for(model=Model, region_id=region_id)
        return found.due_working_days, found.realtime_approval

    own, other = RegionFactory(code="110000"), RegionFactory(code="310000", name="上海")
    settings.REVIEW_DEFAULT_WORKING_DAYS = 9
    assert terms(own.pk) == terms(None) == (9, False)
    ReviewPolicy.objects.create(item_type=Model._meta.label_lower, due_working_days=7)
    ReviewPolicy.objects.create(
        item_type=Model._meta.label_lower, region=own, due_working_days=2, realtime_approval=True
    )
    ReviewPolicy.objects.create(item_type="enrollment.addemployeefiling", due_working_days=4)
    assert terms(own.pk) == (2, True)
    assert terms(other.pk) == terms(None) == (7, False)
    assert type(terms(own.pk)[1]) is bool


def test_realtime_region_approves_when_all_prechecks_pass(
    django_capture_on_commit_callbacks, sms_outbox
):
    ReviewPolicy.objects.create(
        item_type="employers.registrationapplication", due_working_days=1, realtime_approval=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        application = create_submitted_application()
    application = refresh(application)
    assert application.review_state == ReviewState.APPROVED
    assert application.employer.status == Employer.Status.APPROVED
    assert "已审核通过" in sms_outbox[-1].text


def test_clerk_approves_and_the_unit_gets_one_sms(
    application, clerk, sms_outbox, django_capture_on_commit_callbacks
):
    sms_outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        result = review_decide(model=Model, pk=application.pk, actor=clerk, decision="approve")
    assert result.changed
    application = refresh(application)
    assert application.review_state == ReviewState.APPROVED
    assert application.decided_by == clerk
    assert application.employer.status == Employer.Status.APPROVED
    assert len(sms_outbox) == 1
    assert application.employer.name in sms_outbox[0].text
    assert application.employer.contact_phone == sms_outbox[0].phone
    notification = Notification.objects.get(template="registration_approved")
    assert notification.status == Notification.Status.DELIVERED
    assert AuditEvent.objects.filter(action="review.approve", actor=clerk).exists()


def test_email_is_a_second_channel_when_the_unit_gave_one(
    clerk, django_capture_on_commit_callbacks, mailoutbox
):
    employer = create_employer(status=Employer.Status.UNVERIFIED)
    employer.contact_email = "hr@unit.example"
    employer.save()
    with django_capture_on_commit_callbacks(execute=True):
        application = create_submitted_application(employer)
    with django_capture_on_commit_callbacks(execute=True):
        review_decide(
            model=Model,
            pk=application.pk,
            actor=clerk,
            decision="reject",
            comment="开户行与账号不符",
        )
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["hr@unit.example"]
    assert "未通过审核" in mailoutbox[0].subject


def test_reject_requires_a_comment_and_changes_nothing(application, clerk):
    with pytest.raises(ValidationError) as exc:
        review_decide(model=Model, pk=application.pk, actor=clerk, decision="reject", comment="  ")
    assert "必须填写审核意见" in str(exc.value)
    assert refresh(application).review_state == ReviewState.PENDING
    assert len(review_history(application)) == 3


def test_rejected_application_is_resubmitted_and_prechecked_again(
    application, clerk, django_capture_on_commit_callbacks
):
    from employers.registration.services import registration_resubmit

    review_decide(
        model=Model,
        pk=application.pk,
        actor=clerk,
        decision="reject",
        comment="户名与单位名称不一致",
    )
    application = refresh(application)
    assert application.employer.status == Employer.Status.REJECTED
    assert application.review_comment == "户名与单位名称不一致"
    with django_capture_on_commit_callbacks(execute=True):
        registration_resubmit(
            application=application,
            legal_rep_id_number=application.employer.legal_rep_id_number,
            contact_email="",
            bank_name="测试银行营业部",
            # The account the penny-drop proved (another one would need a new proof).
            bank_account=application.employer.bank_account,
            bank_account_name=application.employer.name,
        )
    application = refresh(application)
    assert application.review_state == ReviewState.PENDING
    assert application.employer.status == Employer.Status.PENDING
    assert application.employer.bank_name == "测试银行营业部"
    actions = [t.action for t in review_history(application)]
    assert actions[-3:] == ["resubmit", "precheck", "queue"]


def test_deciding_twice_the_same_way_is_a_no_op(application, clerk):
    review_decide(model=Model, pk=application.pk, actor=clerk, decision="approve")
    again = review_decide(model=Model, pk=application.pk, actor=clerk, decision="approve")
    assert not again.changed
    assert "无需重复操作" in again.message
    assert [t.action for t in review_history(application)].count("approve") == 1


def test_deciding_against_an_earlier_decision_is_refused(application, clerk):
    review_decide(model=Model, pk=application.pk, actor=clerk, decision="approve")
    other = create_clerk("clerk2")
    with pytest.raises(ValidationError) as exc:
        review_decide(
            model=Model, pk=application.pk, actor=other, decision="reject", comment="材料不全"
        )
    assert "clerk" in str(exc.value) and "审核通过" in str(exc.value)
    assert refresh(application).review_state == ReviewState.APPROVED


def test_staff_without_the_clerk_permissions_cannot_decide(application, django_user_model):
    staff = django_user_model.objects.create_user("helpdesk", password="x", is_staff=True)
    with pytest.raises(ValidationError) as exc:
        review_decide(model=Model, pk=application.pk, actor=staff, decision="approve")
    assert "没有审核该业务的权限" in str(exc.value)
    assert refresh(application).review_state == ReviewState.PENDING
    assert AuditEvent.objects.filter(action="review.approve", outcome="failure").exists()


def test_clerk_limited_to_another_region_cannot_decide(application):
    other_region = RegionFactory(code="310000", name="上海市(测试)")
    clerk = create_clerk("sh-clerk", regions=[other_region])
    with pytest.raises(ValidationError):
        review_decide(model=Model, pk=application.pk, actor=clerk, decision="approve")
    own = create_clerk("bj-clerk", regions=[application.review_region])
    assert review_decide(model=Model, pk=application.pk, actor=own, decision="approve").changed


def test_bulk_approve_skips_items_decided_already(clerk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        items = [create_submitted_application() for _ in range(3)]
    review_decide(model=Model, pk=items[0].pk, actor=clerk, decision="reject", comment="请补充材料")
    result = review_decide_many(
        model=Model, pks=[i.pk for i in items], actor=clerk, decision="approve"
    )
    assert [item.pk for item in result.decided] == [items[1].pk, items[2].pk]
    assert [label for label, _reason in result.skipped] == [items[0].reference]


def test_deadline_watch_marks_overdue_and_reminds_once(
    application, clerk, mailoutbox, django_capture_on_commit_callbacks
):
    due = refresh(application).due_at
    with django_capture_on_commit_callbacks(execute=True):
        first = review_watch_deadlines(now=due - datetime.timedelta(hours=1))
        second = review_watch_deadlines(now=due - datetime.timedelta(minutes=30))
    assert first["reminded"] == 1 and second["reminded"] == 0
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [clerk.email]
    assert not refresh(application).is_overdue
    summary = review_watch_deadlines(now=due + datetime.timedelta(minutes=1))
    assert summary["overdue"] == 1
    assert refresh(application).is_overdue
    assert review_watch_deadlines(now=due + datetime.timedelta(minutes=2))["overdue"] == 0


def test_review_report_prints_counts_by_type_region_and_state(application, capsys):
    call_command("review_report")
    out = capsys.readouterr().out
    assert "单位注册申请" in out and "待审核" in out and "北京市" in out


@pytest.mark.django_db(transaction=True)
def test_two_clerks_deciding_at_once_produce_one_decision(django_capture_on_commit_callbacks):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are exercised on PostgreSQL (run 2 of .ci/run)")
    with django_capture_on_commit_callbacks(execute=True):
        application = create_submitted_application()
    clerks = [create_clerk("a"), create_clerk("b")]
    barrier = threading.Barrier(2)
    outcomes = []

    def decide(clerk, decision):
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            review_decide(
                model=Model, pk=application.pk, actor=clerk, decision=decision, comment="意见"
            )
            outcomes.append("ok")
        except ValidationError as exc:
            outcomes.append(exc.code if hasattr(exc, "code") else "error")
        finally:
            thread_connection.close()

    threads = [
        threading.Thread(target=decide, args=(clerks[0], "approve")),
        threading.Thread(target=decide, args=(clerks[1], "reject")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already_decided", "ok"]
    decisions = [t.action for t in review_history(application) if t.action in ("approve", "reject")]
    assert len(decisions) == 1


# --- Submitting many items at once -------------------------------------------------------------


def draft_application() -> RegistrationApplication:
    """A registration with its identity proof, not yet submitted."""
    employer = create_employer(status=Employer.Status.UNVERIFIED)
    return RegistrationApplication.objects.create(
        reference=f"ZCMANY{employer.pk:06d}",
        account=employer.account,
        employer=employer,
        verification_method="bank",
        verified_at=timezone.now(),
        verification_evidence={"method": "bank", "bank_reference": "SANDBOX-TEST"},
    )


def test_submit_many_writes_a_transition_and_an_audit_event_per_item(
    application, django_capture_on_commit_callbacks
):
    from django.contrib.auth import get_user_model

    from enrollment.tasks import filings_precheck

    actor = get_user_model().objects.create_user(username="applicant", password="x")
    drafts = [draft_application() for _ in range(3)]
    rejected = draft_application()
    Model.objects.filter(pk=rejected.pk).update(review_state=ReviewState.REJECTED)
    rejected = refresh(rejected)
    queued = refresh(application)  # pending review already: left alone
    before = len(review_history(queued))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        review_submit_many(
            items=[*drafts, rejected, queued], actor=actor, precheck_task=filings_precheck
        )

    for item in drafts:
        item = refresh(item)
        assert item.review_state == ReviewState.SUBMITTED and item.due_at is not None
        assert [(t.action, t.from_state, t.to_state, t.actor) for t in review_history(item)] == [
            ("submit", "", ReviewState.SUBMITTED, actor)
        ]
        events = AuditEvent.objects.filter(object_type=Model._meta.label, object_id=str(item.pk))
        assert [(e.action, e.actor, e.employer_id) for e in events] == [
            ("review.submit", actor, item.employer_id)
        ]
    assert len({refresh(item).due_at for item in drafts}) == 1
    assert refresh(rejected).review_state == ReviewState.RESUBMITTED
    assert [t.action for t in review_history(rejected)] == ["resubmit"]
    assert AuditEvent.objects.filter(action="review.resubmit", object_id=str(rejected.pk)).exists()
    assert len(review_history(queued)) == before
    assert refresh(queued).review_state == ReviewState.PENDING

    assert len(callbacks) == 1, "one pre-check message for the items of one type"
    callbacks[0]()
    assert {refresh(item).review_state for item in [*drafts, rejected]} == {ReviewState.PENDING}


def test_submit_many_costs_the_same_statements_for_one_item_as_for_many():
    from django.test.utils import CaptureQueriesContext

    review_submit_many(items=[draft_application()])  # warms the content type cache
    one, many = draft_application(), [draft_application() for _ in range(5)]
    with CaptureQueriesContext(connection) as for_one:
        review_submit_many(items=[one])
    with CaptureQueriesContext(connection) as for_many:
        review_submit_many(items=many)
    assert len(for_many) == len(for_one)
    assert ReviewTransition.objects.filter(action="submit").count() == 7


def test_submit_many_refuses_an_approved_item_and_writes_nothing():
    draft, approved = draft_application(), draft_application()
    Model.objects.filter(pk=approved.pk).update(review_state=ReviewState.APPROVED)
    with pytest.raises(ValidationError, match="已审核通过"):
        review_submit_many(items=[draft, refresh(approved)])
    assert refresh(draft).review_state == ""
    assert not review_history(draft)
    assert not AuditEvent.objects.filter(action="review.submit").exists()
