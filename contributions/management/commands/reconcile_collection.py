"""The daily 对账 of one day: bills, collection results and records (exit 1 on mismatches)."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from contributions.collection.reconcile import reconciliation_run

HELP = """征收对账:比对核定单、征收结果和缴费记录,逐条列出差异及原因。
--date 对账日期(YYYY-MM-DD,默认昨天)。结果同时保存到管理后台“征收对账”。
有差异时退出码为 1。"""


class Command(BaseCommand):
    help = HELP

    def add_arguments(self, parser):
        parser.add_argument("--date", help="对账日期,如 2026-08-15;默认昨天")

    def handle(self, *args, date=None, **options):
        if date:
            try:
                day = datetime.date.fromisoformat(date)
            except ValueError:
                raise CommandError(f"对账日期“{date}”格式不对,应写成 YYYY-MM-DD") from None
        else:
            day = timezone.localdate() - datetime.timedelta(days=1)
        report = reconciliation_run(date=day)
        for entry in report.mismatches:
            bill = entry.get("bill") or entry.get("receipt") or "—"
            self.stdout.write(f"{entry['kind']}\t{bill}\t{entry['label']}:{entry['cause']}")
        summary = (
            f"{day:%Y-%m-%d} 对账:核对核定单 {report.bills_checked} 张、"
            f"征收结果 {report.results_checked} 条,差异 {report.mismatch_count} 条"
        )
        if report.mismatch_count:
            self.stderr.write(summary)
            raise SystemExit(1)
        self.stdout.write(summary)
