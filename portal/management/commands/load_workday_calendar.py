"""manage.py load_workday_calendar: load a year's statutory holidays and 调休 working days."""

from __future__ import annotations

import csv
import datetime
import json
import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.models import WorkdayOverride
from portal.workdays import CalendarDay, workday_calendar_load

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TYPES = {"holiday": False, "workday": True}
CSV_COLUMNS = ["date", "type", "name"]
JSON_KEYS = {"year", "holidays", "workdays"}
NAME_MAX_LENGTH = WorkdayOverride._meta.get_field("name").max_length


class Command(BaseCommand):
    help = (
        "导入一个年度的法定节假日和调休上班日（国务院办公厅《关于 YYYY 年部分节假日安排的通知》）。"
        "运维须按国务院正式发布的通知逐日录入；portal/fixtures/workday_calendar_example.csv "
        "只是格式示例，其中的日期不是官方安排。"
        "CSV 文件须有表头 date,type,name，type 为 holiday（放假）或 workday（调休上班）；"
        'JSON 文件形如 {"year": 2027, "holidays": [{"date": "2027-01-01", "name": "元旦"}], '
        '"workdays": [...]}。任何一行有误则整个文件都不导入。'
        "导入后该年其余周一至周五为工作日、周六周日为休息日。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV 或 JSON 文件（UTF-8）")
        parser.add_argument(
            "--year", type=int, help="文件所属年度；不给时取文件中的年度（全部日期须在同一年）"
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="删除该年度已导入但本文件中没有的日期（不给时保留并提示）",
        )

    def handle(self, *args, file, year, replace, **options):
        path = Path(file)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".json"):
            raise CommandError(f"{path.name}: 文件须为 .csv 或 .json")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError as exc:
            raise CommandError(f"{file}: 文件不存在") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path.name}: 文件须为 UTF-8 编码") from exc

        parser = CalendarParser(year)
        if suffix == ".csv":
            parser.parse_csv(text)
        else:
            parser.parse_json(text)
        if parser.errors:
            for error in parser.errors:
                self.stderr.write(f"{path.name}: {error}")
            raise CommandError(f"{path.name}: {len(parser.errors)} 处错误，未导入任何数据")

        result = workday_calendar_load(
            year=parser.year, days=parser.days, source=path.name, replace=replace
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.year} 年工作日历已导入：放假 {result.holidays} 天，"
                f"调休上班 {result.workdays} 天（新增 {result.created}，更新 {result.updated}，"
                f"删除 {result.removed}）。"
            )
        )
        if result.kept:
            self.stdout.write(
                self.style.WARNING(
                    f"该年度另有 {result.kept} 个已导入日期不在本文件中，已保留；"
                    "如需删除请加 --replace。"
                )
            )


class CalendarParser:
    """Collect the days of one calendar file and every error, each with its place in the file."""

    def __init__(self, year: int | None):
        self.year = year
        self.days: list[CalendarDay] = []
        self.errors: list[str] = []
        self._seen: dict[datetime.date, str] = {}

    def parse_csv(self, text: str) -> None:
        reader = csv.reader(text.splitlines())
        header = next(reader, None)
        if header is None or [column.strip().lower() for column in header] != CSV_COLUMNS:
            self.errors.append("第 1 行: 表头须为 date,type,name")
            return
        for row in reader:
            where = f"第 {reader.line_num} 行"
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(CSV_COLUMNS):
                self.errors.append(f"{where}: 须有 {len(CSV_COLUMNS)} 列，实有 {len(row)} 列")
                continue
            raw_date, raw_type, name = (cell.strip() for cell in row)
            self._add(where, raw_date, raw_type.lower(), name)
        self._check_not_empty()

    def parse_json(self, text: str) -> None:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self.errors.append(f"第 {exc.lineno} 行: JSON 格式错误（{exc.msg}）")
            return
        if not isinstance(data, dict):
            self.errors.append('顶层须为对象 {"year": ..., "holidays": [...], "workdays": [...]}')
            return
        for key in sorted(set(data) - JSON_KEYS):
            self.errors.append(f"未知的键 {key!r}（只允许 year、holidays、workdays）")
        file_year = data.get("year")
        if not isinstance(file_year, int) or isinstance(file_year, bool):
            self.errors.append("year 须为整数年份")
        elif self.year is not None and file_year != self.year:
            self.errors.append(f"文件中的 year {file_year} 与 --year {self.year} 不符")
        else:
            self.year = file_year
        for key, raw_type in (("holidays", "holiday"), ("workdays", "workday")):
            items = data.get(key, [])
            if not isinstance(items, list):
                self.errors.append(f"{key} 须为数组")
                continue
            for index, item in enumerate(items):
                where = f"{key}[{index}]"
                if not isinstance(item, dict) or not isinstance(item.get("date"), str):
                    self.errors.append(f'{where}: 须为 {{"date": "YYYY-MM-DD", "name": "..."}}')
                    continue
                unknown = sorted(set(item) - {"date", "name"})
                if unknown:
                    self.errors.append(f"{where}: 未知的键 {', '.join(unknown)}")
                    continue
                name = item.get("name", "")
                if not isinstance(name, str):
                    self.errors.append(f"{where}: name 须为文字")
                    continue
                self._add(where, item["date"].strip(), raw_type, name.strip())
        self._check_not_empty()

    def _add(self, where: str, raw_date: str, raw_type: str, name: str) -> None:
        errors_before = len(self.errors)
        day = None
        if not ISO_DATE.fullmatch(raw_date):
            self.errors.append(f"{where}: 日期 {raw_date!r} 须为 YYYY-MM-DD")
        else:
            try:
                day = datetime.date.fromisoformat(raw_date)
            except ValueError:
                self.errors.append(f"{where}: 日期 {raw_date} 不存在")
        if raw_type not in TYPES:
            self.errors.append(f"{where}: 类型 {raw_type!r} 须为 holiday 或 workday")
        if len(name) > NAME_MAX_LENGTH:
            self.errors.append(f"{where}: 说明不能超过 {NAME_MAX_LENGTH} 个字")
        if day is not None:
            if self.year is None:
                # Without --year the first date names the year and every other date must match.
                self.year = day.year
            if day.year != self.year:
                self.errors.append(f"{where}: 日期 {day} 不在 {self.year} 年")
            if day in self._seen:
                self.errors.append(f"{where}: 日期 {day} 与{self._seen[day]}重复")
            else:
                self._seen[day] = where
            # 调休 moves work onto a weekend; a working Monday–Friday needs no row, so it is a typo.
            if raw_type == "workday" and day.weekday() < 5:
                self.errors.append(f"{where}: {day} 是周一至周五，调休上班日应在周六或周日")
        if len(self.errors) == errors_before:
            self.days.append(CalendarDay(date=day, is_working_day=TYPES[raw_type], name=name))

    def _check_not_empty(self) -> None:
        if not self.days and not self.errors:
            self.errors.append("文件中没有任何日期")
