"""manage.py resend_notifications: what the beat task portal.notifications.resend_due does."""

from django.core.management.base import BaseCommand

from portal.celery import app
from portal.notifications import notifications_resend_due, notifications_unsent_summary


class Command(BaseCommand):
    help = (
        "重新发送到期未发出的通知(与每 30 秒运行的定时任务相同):重试时间已到的、"
        "消息队列中断时未能排队的、发送中超过租期(工作进程已退出)的。每条通知沿用原幂等键,"
        "短信服务商不会重复下发。未配置 Redis(嵌入式默认)时在本进程内发送。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="本次最多处理的条数")

    def handle(self, *args, limit: int, **options):
        count = notifications_resend_due(limit=limit)
        where = ""
        if count:
            where = "(已在本进程内发送)" if app.conf.task_always_eager else "(已交给通知队列)"
        self.stdout.write(self.style.SUCCESS(f"重新发送 {count} 条到期未发出的通知{where}。"))
        unsent = notifications_unsent_summary()
        if unsent["count"]:
            self.stdout.write(
                f"仍未发出 {unsent['count']} 条,最早的已等待 {unsent['oldest_age_seconds']} 秒"
                "(等待重试的通知到点后再发)。"
            )
