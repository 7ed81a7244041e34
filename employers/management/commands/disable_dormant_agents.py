from django.conf import settings
from django.core.management.base import BaseCommand

from employers.agents.services import agents_disable_dormant


class Command(BaseCommand):
    help = "停用长期未登录的经办人(与每日定时任务相同;无 beat 的部署可由 cron 调用)。"

    def handle(self, *args, **options):
        count = agents_disable_dormant()
        days = settings.RATE_LIMITS["dormant_agent_days"]
        self.stdout.write(f"已停用 {count} 名连续 {days} 天未登录的经办人。")
