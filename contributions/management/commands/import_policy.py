"""Import one region's contribution policy period (bounds, rates, rounding) from JSON or CSV."""

import csv
import json
from decimal import Decimal
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contributions.policy.services import PERIOD_FIELDS, RATE_FIELDS, policy_period_import

HELP = """导入一个统筹区一个政策期间的缴费基数上下限、费率和舍入规则(JSON 或 CSV,UTF-8 或 GB18030)。
全部校验通过才写入,任何一处错误都不改动数据;重复导入同一文件不产生变化。
同一统筹区、同一起始日期的期间会被更新,其费率以文件为准(文件中没有的费率被删除)。

字段:region 统筹区代码;starts_on、ends_on 起止日期 YYYY-MM-DD;base_lower、base_upper
缴费基数下限、上限(元/月,最多两位小数);published 是否已发布(true/false,默认 true);
note 备注(演示数字请写“演示数据”)。每条费率:insurance_type 险种(pension 养老保险、
medical 医疗保险(含生育)、unemployment 失业保险、work_injury 工伤保险,也可写中文名称);
risk_class 行业风险类别 1–8,仅工伤保险填写且须给出一类至八类;employer_rate、personal_rate
单位、个人费率,小数形式(0.16 表示 16%),0 到 1 之间,工伤保险无个人费率;可选
employer_rounding、personal_rounding 舍入规则(half_up_cent 四舍五入到分、cent_up_to_jiao
见分进角、half_up_jiao 四舍五入到角、truncate_cent 截尾到分;留空则不改变该统筹区的现有规则,
没有规则时按四舍五入到分)。四个险种都须给出。

JSON:一个对象,含上述期间字段和 "rates": [每条费率一个对象],见 docs/examples/policy-demo.json。
CSV:表头 region,starts_on,ends_on,base_lower,base_upper,published,note,insurance_type,
risk_class,employer_rate,personal_rate,employer_rounding,personal_rounding,每行一条费率;期间字段
写在第一行,其后各行留空或与第一行相同,见 docs/examples/policy-demo.csv。"""


class FileFormatError(Exception):
    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def read_json(text: str):
    """Return (period fields, [(where, rate entry)]) from the JSON format."""
    try:
        # Decimal, not float: 0.098 must stay 0.098.
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise FileFormatError(
            [(f"第 {exc.lineno} 行第 {exc.colno} 列", f"JSON 格式错误:{exc.msg}")]
        ) from None
    if not isinstance(data, dict):
        raise FileFormatError([("文件", "JSON 顶层应为一个对象(一个政策期间)")])
    errors = []
    unknown = sorted(set(data) - set(PERIOD_FIELDS) - {"rates"})
    if unknown:
        errors.append(("期间", f"未知字段 {', '.join(unknown)}"))
    rates = data.get("rates")
    if not isinstance(rates, list):
        errors.append(("期间", '缺少 "rates" 列表'))
        rates = []
    entries = []
    for index, entry in enumerate(rates):
        where = f"rates[{index}]"
        if not isinstance(entry, dict):
            errors.append((where, "每条费率应为一个对象"))
            continue
        unknown = sorted(set(entry) - set(RATE_FIELDS))
        if unknown:
            errors.append((where, f"未知字段 {', '.join(unknown)}"))
            continue
        entries.append((where, entry))
    if errors:
        raise FileFormatError(errors)
    period = {key: data[key] for key in PERIOD_FIELDS if key in data}
    return period, entries, "期间"


def read_csv(text: str):
    """Return (period fields, [(where, rate entry)]) from the CSV format, one rate per line."""
    reader = csv.DictReader(text.splitlines())
    columns = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = columns
    required = {"region", "starts_on", "ends_on", "base_lower", "base_upper", "insurance_type"}
    errors = []
    missing = sorted(required - set(columns))
    if missing:
        errors.append(("第 1 行", f"CSV 缺少列:{', '.join(missing)}"))
    unknown = sorted(set(columns) - set(PERIOD_FIELDS) - set(RATE_FIELDS))
    if unknown:
        errors.append(("第 1 行", f"未知列:{', '.join(unknown)}"))
    if errors:
        raise FileFormatError(errors)
    period = None
    period_where = "第 2 行"
    entries = []
    for row in reader:
        where = f"第 {reader.line_num} 行"
        if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
            continue
        if None in row:
            errors.append((where, "列数多于表头"))
            continue
        fields = {key: (row.get(key) or "").strip() for key in PERIOD_FIELDS if key in row}
        if period is None:
            period, period_where = fields, where
        else:
            for key, value in fields.items():
                if value and value != period.get(key, ""):
                    errors.append(
                        (
                            where,
                            f"期间字段 {key}“{value}”与{period_where}“{period.get(key, '')}”"
                            "不一致(一个文件只导入一个期间)",
                        )
                    )
        entries.append((where, {key: row.get(key) or "" for key in RATE_FIELDS if key in row}))
    if errors:
        raise FileFormatError(errors)
    return period or {}, entries, period_where


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        from argparse import RawDescriptionHelpFormatter

        kwargs.setdefault("formatter_class", RawDescriptionHelpFormatter)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="政策文件(.json 或 .csv)")
        parser.add_argument(
            "--format",
            choices=["json", "csv"],
            help="文件格式;缺省时按扩展名判断",
        )

    def handle(self, *args, file: Path, **options):
        if not file.exists():
            raise CommandError(f"文件不存在:{file}")
        text = _read_text(file)
        suffix = file.suffix.lower().lstrip(".")
        kind = options.get("format") or (suffix if suffix in ("json", "csv") else None)
        if kind is None:
            kind = "json" if text.lstrip().startswith("{") else "csv"
        try:
            period, entries, period_where = (read_json if kind == "json" else read_csv)(text)
        except FileFormatError as exc:
            self._fail(exc.errors)
        report = policy_period_import(
            period=period, rates=entries, period_where=period_where, source=file.name
        )
        if report.errors:
            self._fail(report.errors)
        result = report.result
        period_obj = result.period
        outcome = {"created": "新增", "updated": "更新", "unchanged": "未变"}[result.period_outcome]
        summary = (
            f"{period_obj.region} {period_obj.starts_on:%Y-%m-%d} 至 {period_obj.ends_on:%Y-%m-%d}:"
            f"期间{outcome};费率新增 {result.rates_created} 条,更新 {result.rates_updated} 条,"
            f"删除 {result.rates_deleted} 条,未变 {result.rates_unchanged} 条;"
            f"舍入规则新增 {result.rounding_created} 条,更新 {result.rounding_updated} 条,"
            f"未变 {result.rounding_unchanged} 条。"
        )
        if period_obj.is_demo:
            summary += "(演示数据)"
        self.stdout.write(self.style.SUCCESS(summary))

    def _fail(self, errors):
        for where, message in errors:
            self.stderr.write(f"{where}:{message}")
        self.stdout.write(f"出错 {len(errors)} 处,未导入任何数据。")
        raise CommandError(f"{len(errors)} 处错误,未导入,见上。", returncode=1)
