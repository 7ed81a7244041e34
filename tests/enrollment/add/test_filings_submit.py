"""The one write path of 增员 filings (enrollment.add.bulk): one row or many, the same writes."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from kombu.exceptions import OperationalError as BrokerDown

from enrollment.add import services
from enrollment.add.bulk import AddEmployeeRow, add_employee_filings_submit
from enrollment.add.services import add_employee_check, add_employee_filing_submit
from enrollment.models import AddEmployeeFiling, Enrolment, Person
from enrollment.rules import OTHER_UNIT_MESSAGE
from portal.models import AuditEvent, ReviewState, ReviewTransition
from portal.review import review_history, review_requeue_prechecks
from tests.enrollment.add.test_pdf import pdf_text
from tests.enrollment.add_helpers import (
    jpg_bytes,
    pdf_bytes,
    service_fields,
    unit_with_agent,
    upload,
)
from tests.factories import make_resident_id

pytestmark = pytest.mark.django_db

CHECKED_FIELDS = (
    "document_type",
    "document_number",
    "nationality",
    "hukou_type",
    "employment_form",
    "insurance_codes",
    "start_month",
    "employment_start",
    "contribution_base",
)


@pytest.fixture
def agent():
    return unit_with_agent()[1]


def checked_row(agent, **overrides) -> AddEmployeeRow:
    fields = service_fields(attachments=(), **overrides)
    checked = add_employee_check(
        employer=agent.employer, **{name: fields[name] for name in CHECKED_FIELDS}
    )
    return AddEmployeeRow(
        idempotency_key=fields["idempotency_key"],
        checked=checked,
        name=fields["name"],
        nationality=fields["nationality"],
        hukou_type=fields["hukou_type"],
        phone=fields["phone"],
        employment_start=fields["employment_start"],
        contribution_base=fields["contribution_base"],
    )


def new_rows(agent, count: int) -> list[AddEmployeeRow]:
    return [checked_row(agent, document_number=make_resident_id()) for _ in range(count)]


def written() -> tuple[int, ...]:
    return (
        Person.objects.count(),
        Enrolment.objects.count(),
        Enrolment.history.count(),
        AddEmployeeFiling.objects.count(),
        ReviewTransition.objects.count(),
        AuditEvent.objects.count(),
    )


def test_many_rows_cost_the_statements_of_one(agent):
    add_employee_filings_submit(agent=agent, rows=new_rows(agent, 1), generate_form=False)
    one, many = new_rows(agent, 1), new_rows(agent, 5)
    with CaptureQueriesContext(connection) as for_one:
        add_employee_filings_submit(agent=agent, rows=one, generate_form=False)
    with CaptureQueriesContext(connection) as for_many:
        filings = add_employee_filings_submit(agent=agent, rows=many, generate_form=False)
    assert len(for_many) == len(for_one)
    assert [f.idempotency_key for f in filings] == [row.idempotency_key for row in many]
    assert {f.review_state for f in filings} == {ReviewState.SUBMITTED}
    for filing in filings:
        assert [t.action for t in review_history(filing)] == ["submit"]
        events = AuditEvent.objects.filter(
            object_type="enrollment.AddEmployeeFiling", object_id=str(filing.pk)
        )
        assert sorted(e.action for e in events) == ["enrollment.add_submitted", "review.submit"]


def test_a_taken_key_refuses_every_row_and_writes_nothing(agent):
    (first,) = add_employee_filings_submit(agent=agent, rows=new_rows(agent, 1))
    before = written()
    again = checked_row(agent, document_number=make_resident_id())
    again.idempotency_key = first.idempotency_key
    with pytest.raises(IntegrityError):
        add_employee_filings_submit(agent=agent, rows=[*new_rows(agent, 2), again])
    assert written() == before


def test_a_person_filed_elsewhere_after_the_check_is_refused_with_the_message(agent, monkeypatch):
    other = unit_with_agent()[1]
    fields = service_fields(attachments=())
    add_employee_filing_submit(agent=other, **fields)
    # As if this unit's check ran before the other unit's filing committed.
    check = services.add_employee_check
    monkeypatch.setattr(
        services,
        "add_employee_check",
        lambda **kwargs: check(**kwargs, check_other_unit=False),
    )
    with pytest.raises(ValidationError) as caught:
        add_employee_filing_submit(agent=agent, **{**fields, "idempotency_key": uuid.uuid4()})
    assert caught.value.message_dict["document_number"] == [OTHER_UNIT_MESSAGE]
    assert not AddEmployeeFiling.objects.filter(employer=agent.employer).exists()


def _audit_rows(filing) -> list[tuple]:
    """A filing's audit rows in the order written, its id and reference named, not numbered."""
    events = AuditEvent.objects.filter(
        object_type="enrollment.AddEmployeeFiling", object_id=str(filing.pk)
    ).order_by("pk")
    return [
        (
            event.action,
            event.actor_id,
            event.actor_label,
            event.employer_id,
            event.outcome,
            event.ip_address,
            {
                key: "<reference>" if value == filing.reference else value
                for key, value in event.details.items()
            },
        )
        for event in events
    ]


def _filing_rows(filing) -> tuple:
    """What a filing wrote besides its audit rows, ids left out."""
    filing.refresh_from_db()
    return (
        [(t.action, t.from_state, t.to_state, t.actor_id) for t in review_history(filing)],
        sorted(
            (a.kind, a.original_name, a.content_type, a.size, a.sha256, a.file.read())
            for a in filing.attachments.all()
        ),
        (filing.review_state, filing.flags, filing.employer_id, filing.submitted_by_id),
    )


def test_the_audit_events_in_one_statement_are_those_written_in_two(agent, monkeypatch, rf):
    """review.submit's event is written with enrollment.add_submitted's, in one INSERT: the same
    rows in the same order as when review_submit_many wrote its own first."""
    request = rf.post("/", REMOTE_ADDR="10.1.2.3")
    request.user = agent.user
    contract, scan = pdf_bytes(), jpg_bytes()  # a PDF's bytes differ from one rendering to the next

    def attachments():
        return [
            ("labour_contract", upload("合同.pdf", contract, "application/pdf")),
            ("id_scan", upload("身份证.jpg", scan, "image/jpeg")),
        ]

    with CaptureQueriesContext(connection) as merged:
        new = add_employee_filing_submit(
            agent=agent, request=request, **service_fields(attachments=attachments())
        )

    from enrollment.add import bulk

    writes_its_own = bulk.review_submit_many

    def as_before(*, audit_events, **kwargs):  # the events written by review_submit_many
        return writes_its_own(**kwargs)

    monkeypatch.setattr(bulk, "review_submit_many", as_before)
    fields = service_fields(document_number=make_resident_id(), attachments=attachments())
    with CaptureQueriesContext(connection) as separate:
        old = add_employee_filing_submit(agent=agent, request=request, **fields)

    def audit_inserts(queries):
        return sum('INSERT INTO "portal_auditevent"' in q["sql"] for q in queries)

    assert (audit_inserts(merged), audit_inserts(separate)) == (1, 2)
    assert _audit_rows(new) == _audit_rows(old)
    assert [row[0] for row in _audit_rows(new)] == ["review.submit", "enrollment.add_submitted"]
    assert _audit_rows(new)[0][5] == "10.1.2.3"
    assert _filing_rows(new) == _filing_rows(old)


# The statements of the form's filing, counted so that none comes back (23 before the filing
# was inserted already submitted, its attachments in one statement and the form's employment
# form taken as chosen): the key, the region's settings, the base bounds, the coupling rules,
# the person; person, enrolment, history, filing and attachments (an INSERT each); the review
# terms and calendar (2), the transition and the audit events (one INSERT); four savepoints
# (the service's and the test's transaction).
SUBMIT_QUERIES = 18


def test_a_filing_costs_a_fixed_number_of_statements(agent, django_assert_num_queries):
    add_employee_filing_submit(agent=agent, **service_fields())
    fields = service_fields(document_number=make_resident_id())
    agent.employer.account  # noqa: B018 — loaded by the page's middleware and form
    with django_assert_num_queries(SUBMIT_QUERIES, exact=False) as queries:
        add_employee_filing_submit(agent=agent, **fields)
    assert not any("enrollment_employmentform" in query["sql"] for query in queries)


# After commit: one message with the pre-checks and the registration form ----------------------


def _outcome(filing_id: int) -> tuple:
    """What the worker's work leaves: the filing's review fields, its steps, its form's text."""
    filing = AddEmployeeFiling.objects.get(pk=filing_id)
    with filing.registration_form.open("rb") as handle:
        text = pdf_text(handle.read())
    return (
        filing.review_state,
        filing.prechecks_passed,
        filing.precheck_results,
        [(t.action, t.from_state, t.to_state) for t in review_history(filing)],
        text,
    )


def test_a_filing_sends_one_message_that_does_what_its_two_tasks_did(
    agent, monkeypatch, django_capture_on_commit_callbacks
):
    from enrollment.tasks import (
        filings_precheck_and_forms,
        registration_form_generate_task,
    )
    from portal.celery import app
    from portal.tasks import review_precheck_task

    sent = []
    for task in (filings_precheck_and_forms, registration_form_generate_task, review_precheck_task):
        monkeypatch.setattr(task, "delay", lambda *args, name=task.name: sent.append((name, args)))
    with django_capture_on_commit_callbacks(execute=True):
        filing = add_employee_filing_submit(agent=agent, **service_fields())
    label = "enrollment.AddEmployeeFiling"
    assert sent == [("enrollment.tasks.filings_precheck_and_forms", (label, [filing.pk]))]
    assert app.amqp.router.route({}, sent[0][0])["queue"].name == "reviews"  # as both were

    # The two tasks a filing sent before, and the one it sends now, on the same filing.
    with transaction.atomic():
        review_precheck_task(label, filing.pk)
        registration_form_generate_task(filing.pk)
        before = _outcome(filing.pk)
        transaction.set_rollback(True)
    filings_precheck_and_forms(label, [filing.pk])
    assert _outcome(filing.pk) == before
    assert before[0] == ReviewState.PENDING and filing.reference in before[-1]


def test_the_form_is_made_when_the_pre_check_fails(agent, monkeypatch):
    from enrollment.tasks import filings_precheck_and_forms
    from portal import review

    filing = add_employee_filing_submit(agent=agent, generate_form=False, **service_fields())

    def broken(**kwargs):
        raise RuntimeError("pre-check failed")

    monkeypatch.setattr(review, "review_precheck", broken)
    with pytest.raises(RuntimeError, match="pre-check failed"):
        filings_precheck_and_forms("enrollment.AddEmployeeFiling", [filing.pk])
    filing.refresh_from_db()
    assert filing.registration_form and filing.review_state == ReviewState.SUBMITTED


def test_a_message_not_sent_leaves_the_pre_checks_to_the_beat(
    agent, monkeypatch, django_capture_on_commit_callbacks
):
    from enrollment.tasks import filings_precheck_and_forms

    def refuse(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(filings_precheck_and_forms, "delay", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        filing = add_employee_filing_submit(agent=agent, **service_fields())
    filing.refresh_from_db()
    assert filing.precheck_unqueued and not filing.registration_form  # the view renders it
    monkeypatch.undo()
    assert review_requeue_prechecks() == 1
    filing.refresh_from_db()
    assert filing.review_state == ReviewState.PENDING and not filing.precheck_unqueued
