from django.core.management.base import BaseCommand

from portal.review_stats import MEDIAN_DAYS, review_report


class Command(BaseCommand):
    help = (
        "按业务类型、统筹区和审核状态统计审核队列,含超期件数;"
        "并按业务类型和统筹区列出近30日从提交到审核决定的用时中位数。"
        "与管理后台“审核统计”页面的数字相同。"
    )

    def handle(self, *args, **options):
        report = review_report()
        if not report.rows:
            self.stdout.write("审核队列为空。")
        else:
            self.stdout.write("\t".join(("业务类型", "统筹区", "状态", "件数", "超期")))
            for row in report.rows:
                self.stdout.write(
                    f"{row.type}\t{row.region}\t{row.state}\t{row.total}\t{row.overdue}"
                )
            self.stdout.write(f"合计 {report.total} 件,其中超期 {report.overdue} 件。")
        self.stdout.write("")
        self.stdout.write(f"近{MEDIAN_DAYS}日审核用时(从提交到审核决定,中位数):")
        if not report.medians:
            self.stdout.write(f"近{MEDIAN_DAYS}日没有审核决定。")
            return
        self.stdout.write("\t".join(("业务类型", "统筹区", "审核件数", "用时中位数(小时)")))
        for row in report.medians:
            note = "(取最近的部分样本)" if row.sampled else ""
            self.stdout.write(
                f"{row.type}\t{row.region}\t{row.decided}\t{row.median_hours:.1f}{note}"
            )
