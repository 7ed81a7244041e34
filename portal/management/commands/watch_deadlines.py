"""manage.py watch_deadlines: what the beat task portal.review.watch_deadlines does, by hand."""

from django.core.management.base import BaseCommand

from portal.celery import app
from portal.review import review_watch_deadlines


class Command(BaseCommand):
    help = (
        "检查审核时限(与每 5 分钟运行的定时任务相同):把超过办理时限的事项标为逾期,"
        "在截止前 REVIEW_REMINDER_LEAD_HOURS 小时给所在统筹区的经办人员发一次提醒邮件,"
        "并把预审任务未能排队的事项重新排队。可重复执行,提醒只发一次。"
        "未配置 Redis(嵌入式默认)时,提醒和预审在本进程内执行。"
    )

    def handle(self, *args, **options):
        summary = review_watch_deadlines()
        self.stdout.write(
            self.style.SUCCESS(
                f"标为逾期 {summary['overdue']} 件,发出截止前提醒 {summary['reminded']} 件,"
                f"重新排队预审 {summary['requeued']} 件。"
            )
        )
        if app.conf.task_always_eager and (summary["reminded"] or summary["requeued"]):
            self.stdout.write("未配置消息队列:提醒邮件和预审已在本进程内执行。")
