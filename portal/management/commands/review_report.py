from django.core.management.base import BaseCommand

from portal.review import review_queue_report


class Command(BaseCommand):
    help = "按业务类型、统筹区和审核状态统计审核队列,含超期件数。"

    def handle(self, *args, **options):
        rows = review_queue_report()
        if not rows:
            self.stdout.write("审核队列为空。")
            return
        header = ("业务类型", "统筹区", "状态", "件数", "超期")
        self.stdout.write("\t".join(header))
        total = overdue = 0
        for row in rows:
            self.stdout.write(
                f"{row['type']}\t{row['region']}\t{row['state']}\t{row['total']}\t{row['overdue']}"
            )
            total += row["total"]
            overdue += row["overdue"]
        self.stdout.write(f"合计 {total} 件,其中超期 {overdue} 件。")
