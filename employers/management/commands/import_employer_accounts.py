"""Import the registry of opened accounts from a CSV file."""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from employers.services import ACCOUNT_COLUMNS, opened_accounts_import


def read_csv_rows(path: Path):
    """Yield (line number, row dict) from a UTF-8 (with or without BOM) or GB18030 CSV file."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    reader = csv.DictReader(text.splitlines())
    missing = set(ACCOUNT_COLUMNS) - set(reader.fieldnames or [])
    if missing:
        raise CommandError(
            f"CSV 缺少列:{', '.join(sorted(missing))}(需要 {','.join(ACCOUNT_COLUMNS)})"
        )
    for row in reader:
        yield reader.line_num, row


class Command(BaseCommand):
    help = (
        "导入已开户单位登记簿。CSV 列:ss_number,uscc,name,region,legal_rep_name,opened_on"
        "(region 为统筹区代码,opened_on 为 YYYY-MM-DD)。可重复执行。"
        "统筹区须已载入:新数据库先运行 python manage.py load_regions。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        if not file.exists():
            raise CommandError(f"文件不存在:{file}")
        report = opened_accounts_import(rows=read_csv_rows(file))
        for line, message in report.errors:
            self.stderr.write(f"第 {line} 行:{message}")
        for line, message in report.warnings:
            self.stdout.write(self.style.WARNING(f"第 {line} 行:{message}"))
        summary = (
            f"新增 {report.created} 个,更新 {report.updated} 个,未变 {report.unchanged} 个,"
            f"出错 {len(report.errors)} 行。"
        )
        self.stdout.write(self.style.SUCCESS(summary) if not report.errors else summary)
        if report.errors:
            raise CommandError(f"{len(report.errors)} 行未导入,见上。", returncode=1)
