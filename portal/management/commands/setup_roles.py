from django.core.management.base import BaseCommand

from portal.review import CLERK_GROUP, clerk_group_setup


class Command(BaseCommand):
    help = "创建或更新经办审核员用户组及其权限(可重复执行)。"

    def handle(self, *args, **options):
        _group, codenames = clerk_group_setup()
        self.stdout.write(f"用户组“{CLERK_GROUP}”已就绪,权限 {len(codenames)} 项。")
        self.stdout.write("将经办人员加入该组:管理后台 → 用户 → 选择用户 → 组。")
