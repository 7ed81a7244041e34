"""Administrative division codes (GB/T 2260) as the reference data of the pooling regions.

The portal ships the province- and prefecture-level divisions in ``fixtures/regions_gbt2260.csv``
(its header comment names the source and date); ``manage.py load_regions`` loads that file or a
newer edition. Loading is idempotent and keeps history: a code whose name changed is renamed, a
code missing from the new edition is kept (accounts and filings refer to it) but marked no longer
in force, and a region added by hand (no level) is never touched.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from portal.audit import audit_log
from portal.models import Region

REGION_FILE = Path(__file__).resolve().parent / "fixtures" / "regions_gbt2260.csv"
REGION_COLUMNS = ("code", "name", "level", "parent")
CODE_RE = re.compile(r"^\d{6}$")
Level = Region.Level


@dataclass(frozen=True)
class RegionRow:
    line: int
    code: str
    name: str
    level: str
    parent: str


@dataclass
class RegionLoadReport:
    created: int = 0
    unchanged: int = 0
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # code, old, new
    restored: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)


def regions_read(text: str) -> list[RegionRow]:
    """Parse a regions file (``#`` lines are comments); raise listing every bad line."""
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise ValidationError("文件中没有区划代码")
    header = [name.strip() for name in next(csv.reader([lines[0][1]]))]
    missing = [name for name in REGION_COLUMNS if name not in header]
    if missing:
        raise ValidationError(
            f"缺少列 {','.join(missing)}(需要 {','.join(REGION_COLUMNS)})", code="columns"
        )
    rows, errors = [], []
    for number, line in lines[1:]:
        cells = [cell.strip() for cell in next(csv.reader([line]))]
        values = dict(zip(header, cells, strict=False))
        row = RegionRow(number, *(values.get(name) or "" for name in REGION_COLUMNS))
        problem = _row_problem(row)
        if problem:
            errors.append(f"第 {number} 行:{problem}")
        rows.append(row)
    errors += _consistency_problems(rows)
    if errors:
        raise ValidationError(errors, code="invalid")
    return rows


def _row_problem(row: RegionRow) -> str:
    if not CODE_RE.match(row.code):
        return f"区划代码 {row.code!r} 应为 6 位数字"
    if not row.name or len(row.name) > Region._meta.get_field("name").max_length:
        return "名称为空或过长"
    # GB/T 2260: digits 1–2 the province, 3–4 the prefecture, 5–6 the county.
    if row.level == Level.PROVINCE:
        if not row.code.endswith("0000") or row.parent:
            return "省级代码应以 0000 结尾且没有上级代码"
    elif row.level == Level.PREFECTURE:
        if row.code.endswith("0000") or not row.code.endswith("00"):
            return "地级代码应以 00 结尾(不以 0000 结尾)"
        if row.parent != row.code[:2] + "0000":
            return f"上级代码应为 {row.code[:2]}0000"
    else:
        return f"级别 {row.level!r} 应为 province 或 prefecture"
    return ""


def _consistency_problems(rows: list[RegionRow]) -> list[str]:
    problems, seen = [], {}
    provinces = {row.code for row in rows if row.level == Level.PROVINCE}
    for row in rows:
        if row.code in seen:
            problems.append(f"第 {row.line} 行:区划代码 {row.code} 与第 {seen[row.code]} 行重复")
        seen.setdefault(row.code, row.line)
        if row.level == Level.PREFECTURE and row.parent and row.parent not in provinces:
            problems.append(f"第 {row.line} 行:上级代码 {row.parent} 不在文件中")
    return problems


@transaction.atomic
def regions_load(
    *, rows: list[RegionRow], source: str, retire_missing: bool = True, actor=None
) -> RegionLoadReport:
    """Create, rename and restore the listed regions; retire loaded ones the file no longer has."""
    report = RegionLoadReport()
    existing = {region.code: region for region in Region.objects.select_for_update()}
    new = []
    for row in rows:
        region = existing.get(row.code)
        if region is None:
            new.append(Region(code=row.code, name=row.name, level=row.level, is_active=True))
            continue
        changed = []
        if region.name != row.name:
            report.renamed.append((row.code, region.name, row.name))
            region.name = row.name
            changed.append("name")
        if region.level != row.level:
            region.level = row.level
            changed.append("level")
        if not region.is_active:
            report.restored.append(row.code)
            region.is_active = True
            changed.append("is_active")
        if changed:
            region.save(update_fields=changed)
        else:
            report.unchanged += 1
    Region.objects.bulk_create(new)
    report.created = len(new)
    if retire_missing:
        listed = {row.code for row in rows}
        retired = [
            region.code
            for region in existing.values()
            if region.level and region.is_active and region.code not in listed
        ]
        Region.objects.filter(code__in=retired).update(is_active=False)
        report.retired = sorted(retired)
    audit_log(
        action="regions.loaded",
        actor=actor,
        details={
            "source": source,
            "created": report.created,
            "unchanged": report.unchanged,
            "renamed": [code for code, _old, _new in report.renamed],
            "restored": report.restored,
            "retired": report.retired,
        },
    )
    return report
