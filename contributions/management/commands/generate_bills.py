"""Generate the monthly bills (月度核定) of one unit, one region or every active unit."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from contributions.billing.engine import bill_generate_outcome
from contributions.billing.runs import BillRunSummary, bills_generate_all
from contributions.common import parse_month
from employers.models import Employer
from portal.models import Region

HELP = """核定一个月份的费款(可重复执行:数据未变时不产生变化)。
--month 费款所属期,如 2026-08;--unit 只核定该单位社保编号的单位;--region 只核定该统筹区代码下的
正常单位。不给 --unit 和 --region 时核定全部正常单位。已确认或已缴费的核定单不会改动,
差额另开补缴(退费)单。"""


class Command(BaseCommand):
    help = HELP

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="费款所属期,如 2026-08")
        parser.add_argument("--unit", help="单位社保编号")
        parser.add_argument("--region", help="统筹区代码")

    def handle(self, *args, month, unit=None, region=None, **options):
        try:
            month_date = parse_month(month)
        except ValueError:
            raise CommandError(f"费款所属期“{month}”格式不对,应写成 YYYY-MM,如 2026-08") from None
        region_obj = None
        if region:
            region_obj = Region.objects.filter(code=region).first()
            if region_obj is None:
                raise CommandError(f"统筹区代码 {region} 不存在")
        try:
            if unit:
                summary = self._one_unit(unit, month_date, region_obj)
            else:
                summary = bills_generate_all(month=month_date, region=region_obj)
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from None
        self.stdout.write(summary.text())
        if summary.failures:
            raise CommandError(f"{len(summary.failures)} 个单位未能核定,原因见上")

    def _one_unit(self, ss_number, month, region) -> BillRunSummary:
        employer = Employer.objects.select_related("region").filter(ss_number=ss_number).first()
        if employer is None or (region is not None and employer.region_id != region.pk):
            raise CommandError(f"单位社保编号 {ss_number} 不存在")
        result = bill_generate_outcome(employer=employer, month=month)
        summary = BillRunSummary(month=month, units=1)
        summary.record(result)
        if result.bill is not None:
            self.stdout.write(
                f"{employer.name}({employer.ss_number})核定单 {result.bill.reference}"
                f"({result.bill.get_kind_display()}),应缴合计 {result.bill.total} 元"
            )
        return summary
