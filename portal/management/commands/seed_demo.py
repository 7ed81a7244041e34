"""Load the demo data of every app: a region, opened accounts, one active unit with agents, a clerk,
the demo contribution policy and a demo bill. It lives with the project (portal), the one place
allowed to import every app (DESIGN.md section 2)."""

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from contributions.billing.demo import billing_seed_demo
from contributions.models import RegionalAverageWage
from contributions.policy.services import policy_seed_demo
from employers.helpdesk.demo import helpdesk_seed_demo
from employers.models import Employer, OpenedAccount, Role
from employers.selectors import agent_find
from employers.services import agent_create, employer_create
from portal.identifiers import resident_id_check_char, uscc_check_char
from portal.models import Region
from portal.review import clerk_group_setup

DEMO_PASSWORD = "Demo2026portal"
CLERK_USERNAME = "clerk"


def demo_resident_id(prefix17: str) -> str:
    return prefix17 + resident_id_check_char(prefix17)


def demo_uscc(prefix17: str) -> str:
    return prefix17 + uscc_check_char(prefix17)


DEMO_UNITS = [
    # ss_number, USCC prefix (17), name, legal representative
    ("11000000001", "91110105MA01A1B20", "北京演示科技有限公司", "王建国"),
    ("11000000002", "91110108MA01C3D41", "北京示例餐饮管理有限公司", "李秀英"),
    ("11000000003", "91110106MA01E5F62", "演示物流(北京)有限公司", "张伟"),
]

# What the counter records for each demo unit: industry (GB/T 4754), 工伤 risk class, address.
DEMO_REGISTRY = {
    "11000000001": ("软件和信息技术服务业", 1, "北京市朝阳区演示路1号演示大厦8层"),
    "11000000002": ("餐饮业", 2, "北京市海淀区示例街22号"),
    "11000000003": ("道路货物运输", 4, "北京市丰台区物流园演示路6号"),
}
DEMO_CONTACT = ("赵敏", "北京市朝阳区演示路1号演示大厦8层801室")

DEMO_AGENTS = [
    # name, ID prefix (17), phone, roles
    ("赵敏", "11010519850312002", "13800000001", [Role.UNIT_ADMIN]),
    ("钱磊", "11010819900707003", "13800000002", [Role.ENROLMENT, Role.QUERIES]),
    ("孙悦", "11010619921120004", "13800000003", [Role.CONTRIBUTIONS, Role.QUERIES]),
]


class Command(BaseCommand):
    help = (
        "载入演示数据(可重复执行):统筹区、已开户单位、"
        "一个已激活单位及其经办人、一个经办员超级用户。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEMO_PASSWORD, help="演示账号的密码")

    @transaction.atomic
    def handle(self, *args, password, **options):
        region, _ = Region.objects.get_or_create(code="110000", defaults={"name": "北京市(演示)"})
        # 工伤待遇 bounds the own wage by the region's average wage of the injury year (made up).
        for year in (timezone.localdate().year - 1, timezone.localdate().year):
            RegionalAverageWage.objects.get_or_create(
                region=region, year=year, defaults={"monthly_wage": Decimal("11500.00")}
            )
        policies = policy_seed_demo(region=region)
        accounts = []
        for ss_number, uscc_prefix, name, legal_rep in DEMO_UNITS:
            account, _ = OpenedAccount.objects.update_or_create(
                ss_number=ss_number,
                defaults={
                    "uscc": demo_uscc(uscc_prefix),
                    "name": name,
                    "region": region,
                    "legal_rep_name": legal_rep,
                    "opened_on": datetime.date(2020, 3, 1),
                    "industry": DEMO_REGISTRY[ss_number][0],
                    "injury_risk_class": DEMO_REGISTRY[ss_number][1],
                    "address": DEMO_REGISTRY[ss_number][2],
                },
            )
            accounts.append(account)

        account = accounts[0]
        employer = Employer.objects.filter(account=account).first()
        if employer is None:
            employer = employer_create(
                account=account,
                legal_rep_id_number=demo_resident_id("11010519700101001"),
                contact_phone="13800000000",
                bank_name="中国工商银行北京演示支行",
                bank_account="6222020200001234567",
                bank_account_name=account.name,
                status=Employer.Status.ACTIVE,
            )
        if not employer.contact_name:
            # Demo data: set directly, not through a change filing (as employer_create is).
            employer.contact_name, employer.address = DEMO_CONTACT
            employer.save(update_fields=["contact_name", "address"])

        demo_bill = billing_seed_demo(employer=employer)

        lines = []
        for name, id_prefix, phone, roles in DEMO_AGENTS:
            id_number = demo_resident_id(id_prefix)
            agent = agent_find(employer=employer, id_number=id_number)
            if agent is None:
                agent = agent_create(
                    employer=employer,
                    name=name,
                    id_number=id_number,
                    phone=phone,
                    password=password,
                    roles=roles,
                )
            lines.append((agent, id_number))

        User = get_user_model()
        clerk = User.objects.filter(username=CLERK_USERNAME).first()
        if clerk is None:
            clerk = User.objects.create_superuser(CLERK_USERNAME, "clerk@example.invalid", password)
        clerk_group, _codenames = clerk_group_setup()
        clerk.groups.add(clerk_group)
        otp_device = TOTPDevice.objects.filter(user=clerk, confirmed=True).first()
        if otp_device is None:
            otp_device = TOTPDevice.objects.create(user=clerk, name="演示动态口令", confirmed=True)
        demo_question = helpdesk_seed_demo(
            region=region, employer=employer, agent=lines[1][0], clerk=clerk
        )

        out = self.stdout.write
        out(self.style.SUCCESS("演示数据已就绪(演示数据,非真实单位与人员)。"))
        out(f"  经办管理后台 /admin/  用户名 {CLERK_USERNAME}  密码 {password}")
        out(f"    第二认证因子(TOTP):把此链接加入身份验证器 {otp_device.config_url}")
        out(f"    或开发时用 python manage.py clerk_otp {CLERK_USERNAME} --token 查看当前动态口令")
        out(
            f"  演示单位 {employer.name}  单位社保编号 {employer.ss_number}"
            f"  信用代码 {employer.uscc}"
        )
        for agent, id_number in lines:
            out(
                f"  经办人 {agent.name}  身份证号 {id_number}  密码 {password}  角色 "
                + "、".join(str(label) for label in agent.role_labels())
            )
        for result in policies:
            period = result.period
            out(
                f"  缴费政策(演示数据) {period.starts_on:%Y-%m-%d} 至 {period.ends_on:%Y-%m-%d}"
                f"  缴费基数 {period.base_lower}–{period.base_upper} 元"
            )
        if demo_bill is not None:
            out(
                f"  演示核定单 {demo_bill.reference}  费款所属期 {demo_bill.month:%Y-%m}"
                f"  {demo_bill.person_count} 人  应缴合计 {demo_bill.total} 元"
                f"({demo_bill.get_status_display()});单位已有模拟银行账户"
            )
        out(
            f"  演示留言 {demo_question.reference}(已答复);站内消息、帮助中心 /help/ 的"
            f"统筹区咨询电话已就绪"
        )
        out("  另有两个已开户、尚未注册的单位可用于演示注册:")
        for account in accounts[1:]:
            out(
                f"    {account.name}  单位社保编号 {account.ss_number}  信用代码 {account.uscc}"
                f"  法定代表人 {account.legal_rep_name}"
            )
