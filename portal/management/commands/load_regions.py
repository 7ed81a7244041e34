"""manage.py load_regions: load the administrative division codes (GB/T 2260) as regions."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.regions import REGION_COLUMNS, REGION_FILE, regions_load, regions_read


class Command(BaseCommand):
    help = (
        "载入行政区划代码(GB/T 2260)作为统筹区:不给文件时载入随系统提供的 31 个省级、"
        "333 个地级行政区(portal/fixtures/regions_gbt2260.csv,来源和日期见文件开头)。"
        f"CSV 列:{','.join(REGION_COLUMNS)},level 为 province 或 prefecture,# 开头的行为注释。"
        "可重复执行:名称有变的更新名称;已载入而新文件中没有的代码保留(已有单位和业务引用),"
        "标为已撤销,不再用于新开户;在后台手工添加的统筹区不受影响。任何一行有误则整个文件都不载入。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", nargs="?", type=Path, default=REGION_FILE, help="区划代码 CSV(默认随系统提供的)"
        )
        parser.add_argument(
            "--keep-missing",
            action="store_true",
            help="只载入文件中的代码,不把文件中没有的代码标为已撤销(载入部分地区时用)",
        )

    def handle(self, *args, file: Path, keep_missing: bool, **options):
        try:
            raw = file.read_bytes()
        except FileNotFoundError as exc:
            raise CommandError(f"文件不存在:{file}") from exc
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        try:
            rows = regions_read(text)
        except ValidationError as exc:
            for message in exc.messages:
                self.stderr.write(message)
            raise CommandError(f"{file.name}:文件有误,未载入任何区划代码。") from None
        report = regions_load(rows=rows, source=file.name, retire_missing=not keep_missing)
        for code, old, new in report.renamed:
            self.stdout.write(f"更名:{code} {old} → {new}")
        for code in report.retired:
            self.stdout.write(f"已撤销(保留历史):{code}")
        self.stdout.write(
            self.style.SUCCESS(
                f"区划代码 {len(rows)} 个:新增 {report.created} 个,更名 {len(report.renamed)} 个,"
                f"恢复 {len(report.restored)} 个,未变 {report.unchanged} 个,"
                f"标为已撤销 {len(report.retired)} 个。"
            )
        )
