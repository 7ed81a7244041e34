import datetime
import json
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.management.commands.load_workday_calendar import Command
from portal.models import AuditEvent, WorkdayCalendarYear, WorkdayOverride
from portal.workdays import add_working_days, is_working_day

pytestmark = pytest.mark.django_db

D = datetime.date
EXAMPLE = Path(settings.BASE_DIR) / "portal" / "fixtures" / "workday_calendar_example.csv"

CSV_2027 = """date,type,name
2027-01-01,holiday,元旦
2027-02-08,holiday,春节
2027-02-20,workday,春节
"""


def load(path, *args):
    out, err = StringIO(), StringIO()
    call_command("load_workday_calendar", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def load_refused(path, *args):
    err = StringIO()
    with pytest.raises(CommandError, match="未导入任何数据") as excinfo:
        call_command("load_workday_calendar", str(path), *args, stdout=StringIO(), stderr=err)
    return str(excinfo.value), err.getvalue()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def overrides():
    return {o.date: (o.is_working_day, o.name) for o in WorkdayOverride.objects.all()}


def test_csv_loads_days_year_and_audit_row(tmp_path):
    out, _ = load(write(tmp_path, "2027.csv", CSV_2027), "--year", "2027")

    assert overrides() == {
        D(2027, 1, 1): (False, "元旦"),
        D(2027, 2, 8): (False, "春节"),
        D(2027, 2, 20): (True, "春节"),
    }
    assert WorkdayCalendarYear.objects.get().year == 2027
    event = AuditEvent.objects.get(action="workdays.loaded")
    assert event.details["year"] == 2027
    assert event.details["days"] == 3
    assert "2027 年工作日历已导入" in out
    assert "放假 2 天" in out and "调休上班 1 天" in out


def test_loaded_calendar_drives_working_days(tmp_path, caplog):
    load(write(tmp_path, "2027.csv", CSV_2027))

    assert not is_working_day(D(2027, 2, 8))
    assert is_working_day(D(2027, 2, 20))
    assert add_working_days(D(2027, 2, 5), 1) == D(2027, 2, 9)
    assert not [r for r in caplog.records if r.name == "portal.workdays"]


def test_loading_twice_is_idempotent(tmp_path):
    path = write(tmp_path, "2027.csv", CSV_2027)
    load(path)
    out, _ = load(path)

    assert WorkdayOverride.objects.count() == 3
    assert WorkdayCalendarYear.objects.count() == 1
    assert "新增 0，更新 3" in out


def test_days_missing_from_a_new_file_are_kept_unless_replace(tmp_path):
    load(write(tmp_path, "2027.csv", CSV_2027))
    smaller = write(tmp_path, "2027-fixed.csv", "date,type,name\n2027-01-01,holiday,元旦\n")

    out, _ = load(smaller)
    assert WorkdayOverride.objects.count() == 3
    assert "2 个已导入日期不在本文件中" in out

    out, _ = load(smaller, "--replace")
    assert list(overrides()) == [D(2027, 1, 1)]
    assert "删除 2" in out


def test_replace_leaves_other_years_alone(tmp_path):
    WorkdayOverride.objects.create(date=D(2026, 10, 1), is_working_day=False, name="国庆节")
    load(write(tmp_path, "2027.csv", CSV_2027), "--replace")

    assert WorkdayOverride.objects.filter(date=D(2026, 10, 1)).exists()


def test_json_loads(tmp_path):
    data = {
        "year": 2027,
        "holidays": [{"date": "2027-01-01", "name": "元旦"}, {"date": "2027-02-08"}],
        "workdays": [{"date": "2027-02-20", "name": "春节"}],
    }
    load(write(tmp_path, "2027.json", json.dumps(data, ensure_ascii=False)))

    assert overrides() == {
        D(2027, 1, 1): (False, "元旦"),
        D(2027, 2, 8): (False, ""),
        D(2027, 2, 20): (True, "春节"),
    }
    assert AuditEvent.objects.filter(action="workdays.loaded").count() == 1


def test_example_file_loads():
    out, _ = load(EXAMPLE, "--year", "2027")

    assert "2027 年工作日历已导入" in out
    assert not is_working_day(D(2027, 2, 8))


def test_every_bad_line_is_reported_and_nothing_is_loaded(tmp_path):
    path = write(
        tmp_path,
        "2027.csv",
        "date,type,name\n"
        "2027-01-01,holiday,元旦\n"
        "2027-02-30,holiday,春节\n"
        "2026-10-01,holiday,国庆节\n"
        "2027-02-09,vacation,春节\n"
        "2027/02/10,holiday,春节\n"
        "2027-01-01,holiday,元旦\n"
        "2027-02-22,workday,春节\n",
    )

    message, err = load_refused(path, "--year", "2027")

    assert "6 处错误" in message
    assert "第 3 行" in err and "不存在" in err
    assert "第 4 行" in err and "不在 2027 年" in err
    assert "第 5 行" in err and "'vacation'" in err
    assert "第 6 行" in err and "YYYY-MM-DD" in err
    assert "第 7 行" in err and "重复" in err
    assert "第 8 行" in err and "周六或周日" in err
    assert "2027.csv: 第 2 行" not in err
    assert not WorkdayOverride.objects.exists()
    assert not WorkdayCalendarYear.objects.exists()
    assert not AuditEvent.objects.exists()


def test_year_comes_from_the_first_date_without_year_option(tmp_path):
    path = write(
        tmp_path, "mixed.csv", "date,type,name\n2027-01-01,holiday,元旦\n2028-01-01,holiday,元旦\n"
    )

    _, err = load_refused(path)

    assert "第 3 行" in err and "不在 2027 年" in err


def test_header_is_required(tmp_path):
    path = write(tmp_path, "2027.csv", "2027-01-01,holiday,元旦\n")

    _, err = load_refused(path)

    assert "表头" in err
    assert not WorkdayOverride.objects.exists()


def test_json_errors_name_the_entry(tmp_path):
    data = {
        "year": 2027,
        "holidays": [{"date": "2027-01-01"}, {"date": "2028-01-01"}],
        "workdays": [{"date": "2027-02-20", "when": "x"}],
        "extra": [],
    }
    path = write(tmp_path, "2027.json", json.dumps(data))

    _, err = load_refused(path)

    assert "holidays[1]" in err and "不在 2027 年" in err
    assert "workdays[0]" in err and "when" in err
    assert "'extra'" in err
    assert not WorkdayOverride.objects.exists()


def test_json_year_must_match_year_option(tmp_path):
    data = {"year": 2027, "holidays": [{"date": "2027-01-01"}]}
    path = write(tmp_path, "2027.json", json.dumps(data))

    _, err = load_refused(path, "--year", "2028")

    assert "--year 2028" in err


def test_broken_json_reports_its_line(tmp_path):
    path = write(tmp_path, "2027.json", '{"year": 2027,\n "holidays": [\n}')

    _, err = load_refused(path)

    assert "第 3 行" in err


def test_unknown_file_type_is_refused(tmp_path):
    path = write(tmp_path, "2027.txt", CSV_2027)

    with pytest.raises(CommandError, match=r"\.csv 或 \.json"):
        load(path)


def test_help_says_to_load_the_state_council_notice_and_the_example_is_not_official():
    text = Command().create_parser("manage.py", "load_workday_calendar").format_help()

    assert "国务院" in text
    assert "workday_calendar_example.csv" in text
    assert "不是官方安排" in text
