import copy
import csv
import datetime
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from contributions.models import PolicyPeriod, PolicyRate, RoundingRule
from contributions.policy.reference import PolicyNotFound, base_bounds, contribution_amounts
from portal.models import AuditEvent
from tests.contributions.factories import make_period
from tests.factories import RegionFactory

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
DEMO_JSON = EXAMPLES / "policy-demo.json"
DEMO_CSV = EXAMPLES / "policy-demo.csv"
START = datetime.date(2026, 7, 1)


@pytest.fixture
def region():
    return RegionFactory(code="110000")


@pytest.fixture
def data():
    return json.loads(DEMO_JSON.read_text(encoding="utf-8"))


def write_json(tmp_path, data, name="policy.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def csv_text(data) -> str:
    """The CSV form of a JSON policy: period fields on the first line, one rate per line."""
    period_fields = ["region", "starts_on", "ends_on", "base_lower", "base_upper", "published"]
    period_fields.append("note")
    rate_fields = ["insurance_type", "risk_class", "employer_rate", "personal_rate"]
    rate_fields += ["employer_rounding", "personal_rounding"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(period_fields + rate_fields)
    first = [str(data.get(key, "")) for key in period_fields]
    first[period_fields.index("published")] = str(data.get("published", True)).lower()
    for index, rate in enumerate(data["rates"]):
        period = first if index == 0 else [""] * len(period_fields)
        writer.writerow(period + [rate.get(key, "") for key in rate_fields])
    return out.getvalue()


def run(path, capsys):
    call_command("import_policy", str(path))
    return capsys.readouterr().out


def run_failing(path, capsys):
    with pytest.raises(CommandError):
        call_command("import_policy", str(path))
    captured = capsys.readouterr()
    return captured.err, captured.out


def test_example_json_loads_bounds_rates_and_rounding(region, capsys):
    out = run(DEMO_JSON, capsys)
    period = PolicyPeriod.objects.get()
    assert (period.starts_on.isoformat(), period.ends_on.isoformat()) == (
        "2026-07-01",
        "2027-06-30",
    )
    assert (period.base_lower, period.base_upper) == (Decimal("7520.00"), Decimal("37600.00"))
    assert period.is_published and period.published_at is not None
    assert period.is_demo
    assert PolicyRate.objects.filter(period=period).count() == 11
    assert RoundingRule.objects.filter(region=region).count() == 2
    assert "期间新增" in out and "费率新增 11 条" in out and "(演示数据)" in out
    event = AuditEvent.objects.get(action="policy.imported")
    assert event.details["source"] == "policy-demo.json" and event.details["rates_created"] == 11


def test_example_csv_loads_the_same_policy_as_the_json(region, capsys):
    run(DEMO_CSV, capsys)
    period = PolicyPeriod.objects.get()
    assert PolicyRate.objects.filter(period=period).count() == 11
    out = run(DEMO_JSON, capsys)
    assert "期间未变" in out and "未变 11 条" in out


def test_rerun_is_idempotent_and_writes_no_history(region, capsys):
    run(DEMO_JSON, capsys)
    history = (PolicyPeriod.history.count(), PolicyRate.history.count())
    out = run(DEMO_JSON, capsys)
    assert "期间未变" in out and "费率新增 0 条,更新 0 条,删除 0 条,未变 11 条" in out
    assert (PolicyPeriod.history.count(), PolicyRate.history.count()) == history
    assert PolicyPeriod.objects.count() == 1
    assert AuditEvent.objects.filter(action="policy.imported").count() == 2  # each run audited


def test_reimport_updates_changed_bounds_and_rates(region, data, tmp_path, capsys):
    run(DEMO_JSON, capsys)
    data["base_upper"] = "38000.00"
    data["rates"][0]["employer_rate"] = "0.15"
    data["rates"][2]["personal_rounding"] = "见分进角"
    out = run(write_json(tmp_path, data), capsys)
    assert "期间更新" in out and "更新 1 条" in out and "舍入规则新增 1 条" in out
    assert PolicyPeriod.objects.get().base_upper == Decimal("38000.00")
    amounts = contribution_amounts(region, START, Decimal("8001.00"), ["unemployment"])
    assert amounts["unemployment"].personal == Decimal("40.10")  # 40.005 → 40.01 → 40.10


def test_json_numbers_are_read_as_exact_decimals(region, data, tmp_path, capsys):
    text = json.dumps(data, ensure_ascii=False).replace('"0.098"', "0.098")
    path = tmp_path / "numbers.json"
    path.write_text(text, encoding="utf-8")
    run(path, capsys)
    assert PolicyRate.objects.get(insurance_type="medical").employer_rate == Decimal("0.098")


def test_csv_in_gb18030_from_excel_is_read(region, data, tmp_path, capsys):
    path = tmp_path / "policy.csv"
    path.write_bytes(csv_text(data).encode("gb18030"))
    run(path, capsys)
    assert PolicyPeriod.objects.get().note == data["note"]


def test_overlapping_period_is_refused_naming_the_existing_one(region, data, tmp_path, capsys):
    make_period(region, starts_on=START.replace(year=2025), ends_on=START)
    err, out = run_failing(write_json(tmp_path, data), capsys)
    assert "2025-07-01 至 2026-07-01 重叠" in err
    assert "未导入任何数据" in out
    assert PolicyPeriod.objects.count() == 1
    assert AuditEvent.objects.filter(action="policy.imported", outcome="failure").exists()


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (lambda d: d["rates"][0].update(employer_rate="-0.16"), "rates[0]", "不能为负数"),
        (lambda d: d["rates"][1].update(personal_rate="2"), "rates[1]", "大于 1"),
        (lambda d: d["rates"][0].update(employer_rate="16"), "rates[0]", "0.16 表示 16%"),
        (lambda d: d["rates"][2].update(employer_rate="abc"), "rates[2]", "不是数字"),
        (lambda d: d["rates"][1].update(insurance_type="maternity"), "rates[1]", "未知险种"),
        (lambda d: d["rates"].pop(7), "费率", "工伤保险缺少行业风险类别:五类"),
        (lambda d: d["rates"].pop(2), "费率", "缺少险种:失业保险"),
        (lambda d: d["rates"][3].pop("risk_class"), "rates[3]", "须填写行业风险类别"),
        (lambda d: d["rates"][3].update(risk_class=9), "rates[3]", "应为 1–8"),
        (lambda d: d["rates"][4].update(personal_rate="0.01"), "rates[4]", "工伤保险无个人缴费"),
        (lambda d: d["rates"][0].update(risk_class=1), "rates[0]", "risk_class 应留空"),
        (lambda d: d["rates"].append(dict(d["rates"][1])), "rates[11]", "费率重复"),
        (lambda d: d["rates"][0].update(employer_rounding="bankers"), "rates[0]", "未知舍入规则"),
        (lambda d: d["rates"][0].update(rate="0.1"), "rates[0]", "未知字段 rate"),
        (lambda d: d.update(base_lower="40000"), "期间", "下限 40000 高于上限 39000.00"),
        (lambda d: d.update(base_lower="0"), "期间", "下限应大于 0"),
        (lambda d: d.update(base_upper="37600.005"), "期间", "最多 2 位小数"),
        (lambda d: d.update(ends_on="2026-06-30"), "期间", "截止日期不能早于起始日期"),
        (lambda d: d.update(starts_on="2026/07/01"), "期间", "YYYY-MM-DD"),
        (lambda d: d.update(region="999999"), "期间", "统筹区代码 999999 不存在"),
        (lambda d: d.pop("base_upper"), "期间", "缺少期间字段 base_upper"),
    ],
)
def test_bad_input_is_refused_naming_the_entry_and_nothing_changes(
    region, data, tmp_path, capsys, change, where, message
):
    run(DEMO_JSON, capsys)
    before = list(PolicyRate.objects.values_list("insurance_type", "risk_class", "employer_rate"))
    bad = copy.deepcopy(data)
    bad["base_upper"] = "39000.00"  # a good change that must not land either
    change(bad)
    err, _out = run_failing(write_json(tmp_path, bad), capsys)
    assert any(line.startswith(where) and message in line for line in err.splitlines()), err
    assert PolicyPeriod.objects.get().base_upper == Decimal("37600.00")
    after = list(PolicyRate.objects.values_list("insurance_type", "risk_class", "employer_rate"))
    assert after == before


def test_csv_errors_name_the_line(region, data, tmp_path, capsys):
    text = csv_text(data).splitlines()
    text[3] = text[3].replace("0.005,0.005", "0.005,1.5")  # line 4: unemployment personal rate
    text[5] = "110000,2026-08-01" + text[5][1 + text[5].index(",", 1) :]  # line 6: another start
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    err, _out = run_failing(path, capsys)
    assert "第 6 行:期间字段" in err and "一个文件只导入一个期间" in err
    text[5] = ",,,,,,," + text[5].split(",", 7)[7]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    err, _out = run_failing(path, capsys)
    assert "第 4 行:失业保险个人费率 1.5 大于 1" in err
    assert not PolicyPeriod.objects.exists()


def test_csv_missing_or_unknown_columns_are_refused(region, tmp_path, capsys):
    path = tmp_path / "cols.csv"
    path.write_text("region,starts_on,rate\n110000,2026-07-01,0.1\n", encoding="utf-8")
    err, _out = run_failing(path, capsys)
    assert "CSV 缺少列" in err and "未知列:rate" in err


def test_json_syntax_error_names_the_line(region, tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "region": "110000",\n  "rates": [\n}\n', encoding="utf-8")
    err, _out = run_failing(path, capsys)
    assert "第 4 行" in err and "JSON 格式错误" in err


def test_unpublished_import_is_stored_but_not_used(region, data, tmp_path, capsys):
    data["published"] = False
    run(write_json(tmp_path, data), capsys)
    assert PolicyPeriod.objects.get().published_at is None
    with pytest.raises(PolicyNotFound, match="尚未发布"):
        base_bounds(region, START)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(CommandError, match="文件不存在"):
        call_command("import_policy", str(tmp_path / "nope.json"))
