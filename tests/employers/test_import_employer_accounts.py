import pytest
from django.core.management import CommandError, call_command

from employers.models import OpenedAccount
from portal.models import AuditEvent
from tests.factories import RegionFactory

pytestmark = pytest.mark.django_db

HEADER = "ss_number,uscc,name,region,legal_rep_name,opened_on\n"
GOOD = (
    "11000000101,91350100M000100Y43,福建示例有限公司,110000,陈明,2019-05-06\n"
    "11000000102,91350100M0001TGQXM,早期试点单位,110000,林芳,2016-01-04\n"
)


@pytest.fixture
def region():
    return RegionFactory()


def write(tmp_path, text, encoding="utf-8"):
    path = tmp_path / "accounts.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_import_loads_rows_and_flags_pilot_code(tmp_path, region, capsys):
    call_command("import_employer_accounts", write(tmp_path, HEADER + GOOD))
    out = capsys.readouterr().out
    assert OpenedAccount.objects.count() == 2
    assert "新增 2 个" in out
    assert "第 3 行" in out and "校验位" in out  # the pilot code is loaded but reported
    assert AuditEvent.objects.filter(action="registry.imported").exists()


def test_reimport_is_idempotent_and_updates_changed_rows(tmp_path, region, capsys):
    path = write(tmp_path, HEADER + GOOD)
    call_command("import_employer_accounts", path)
    call_command("import_employer_accounts", path)
    assert "未变 2 个" in capsys.readouterr().out
    changed = GOOD.replace("福建示例有限公司", "福建示例集团有限公司")
    call_command("import_employer_accounts", write(tmp_path, HEADER + changed))
    assert "更新 1 个" in capsys.readouterr().out
    assert OpenedAccount.objects.get(ss_number="11000000101").name == "福建示例集团有限公司"
    assert OpenedAccount.objects.count() == 2


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_still_load(tmp_path, region, capsys):
    text = (
        HEADER
        + GOOD
        + "11000000103,91350100M00010OY4,字母O单位,110000,周强,2020-01-01\n"
        + "11000000104,91110000600037341L,未知统筹区,999999,吴刚,2020-01-01\n"
        + "11000000105,91110108551385082Q,日期错误,110000,郑丽,2020/01/01\n"
        + "11000000106,91350100M000100Y43,信用代码重复,110000,冯静,2020-01-01\n"
        + ",91110108551385082Q,缺社保编号,110000,何军,2020-01-01\n"
    )
    with pytest.raises(CommandError):
        call_command("import_employer_accounts", write(tmp_path, text))
    err = capsys.readouterr().err
    for line in (4, 5, 6, 7, 8):
        assert f"第 {line} 行" in err
    assert "统筹区代码 999999 不存在" in err
    assert "YYYY-MM-DD" in err
    assert "11000000101" in err  # the clashing USCC names the account it belongs to
    assert OpenedAccount.objects.count() == 2


def test_gb18030_file_from_excel_is_read(tmp_path, region):
    call_command("import_employer_accounts", write(tmp_path, HEADER + GOOD, "gb18030"))
    assert OpenedAccount.objects.filter(name="早期试点单位").exists()


def test_missing_column_is_refused(tmp_path, region):
    with pytest.raises(CommandError, match="缺少列"):
        call_command("import_employer_accounts", write(tmp_path, "ss_number,uscc\n1,2\n"))
