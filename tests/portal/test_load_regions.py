"""manage.py load_regions: the GB/T 2260 divisions as pooling regions, idempotent, with history."""

import pytest
from django.core.management import CommandError, call_command

from employers.models import OpenedAccount
from portal.models import AuditEvent, Region
from portal.regions import REGION_FILE

pytestmark = pytest.mark.django_db

HEADER = "# 测试用区划代码\ncode,name,level,parent\n"
HUBEI = "420000,湖北省,province,\n420100,武汉市,prefecture,420000\n"
ACCOUNTS = "ss_number,uscc,name,region,legal_rep_name,opened_on\n"
ACCOUNT = "42000000101,91350100M000100Y43,湖北示例有限公司,420100,陈明,2019-05-06\n"


def write(tmp_path, text, name="regions.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_bundled_file_loads_every_province_and_prefecture_once(capsys):
    call_command("load_regions")
    out = capsys.readouterr().out
    assert Region.objects.filter(level=Region.Level.PROVINCE).count() == 31
    assert Region.objects.filter(level=Region.Level.PREFECTURE).count() == 333
    assert Region.objects.get(code="440300").name == "深圳市"
    assert Region.objects.get(code="110000").name == "北京市"
    assert "新增 364 个" in out

    call_command("load_regions", REGION_FILE)
    out = capsys.readouterr().out
    assert "新增 0 个" in out and "未变 364 个" in out
    assert Region.objects.count() == 364
    assert AuditEvent.objects.filter(action="regions.loaded").count() == 2


def test_a_renamed_code_gets_the_new_name_and_keeps_its_row(tmp_path, capsys):
    call_command("load_regions", write(tmp_path, HEADER + HUBEI))
    wuhan = Region.objects.get(code="420100")
    call_command(
        "load_regions", write(tmp_path, HEADER + HUBEI.replace("武汉市", "武汉新市"), "new.csv")
    )
    out = capsys.readouterr().out
    assert "更名:420100 武汉市 → 武汉新市" in out
    wuhan.refresh_from_db()
    assert wuhan.name == "武汉新市" and wuhan.is_active


def test_a_code_missing_from_a_newer_file_is_kept_as_abolished_and_hand_made_ones_stay(
    tmp_path, capsys
):
    call_command(
        "load_regions",
        write(
            tmp_path, HEADER + HUBEI + "371200,莱芜市,prefecture,370000\n370000,山东省,province,\n"
        ),
    )
    hand_made = Region.objects.create(code="429900", name="湖北省本级")
    call_command("load_regions", write(tmp_path, HEADER + HUBEI + "370000,山东省,province,\n", "b"))
    out = capsys.readouterr().out
    laiwu = Region.objects.get(code="371200")
    assert not laiwu.is_active and laiwu.name == "莱芜市"
    assert "已撤销(保留历史):371200" in out
    hand_made.refresh_from_db()
    assert hand_made.is_active and hand_made.level == ""

    # An abolished code is refused for new accounts, with what to do.
    path = write(tmp_path, ACCOUNTS + ACCOUNT.replace("420100", "371200"), "accounts.csv")
    with pytest.raises(CommandError):
        call_command("import_employer_accounts", path)
    assert "371200(莱芜市)已撤销" in capsys.readouterr().err

    # Listed again (a file that restores it), it is in force again.
    call_command("load_regions", write(tmp_path, HEADER + HUBEI, "c"), "--keep-missing")
    assert not Region.objects.get(code="371200").is_active  # --keep-missing retires nothing
    call_command(
        "load_regions",
        write(
            tmp_path, HEADER + HUBEI + "370000,山东省,province,\n371200,莱芜市,prefecture,370000\n"
        ),
    )
    assert Region.objects.get(code="371200").is_active


def test_a_bad_line_loads_nothing_and_names_every_bad_line(tmp_path, capsys):
    text = (
        HEADER
        + HUBEI
        + "42010,短代码,prefecture,420000\n"
        + "430100,长沙市,prefecture,430000\n"  # its province is not in the file
        + "420100,重复,prefecture,420000\n"
        + "420200,黄石市,county,420000\n"
    )
    with pytest.raises(CommandError, match="未载入任何区划代码"):
        call_command("load_regions", write(tmp_path, text))
    err = capsys.readouterr().err
    for line in (5, 6, 7, 8):
        assert f"第 {line} 行" in err
    assert not Region.objects.exists()


def test_a_file_without_the_columns_is_refused(tmp_path):
    with pytest.raises(CommandError):
        call_command("load_regions", write(tmp_path, "code,name\n110000,北京市\n"))
    with pytest.raises(CommandError, match="文件不存在"):
        call_command("load_regions", tmp_path / "missing.csv")


def test_the_account_import_on_a_fresh_database_says_to_load_the_regions(tmp_path, capsys):
    path = write(tmp_path, ACCOUNTS + ACCOUNT, "accounts.csv")
    with pytest.raises(CommandError):
        call_command("import_employer_accounts", path)
    assert "先运行 python manage.py load_regions" in capsys.readouterr().err

    call_command("load_regions")
    call_command("import_employer_accounts", path)
    assert OpenedAccount.objects.get(ss_number="42000000101").region.name == "武汉市"


def test_seed_demo_uses_the_real_beijing_code_whichever_runs_first():
    call_command("load_regions")
    call_command("seed_demo")
    beijing = Region.objects.get(code="110000")
    assert beijing.name == "北京市" and beijing.level == Region.Level.PROVINCE
    assert OpenedAccount.objects.filter(region=beijing).count() == 3
    call_command("load_regions")
    assert Region.objects.count() == 364
