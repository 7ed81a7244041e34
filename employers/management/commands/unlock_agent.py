"""Unlock an agent locked after repeated login failures: unlock_agent <unit number> <ID number>."""

from django.core.management.base import BaseCommand, CommandError

from employers.accounts.backends import employer_find
from employers.accounts.lockout import agent_is_locked, agent_unlock
from employers.selectors import agent_find
from portal.identifiers import normalise_resident_id


class Command(BaseCommand):
    help = "解除经办人的登录锁定(单位社保编号或统一社会信用代码 + 经办人身份证号),并记入审计日志。"

    def add_arguments(self, parser):
        parser.add_argument("unit", help="单位社保编号或统一社会信用代码")
        parser.add_argument("id_number", help="经办人身份证号")

    def handle(self, *args, unit, id_number, **options):
        employer = employer_find(unit)
        if employer is None:
            raise CommandError("没有找到该单位:请核对单位社保编号或统一社会信用代码。")
        agent = agent_find(employer=employer, id_number=normalise_resident_id(id_number))
        if agent is None:
            raise CommandError("该单位没有这个身份证号的经办人,请核对。")
        was_locked = agent_is_locked(agent)
        agent_unlock(agent=agent, via="command")
        if was_locked:
            self.stdout.write(self.style.SUCCESS(f"已解除经办人 {agent} 的登录锁定。"))
        else:
            self.stdout.write(f"经办人 {agent} 未被锁定;已清除其登录失败记录。")
