"""The roster: search, filters, pages, person detail with history, exports."""

from __future__ import annotations

import csv
import datetime
import io
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from openpyxl import load_workbook

from employers.models import Role
from enrollment.models import Enrolment, RemovalReason
from enrollment.removal.services import remove_employee_filing_submit
from enrollment.roster.selectors import RosterRow, roster_for_agent, roster_row_list
from enrollment.rules import first_of_month
from portal.models import AuditEvent
from tests.enrollment.enrolment_helpers import create_enrolment, unique_resident_id
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

URL = "/enrollment/roster/"
PASSWORD = "Test2026pass"  # tests.factories.create_agent's default
XLSX = "/enrollment/roster/export.xlsx"
CSV = "/enrollment/roster/export.csv"


@pytest.fixture
def employer():
    return create_employer()


@pytest.fixture
def agent(employer):
    return create_agent(employer, roles=[Role.ENROLMENT], name="花名册经办人")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent.user)
    return client


@pytest.fixture
def people(employer):
    """Three of the unit's enrolments and one of another unit."""
    return {
        "zhang": create_enrolment(employer, name="张三", document_number="11010519900307001X"),
        "li": create_enrolment(employer, name="李四", status=Enrolment.Status.TERMINATED),
        "wang": create_enrolment(employer, name="王五", insurance_codes=["410"]),
        "other": create_enrolment(create_employer(), name="赵外单位"),
    }


def names(response) -> set[str]:
    return {row.name for row in response.context["page"].object_list}


def search(client, **data):
    """Search as the page's form does: POST, then the results at ``?s=<token>``."""
    return client.post(URL, data, follow=True)


# The list -----------------------------------------------------------------------------------


def test_list_shows_only_the_units_people_masked(agent_client, people):
    response = agent_client.get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert names(response) == {"张三", "李四", "王五"}
    assert "赵外单位" not in body
    assert people["zhang"].person.masked_document_number in body
    assert "11010519900307001X" not in body
    assert "完整号码" in body  # the help says why a partial number finds nothing


def test_a_row_shows_the_enrolment_as_before(agent_client, people):
    """The rows are printed from RosterRow (enrollment.roster.selectors): the same HTML as the
    template's per-row look-ups, filters and translations gave."""
    zhang, li = people["zhang"], people["li"]
    Enrolment.objects.filter(pk=zhang.pk).update(contribution_base="12345.6")
    body = agent_client.get(URL).content.decode()
    assert (
        f'<th scope="row" data-label="姓名"><a href="/enrollment/roster/{zhang.pk}/">张三</a>'
        "</th>\n"
        f'      <td class="text-nowrap" data-label="证件号码">{zhang.person.masked_document_number}'
        "</td>\n"
        f'      <td data-label="用工形式">{zhang.employment_form.name}</td>\n'
        '      <td data-label="参保险种">110 210 310 410</td>\n'
        '      <td class="text-nowrap" data-label="参保起始年月">2024-01</td>\n'
        '      <td class="text-nowrap" data-label="月缴费工资">12,345.60</td>\n'
        '      <td data-label="参保状态"><span class="badge text-bg-success">正常</span></td>'
    ) in body
    assert (
        '<span class="badge text-bg-secondary">终止</span> <a class="btn btn-sm '
        f'btn-outline-primary ms-1" href="/enrollment/resume/{li.pk}/">续保</a></td>'
    ) in body


@pytest.mark.parametrize(
    ("language", "active", "terminated"), [("zh-hans", "正常", "终止"), ("en", "Active", "Ended")]
)
def test_roster_row_list_pins_each_cell_masked(people, language, active, terminated):
    zhang, li = people["zhang"], people["li"]
    Enrolment.objects.filter(pk=zhang.pk).update(contribution_base="12345.6")
    with translation.override(language), CaptureQueriesContext(connection) as captured:
        rows = roster_row_list([li.pk, zhang.pk])
    assert len(captured.captured_queries) == 1
    assert "phone" not in captured.captured_queries[0]["sql"]  # no phone read, none decrypted
    assert rows == [
        RosterRow(
            pk=li.pk,
            detail_url=f"/enrollment/roster/{li.pk}/",
            name="李四",
            masked_document_number=li.person.masked_document_number,
            employment_form=li.employment_form.name,
            insurance_codes="110 210 310 410",
            start_month="2024-01",
            contribution_base="8,000.00",
            badge="text-bg-secondary",
            status_label=terminated,
            resume_url=f"/enrollment/resume/{li.pk}/",
        ),
        RosterRow(
            pk=zhang.pk,
            detail_url=f"/enrollment/roster/{zhang.pk}/",
            name="张三",
            masked_document_number="110105********001X",
            employment_form=zhang.employment_form.name,
            insurance_codes="110 210 310 410",
            start_month="2024-01",
            contribution_base="12,345.60",
            badge="text-bg-success",
            status_label=active,
            resume_url="",
        ),
    ]


def test_search_by_part_of_the_name(agent_client, people):
    assert names(search(agent_client, q="三")) == {"张三"}


def test_search_by_the_full_document_number_with_a_lower_case_x(agent_client, people):
    assert names(search(agent_client, q="11010519900307001x")) == {"张三"}
    assert names(search(agent_client, q=" 110105 19900307001X ")) == {"张三"}


def test_a_partial_document_number_finds_nobody(agent_client, people):
    response = search(agent_client, q="110105")
    assert names(response) == set()
    assert "没有符合条件的参保人员" in response.content.decode()


def test_another_units_document_number_finds_nobody(agent_client, people):
    number = people["other"].person.document_number
    assert names(search(agent_client, q=number)) == set()


def test_filter_by_status(agent_client, people):
    assert names(agent_client.get(URL, {"status": "terminated"})) == {"李四"}
    assert names(agent_client.get(URL, {"status": "active"})) == {"张三", "王五"}


@pytest.mark.parametrize(
    ("language", "labels"), [("zh-hans", ("终止", "全部")), ("en", ("Ended", "All"))]
)
def test_the_filter_form_shows_each_requests_filters(agent_client, people, language, labels):
    """The form's choices are rendered once per language and filters ({% constant_fragment %}):
    each request still shows its own selection."""
    agent_client.cookies["django_language"] = language
    for params, selected in [
        ({"status": "terminated"}, ['value="terminated" selected', 'value="" selected']),
        ({"insurance_code": "410"}, ['value="" selected', 'value="410" selected']),
        ({}, ['value="" selected', 'value="" selected']),
    ]:
        body = agent_client.get(URL, params).content.decode()
        status_select, insurance_select = body.split('id="id_status"')[1].split('id="id_insurance')
        assert (
            selected[0] in status_select and selected[1] in insurance_select.split("</select>")[0]
        )
        assert body.count(" selected>") == 2
        assert f">{labels[0]}</option>" in body and f">{labels[1]}</option>" in body


def test_filter_by_insurance_type(agent_client, people):
    assert names(agent_client.get(URL, {"insurance_code": "110"})) == {"张三", "李四"}
    assert names(agent_client.get(URL, {"insurance_code": "410"})) == {"张三", "李四", "王五"}
    assert names(agent_client.get(URL, {"insurance_code": "510"})) == set()


def test_filters_combine(agent_client, people):
    response = search(agent_client, insurance_code="110", status="active", q="张")
    assert names(response) == {"张三"}
    [(address, _status)] = response.redirect_chain
    assert address.startswith(f"{URL}?s=") and address.endswith("&status=active&insurance_code=110")


@pytest.mark.parametrize(
    "params", [{"status": "bogus"}, {"insurance_code": "999"}, {"insurance_code": '"1'}]
)
def test_unknown_filter_values_are_ignored(agent_client, people, params):
    assert names(agent_client.get(URL, params)) == {"张三", "李四", "王五"}


def test_pages_of_fifty(agent_client, employer):
    for index in range(53):
        create_enrolment(employer, name=f"员工{index:02d}")
    first = agent_client.get(URL)
    assert len(first.context["page"].object_list) == 50
    assert first.context["page"].paginator.count == 53
    second = agent_client.get(URL, {"page": 2})
    assert len(second.context["page"].object_list) == 3
    # A bad or too large page number gives the nearest page, not an error.
    assert agent_client.get(URL, {"page": "abc"}).context["page"].number == 1
    assert agent_client.get(URL, {"page": 999}).context["page"].number == 2
    assert "page=2" in first.content.decode()


def test_the_pages_of_a_search_carry_its_token_only(agent_client, employer):
    for index in range(53):
        create_enrolment(employer, name=f"员工{index:02d}")
    create_enrolment(employer, name="李四")
    first = search(agent_client, q="员工", status="active")
    [(address, _status)] = first.redirect_chain
    token = address.split("s=")[1].split("&")[0]
    body = first.content.decode()
    assert f'href="?s={token}&amp;status=active&amp;page=2"' in body
    assert f'<input type="hidden" name="s" value="{token}">' in body  # the jump-to-page form
    assert "q=" not in body
    second = agent_client.get(URL, {"s": token, "status": "active", "page": 2})
    assert second.context["page"].paginator.count == 53
    assert names(second) == {"员工02", "员工01", "员工00"}


def test_query_count_is_the_same_for_3_and_40_enrolments(
    agent_client, employer, django_assert_num_queries
):
    for index in range(3):
        create_enrolment(employer, name=f"甲{index}")
    agent_client.get(URL)  # session and permissions warmed the same way for both runs
    with CaptureQueriesContext(connection) as few:
        agent_client.get(URL)
    for index in range(37):
        create_enrolment(employer, name=f"乙{index}")
    with django_assert_num_queries(len(few.captured_queries)):
        response = agent_client.get(URL)
    assert len(response.context["page"].object_list) == 40
    assert len(few.captured_queries) <= 6


def test_roster_selector_is_scoped_to_the_agents_unit(agent, people):
    assert set(roster_for_agent(agent).values_list("person__name", flat=True)) == {
        "张三",
        "李四",
        "王五",
    }


# The detail ---------------------------------------------------------------------------------


def test_detail_shows_history_and_filings(agent_client, agent, people):
    enrolment = people["zhang"]
    enrolment.contribution_base = 9000
    enrolment.save()
    filing = remove_employee_filing_submit(
        agent=agent,
        idempotency_key=uuid.uuid4(),
        enrolment=enrolment,
        reason=RemovalReason.RETIRED,
        voluntary=False,
        last_contribution_month=first_of_month(enrolment.created_at.date()),
    )
    response = agent_client.get(f"{URL}{enrolment.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert len(response.context["versions"]) == 2
    assert "9000" in body and "8000" in body
    assert filing.reference in body
    assert enrolment.person.masked_document_number in body
    assert enrolment.person.document_number not in body


def test_detail_of_another_unit_or_unknown_id_is_404(agent_client, people):
    assert agent_client.get(f"{URL}{people['other'].pk}/").status_code == 404
    assert agent_client.get(f"{URL}999999/").status_code == 404


# Permissions --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [URL, XLSX, CSV, "detail"])
def test_agent_without_the_roster_role_gets_403(client, employer, people, url):
    if url == "detail":
        url = f"{URL}{people['zhang'].pk}/"
    payer = create_agent(employer, roles=[Role.CONTRIBUTIONS, Role.QUERIES])
    client.force_login(payer.user)
    assert client.get(url).status_code == 403


def test_anonymous_visitor_is_sent_to_login(client, people):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


# Exports ------------------------------------------------------------------------------------


def read_xlsx(response):
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.active
    return sheet, [[cell.value for cell in row] for row in sheet.iter_rows()]


def read_csv(response) -> tuple[bytes, list[list[str]]]:
    raw = b"".join(response.streaming_content)
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_xlsx_export_is_masked_and_keeps_ids_as_text(agent_client, people):
    response = agent_client.get(XLSX)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    sheet, rows = read_xlsx(response)
    assert rows[0][:3] == ["姓名", "证件类型", "证件号码"]
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {"张三", "李四", "王五"}
    assert by_name["张三"][2] == "110105********001X"
    phone = people["zhang"].person.phone
    assert by_name["张三"][4] == phone[:3] + "****" + phone[-4:]
    assert sheet.cell(row=2, column=3).number_format == "@"
    assert sheet.cell(row=2, column=3).data_type == "s"
    assert not AuditEvent.objects.filter(action="roster.export_full").exists()
    assert AuditEvent.objects.filter(action="roster.export").count() == 1


def test_csv_export_has_a_bom_and_is_masked(agent_client, people):
    response = agent_client.get(CSV)
    assert response["Content-Type"].startswith("text/csv")
    raw, rows = read_csv(response)
    assert raw.startswith(b"\xef\xbb\xbf")
    assert rows[0][0] == "姓名"
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["张三"][2] == "110105********001X"
    assert "11010519900307001X" not in raw.decode("utf-8-sig")
    assert "赵外单位" not in raw.decode("utf-8-sig")


def test_export_follows_the_filters(agent_client, people):
    _raw, rows = read_csv(agent_client.post(CSV, {"status": "terminated"}))
    assert [row[0] for row in rows[1:]] == ["李四"]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("full", [False, True])
def test_export_rows_are_the_model_display_values(employer, people, full, language):
    """roster_export_rows reads plain values with label tables: every cell is what the model's
    display methods and masks give, in the active language."""
    from django.utils import translation

    from enrollment.models import InsuranceCode
    from enrollment.roster.exports import roster_export_rows

    people["zhang"].person.phone = ""  # an enrolment without a phone
    people["zhang"].person.save()
    people["li"].last_contribution_month = datetime.date(2026, 3, 1)
    people["li"].save()
    queryset = Enrolment.objects.filter(employer=employer)
    with translation.override(language):
        expected = []
        for enrolment in queryset.order_by("pk"):
            person = enrolment.person
            row = [
                person.name,
                person.get_document_type_display(),
                person.document_number if full else person.masked_document_number,
                person.get_sex_display(),
                (person.phone if full else person.masked_phone) or "",
                person.get_hukou_type_display(),
                enrolment.employment_form.name,
                "、".join(
                    str(dict(InsuranceCode.choices)[code]) for code in enrolment.insurance_codes
                ),
                enrolment.start_month.strftime("%Y-%m"),
                enrolment.contribution_base,
                enrolment.get_status_display(),
                enrolment.last_contribution_month.strftime("%Y-%m")
                if enrolment.last_contribution_month
                else "",
            ]
            if full:
                row.insert(4, person.birth_date.isoformat())
            expected.append(row)

        rows = list(roster_export_rows(queryset, full=full))

    assert rows == expected and len(rows) == 3


def test_full_export_is_refused_without_the_export_permission(agent_client, people):
    response = agent_client.post(XLSX, {"full": "1"})
    assert response.status_code == 403
    event = AuditEvent.objects.get(action="roster.export_full")
    assert event.outcome == "failure"
    assert event.details == {"format": "xlsx", "reason": "no_permission"}


def test_full_export_by_an_agent_who_may_export_is_complete_and_audited(client, employer, people):
    exporter = create_agent(employer, roles=[Role.ENROLMENT, Role.QUERIES])
    client.force_login(exporter.user)
    sheet, rows = read_xlsx(client.post(XLSX, {"full": "on", "password": PASSWORD}))
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["张三"][2] == "11010519900307001X"
    assert by_name["张三"][4] == "1990-01-01"  # the full export adds the birth date
    assert by_name["张三"][5] == people["zhang"].person.phone
    event = AuditEvent.objects.get(action="roster.export_full", outcome="success")
    assert event.employer_id == employer.pk and event.actor == exporter.user
    assert event.details["format"] == "xlsx"
    assert "11010519900307001X" not in str(event.details)


def test_full_csv_export_by_the_unit_admin_is_audited(client, employer, people):
    admin = create_agent(employer, roles=[Role.UNIT_ADMIN])
    client.force_login(admin.user)
    _raw, rows = read_csv(
        client.post(CSV, {"full": "1", "q": "11010519900307001X", "password": PASSWORD})
    )
    assert [row[2] for row in rows[1:]] == ["11010519900307001X"]
    event = AuditEvent.objects.get(action="roster.export_full", outcome="success")
    assert event.details == {
        "format": "csv",
        "status": "",
        "insurance_code": "",
        "searched": True,
    }


def test_full_is_ignored_on_a_get(client, employer, people):
    admin = create_agent(employer, roles=[Role.UNIT_ADMIN])
    client.force_login(admin.user)
    _raw, rows = read_csv(client.get(CSV, {"full": "1"}))
    assert "110105********001X" in [row[2] for row in rows[1:]]
    assert not AuditEvent.objects.filter(action="roster.export_full").exists()


def test_page_offers_full_export_only_to_agents_who_may_use_it(client, agent_client, employer):
    assert 'name="full"' not in agent_client.get(URL).content.decode()
    exporter = create_agent(employer, roles=[Role.ENROLMENT, Role.QUERIES])
    client.force_login(exporter.user)
    assert 'name="full"' in client.get(URL).content.decode()


def test_cells_that_look_like_formulas_are_neutralised(agent_client, employer):
    create_enrolment(employer, name="=HYPERLINK(1)", document_number=unique_resident_id())
    _raw, rows = read_csv(agent_client.get(CSV))
    assert rows[1][0] == "'=HYPERLINK(1)"


# Full export: the password again (DESIGN.md §11) -----------------------------------------------


@pytest.fixture
def exporter_client(client, employer):
    client.force_login(create_agent(employer, roles=[Role.ENROLMENT, Role.QUERIES]).user)
    return client


def test_full_export_first_asks_for_the_password_and_exports_nothing(exporter_client, people):
    response = exporter_client.post(XLSX, {"full": "1", "status": "active"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert 'type="password"' in body and "再次输入登录密码" in body
    assert 'name="status" value="active"' in body  # the filters are carried to the export
    assert "11010519900307001X" not in body
    assert not AuditEvent.objects.filter(action="roster.export_full").exists()


def test_full_export_with_a_wrong_password_shows_the_message_and_exports_nothing(
    exporter_client, employer, people
):
    response = exporter_client.post(CSV, {"full": "1", "password": "wrong-password"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "密码不正确,未导出任何数据;" in body
    assert "is-invalid" in body  # the message sits next to the field
    assert "11010519900307001X" not in body
    event = AuditEvent.objects.get(action="roster.export_full")
    assert event.outcome == "failure" and event.employer_id == employer.pk
    assert event.details == {"format": "csv", "reason": "password_incorrect"}

    empty = exporter_client.post(CSV, {"full": "1", "password": ""})
    assert "完整导出须输入您的登录密码。" in empty.content.decode()


def test_full_export_with_the_right_password_exports_and_audits(exporter_client, people):
    response = exporter_client.post(CSV, {"full": "1", "password": PASSWORD, "status": "active"})
    raw, rows = read_csv(response)
    assert sorted(row[0] for row in rows[1:]) == ["张三", "王五"]
    assert "11010519900307001X" in raw.decode("utf-8-sig")
    event = AuditEvent.objects.get(action="roster.export_full")
    assert event.outcome == "success"
    assert event.details == {
        "format": "csv",
        "status": "active",
        "insurance_code": "",
        "searched": False,
    }


def test_wrong_passwords_are_limited_per_agent(exporter_client, people, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_failures_per_agent": 2}
    for _ in range(2):
        exporter_client.post(XLSX, {"full": "1", "password": "nope"})
    response = exporter_client.post(XLSX, {"full": "1", "password": PASSWORD})
    assert response["Content-Type"].startswith("text/html")
    assert "密码连续输错次数过多" in response.content.decode()
    assert not AuditEvent.objects.filter(action="roster.export_full", outcome="success").exists()


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": Enrolment.Status.TERMINATED},
        {"insurance_code": "410"},
        {"status": "bogus"},
        {"q": "周"},  # a name search: its ids first, then their rows
    ],
)
def test_the_compiled_pages_hold_the_filtered_roster_newest_first(
    agent, employer, people, monkeypatch, filters
):
    from enrollment.roster import selectors

    for number in range(4):
        create_enrolment(employer, name=f"周{number}", insurance_codes=["410", "110"])
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    expected = list(roster_for_agent(agent, **filters).order_by("-pk").values_list("pk", flat=True))
    seen, number = [], 1
    while True:
        page = selectors.roster_page(agent, number, **filters)
        assert page.paginator.count == len(expected)
        seen += [row.pk for row in page.object_list]
        if not page.has_next():
            break
        number += 1
    assert seen == expected
    assert people["other"].pk not in seen
    assert len(seen) >= 1
