"""The add-employee POST's and pre-check's reads by compiled SQL give what the ORM reads gave.

Each test runs the earlier ORM read (kept here as it was) and the compiled one on the same real
rows and compares everything they return, refusals included.
"""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from reportlab import rl_config

from contributions.models import PolicyPeriod
from contributions.policy.reference import base_bounds, policy_for, validate_base
from enrollment import rules
from enrollment.add import services
from enrollment.add.forms import AddEmployeeForm
from enrollment.add.pdf import registration_form_pdf
from enrollment.add.review import add_filing_prechecks
from enrollment.add.selectors import employment_form_get, employment_forms_for_region
from enrollment.models import (
    AddEmployeeFiling,
    Attachment,
    CouplingRule,
    EmploymentForm,
    Enrolment,
    Person,
)
from enrollment.resume.rules import resume_earliest_month
from portal.crypto import blind_index
from portal.models import WorkdayCalendarYear, WorkdayOverride
from portal.review import _locked_item_query, precheck_result
from portal.workdays import WorkdayCalendar
from tests.enrollment.add_helpers import good_attachments, service_fields, unit_with_agent
from tests.factories import RegionFactory, make_resident_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit():
    return unit_with_agent()


def submit(agent, **overrides) -> AddEmployeeFiling:
    return services.add_employee_filing_submit(agent=agent, **service_fields(**overrides))


def row_of(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def refusal(call):
    try:
        return ("ok", call())
    except ValidationError as exc:
        return ("refused", exc.messages, getattr(exc, "code", None))


# Bounds --------------------------------------------------------------------------------------


def old_base_bounds(region, on_date):
    period = policy_for(region, on_date)
    return period.base_lower, period.base_upper


def test_bounds_by_compiled_sql_are_policy_fors_on_every_date(unit):
    region = unit[0].region
    PolicyPeriod.objects.create(
        region=region,
        starts_on=datetime.date(2090, 1, 1),
        ends_on=datetime.date(2090, 12, 31),
        base_lower=Decimal("5000.00"),
        base_upper=Decimal("25000.00"),
        is_published=False,
    )
    days = [
        timezone.localdate().replace(day=1),
        datetime.date(2090, 6, 1),  # a period not yet published
        datetime.date(1990, 1, 1),  # no period at all
        *(period.starts_on for period in PolicyPeriod.objects.filter(region=region)),
        *(period.ends_on for period in PolicyPeriod.objects.filter(region=region)),
    ]
    for day in days:
        expected = refusal(lambda day=day: old_base_bounds(region, day))
        assert refusal(lambda day=day: base_bounds(region, day)) == expected
        assert refusal(lambda day=day: base_bounds(region.pk, day)) == expected
        for base in (Decimal("1.00"), Decimal("9000.00"), Decimal("999999.00")):
            by_instance = refusal(lambda day=day, base=base: validate_base(region, day, base))
            by_id = refusal(lambda day=day, base=base: validate_base(region.pk, day, base))
            assert by_id == by_instance
    assert refusal(lambda: validate_base(region.pk, days[0], Decimal("1.00")))[0] == "refused"


# Coupling rules ------------------------------------------------------------------------------


def old_coupling_rules(region, hukou_type, code):
    return [
        (rule.allowed_codes, rule.required_codes, rule.message)
        for rule in CouplingRule.objects.filter(Q(region=region) | Q(region__isnull=True)).filter(
            Q(hukou_type="") | Q(hukou_type=hukou_type),
            Q(employment_form_code="") | Q(employment_form_code=code),
        )
    ]


def test_coupling_rules_by_compiled_sql_are_the_orms(unit):
    region, other = unit[0].region, RegionFactory(code="310000", name="上海市(测试)")
    for rule_region in (region, other, None):
        for hukou in ("", "local_rural", "other_urban"):
            for code in ("", "11", "31"):
                CouplingRule.objects.create(
                    region=rule_region,
                    hukou_type=hukou,
                    employment_form_code=code,
                    allowed_codes=["410"] if code else [],
                    required_codes=["410"] if hukou else [],
                    message=f"{rule_region and rule_region.pk}-{hukou}-{code}",
                )
    for hukou in ("local_urban", "local_rural", "other_urban", ""):
        for code in ("11", "31", "99", ""):
            expected = old_coupling_rules(region, hukou, code)
            rows = rules._COUPLING_RULES.rows(
                region=region.pk, hukou_type=hukou, employment_form_code=code
            )
            assert sorted(rows, key=str) == sorted(expected, key=str)
            assert len(rows) > 0


# The person of a document, the filing of a key -----------------------------------------------


def test_the_person_of_a_document_is_the_one_first_read(unit):
    employer, agent = unit
    number = make_resident_id("19900101", "male")
    filing = submit(agent, document_number=number)
    index = blind_index("document_number", number)
    expected = Person.objects.filter(document_type="resident_id", document_index=index).first()
    (found,) = rules._PERSON_OF_DOCUMENT.instances(
        document_type="resident_id", document_index=index
    )
    assert row_of(found) == row_of(expected) and found.pk == filing.enrolment.person_id
    assert found.document_number == number and not found._state.adding
    assert rules._PERSON_OF_DOCUMENT.instances(document_type="passport", document_index=index) == []
    # The check itself: the unit's own open enrolment is refused as before.
    with pytest.raises(ValidationError) as caught:
        rules.other_unit_check(
            document_type="resident_id", document_number=number, employer=employer
        )
    assert "已在本单位参保" in " ".join(caught.value.message_dict["document_number"])


def test_the_filing_of_a_key_is_the_one_first_read(unit):
    filing = submit(unit[1])
    expected = AddEmployeeFiling.objects.filter(idempotency_key=filing.idempotency_key).first()
    found = services._filing_of_key(filing.idempotency_key)
    assert row_of(found) == row_of(expected)
    assert services._filing_of_key(service_fields()["idempotency_key"]) is None
    # A second submission of the key returns the first filing, as before.
    again = submit(unit[1], idempotency_key=filing.idempotency_key)
    assert again.pk == filing.pk and AddEmployeeFiling.objects.count() == 1


def test_the_unit_opening_date_is_its_accounts(unit):
    employer = type(unit[0]).objects.get(pk=unit[0].pk)  # its account not loaded
    assert services._unit_opened_on(employer) == unit[0].account.opened_on
    assert services._loaded_or_id(employer, "region") == employer.region_id
    employer.region  # noqa: B018
    assert services._loaded_or_id(employer, "region") == employer.region


# The working-day calendar --------------------------------------------------------------------


def old_year(year):
    overrides = dict(
        WorkdayOverride.objects.filter(
            date__gte=datetime.date(year, 1, 1), date__lte=datetime.date(year, 12, 31)
        ).values_list("date", "is_working_day")
    )
    return overrides, WorkdayCalendarYear.objects.filter(year=year).exists()


def test_the_calendar_years_read_by_compiled_sql_are_the_orms():
    WorkdayOverride.objects.create(date=datetime.date(2031, 1, 1), is_working_day=False)
    WorkdayOverride.objects.create(date=datetime.date(2031, 12, 31), is_working_day=True)
    WorkdayOverride.objects.create(date=datetime.date(2032, 1, 1), is_working_day=False)
    WorkdayCalendarYear.objects.create(year=2031, source="test")
    calendar = WorkdayCalendar()
    for year in (2030, 2031, 2032):
        found = calendar._year(year)
        assert (found.overrides, found.fully_loaded) == old_year(year)
    assert calendar._year(2031).fully_loaded and not calendar._year(2032).fully_loaded


# The pre-check -------------------------------------------------------------------------------


def old_prechecks(filing):
    """add_filing_prechecks as it read the enrolment before (an ORM query with instances)."""
    enrolment = (
        Enrolment.objects.select_related("resumed_from", "employer__region")
        .annotate(
            elsewhere=Exists(
                Enrolment.objects.filter(
                    person_id=OuterRef("person_id"), status__in=Enrolment.OPEN_STATUSES
                )
                .exclude(pk=OuterRef("pk"))
                .exclude(pk=Coalesce(OuterRef("resumed_from_id"), OuterRef("pk")))
            ),
            **{
                f"has_{kind}": Exists(Attachment.objects.filter(filing_id=filing.pk, kind=kind))
                for kind in Attachment.Kind.values
            },
        )
        .get(pk=filing.enrolment_id)
    )
    try:
        validate_base(enrolment.employer.region, enrolment.start_month, enrolment.contribution_base)
        base_ok, base_detail = True, ""
    except ValidationError as exc:
        base_ok, base_detail = False, " ".join(exc.messages)
    kinds = {kind for kind in Attachment.Kind.values if getattr(enrolment, f"has_{kind}")}
    wanted = (
        [Attachment.Kind.LABOUR_CONTRACT] if enrolment.resumed_from_id else Attachment.Kind.values
    )
    missing = [Attachment.Kind(kind).label for kind in wanted if kind not in kinds]
    flags = [AddEmployeeFiling.Flag(flag).label for flag in filing.flags]
    resumed = []
    if enrolment.resumed_from_id:
        earliest = resume_earliest_month(enrolment.resumed_from)
        after = enrolment.start_month >= earliest
        resumed.append(
            precheck_result(
                "after_last_period",
                "续保起始年月在上次参保结束之后",
                after,
                "" if after else f"最早可从 {earliest:%Y-%m} 起续保",
            )
        )
    return [
        *resumed,
        precheck_result(
            "not_open_elsewhere",
            "未在其他单位参保",
            not enrolment.elsewhere,
            "该人员另有未终止的参保登记" if enrolment.elsewhere else "",
        ),
        precheck_result("base_in_bounds", "月缴费工资在上下限内", base_ok, base_detail),
        precheck_result(
            "attachments",
            "附件齐全",
            not missing,
            f"缺少:{'、'.join(str(label) for label in missing)}" if missing else "",
        ),
        precheck_result("flags", "无补登记或逾期提示", not flags, ";".join(str(f) for f in flags)),
    ]


def test_prechecks_by_compiled_sql_are_the_orms_in_every_case(unit):
    employer, agent = unit
    plain = submit(agent)
    bare = submit(
        agent,
        document_number=make_resident_id("19800101", "male"),
        attachments=good_attachments()[1:],
        start_month=rules.add_months(timezone.localdate().replace(day=1), -1),
    )
    elsewhere = submit(agent, document_number=make_resident_id("19810101", "male"))
    Enrolment.objects.filter(pk=elsewhere.enrolment_id).update(status=Enrolment.Status.CANCELLED)
    other = Enrolment.objects.get(pk=elsewhere.enrolment_id)
    other.pk, other.employer, other.status = None, unit_with_agent()[0], Enrolment.Status.ACTIVE
    other.save()
    out_of_bounds = submit(agent, document_number=make_resident_id("19820101", "male"))
    Enrolment.objects.filter(pk=out_of_bounds.enrolment_id).update(
        contribution_base=Decimal("1.00")
    )
    earlier = submit(agent, document_number=make_resident_id("19830101", "male"))
    resumed = submit(agent, document_number=make_resident_id("19840101", "male"))
    for ended_on, last_month in (
        (None, None),
        (datetime.date(2099, 3, 15), None),
        (None, datetime.date(2000, 2, 1)),
    ):
        Enrolment.objects.filter(pk=earlier.enrolment_id).update(
            ended_on=ended_on, last_contribution_month=last_month
        )
        Enrolment.objects.filter(pk=resumed.enrolment_id).update(resumed_from=earlier.enrolment_id)
        filing = AddEmployeeFiling.objects.get(pk=resumed.pk)
        assert add_filing_prechecks(filing) == old_prechecks(filing)
        assert add_filing_prechecks(filing)[0]["key"] == "after_last_period"
    outcomes = set()
    for filing in (plain, bare, elsewhere, out_of_bounds):
        filing = AddEmployeeFiling.objects.get(pk=filing.pk)
        results = add_filing_prechecks(filing)
        assert results == old_prechecks(filing)
        outcomes.add(tuple(result["passed"] for result in results))
    assert len(outcomes) == 4  # each case fails a different check (or none)
    missing = AddEmployeeFiling.objects.get(pk=plain.pk)
    missing.enrolment_id = 0
    with pytest.raises(Enrolment.DoesNotExist):
        add_filing_prechecks(missing)


def test_the_locked_item_is_the_one_first_read(unit):
    filing = submit(unit[1])
    with transaction.atomic():
        expected = AddEmployeeFiling.objects.select_for_update().filter(pk=filing.pk).first()
        (found,) = _locked_item_query(AddEmployeeFiling).instances(pk=filing.pk)
        assert _locked_item_query(AddEmployeeFiling).instances(pk=0) == []
    assert row_of(found) == row_of(expected)


def test_the_filing_of_a_registration_form_is_the_one_first_read_and_prints_the_same(
    unit, monkeypatch
):
    filing = submit(unit[1], generate_form=False)
    related = ("employer", "employer.region", "enrolment", "enrolment.person")
    related += ("enrolment.employment_form", "submitted_by")

    def rows(obj) -> dict:
        loaded = {"filing": row_of(obj)}
        for path in related:
            target = obj
            for name in path.split("."):
                target = getattr(target, name)
            loaded[path] = row_of(target)
        return loaded

    monkeypatch.setattr(rl_config, "invariant", 1)  # no creation time: the bytes compare
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        expected = (
            AddEmployeeFiling.objects.select_for_update(of=("self",))
            .select_related(
                "employer__region",
                "enrolment__person",
                "enrolment__employment_form",
                "submitted_by",
            )
            .filter(pk=filing.pk)
            .first()
        )
        (found,) = services._FILING_FOR_FORM.related_instances(filing=filing.pk)
        assert services._FILING_FOR_FORM.related_instances(filing=0) == []
        expected_rows, expected_pdf = rows(expected), registration_form_pdf(expected)
        assert rows(found) == expected_rows  # and no query to load a related object
        assert registration_form_pdf(found) == expected_pdf
    # The same statement (lock included), and no query for a related object or the form.
    assert len(queries) == 3 and queries[1]["sql"] == queries[0]["sql"]
    assert found._state.adding is False and found._state.db == "default"


# The submitted 用工形式 ----------------------------------------------------------------------


def test_a_submitted_employment_form_is_read_as_the_querysets_get(unit):
    region = unit[0].region
    own = EmploymentForm.objects.create(region=region, code="77", name="本区形式")
    elsewhere = EmploymentForm.objects.create(
        region=RegionFactory(code="310000", name="上海市(测试)"), code="78", name="外区形式"
    )
    inactive = EmploymentForm.objects.create(region=None, code="79", name="停用", is_active=False)
    nationwide = EmploymentForm.objects.filter(region=None, is_active=True).first()
    values = [
        str(own.pk),
        str(nationwide.pk),
        str(elsewhere.pk),
        str(inactive.pk),
        "0",
        "99999999999999999999",
        " 1",
        "abc",
        "",
        "١",
        "²",
    ]

    def cleaned(value, lookup):
        form = AddEmployeeForm(
            data={"employment_form": value},
            employment_forms=employment_forms_for_region(region.pk),
            employment_form_lookup=lookup,
        )
        form.is_valid()
        if "employment_form" in form.errors:
            return ("refused", form.errors["employment_form"])
        found = form.cleaned_data["employment_form"]
        return ("ok", row_of(found))

    for value in values:
        expected = cleaned(value, None)
        assert cleaned(value, lambda pk: employment_form_get(region.pk, pk)) == expected, value
    assert cleaned(str(own.pk), None)[0] == "ok" and cleaned(str(inactive.pk), None)[0] != "ok"
    assert model_to_dict(employment_form_get(region, own.pk)) == model_to_dict(own)
    assert employment_form_get(region.pk, elsewhere.pk) is None
