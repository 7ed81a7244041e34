"""Valid identifiers and the smallest set of rows that holds personal data (Employer, Agent)."""

from __future__ import annotations

import datetime

import factory
from django.contrib.auth import get_user_model

from employers.models import Agent, Employer, OpenedAccount
from portal.identifiers import resident_id_check_char, uscc_check_char
from portal.models import Region

# Two keys in the format of PII_ENCRYPTION_KEYS: "k1" alone, then "k2" current with "k1" kept.
KEY_1 = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
KEY_2 = "k2:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
KEYS_ROTATED = f"{KEY_2},{KEY_1}"


def resident_id(
    area: str = "110105", birth: datetime.date = datetime.date(1949, 12, 31), serial: str = "002"
) -> str:
    """Return a resident ID number with a correct check character."""
    first17 = f"{area}{birth.year:04d}{birth.month:02d}{birth.day:02d}{serial}"
    return first17 + resident_id_check_char(first17)


def uscc(first17: str) -> str:
    """Return a unified social credit code with a correct check character."""
    return first17 + uscc_check_char(first17)


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = "350100"
    name = "福州市"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"pii-user-{n}")


class OpenedAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpenedAccount

    ss_number = factory.Sequence(lambda n: f"35010000{n:06d}")
    uscc = factory.Sequence(lambda n: uscc(f"91350100M{n:08d}"))
    name = factory.Sequence(lambda n: f"福州测试单位{n}有限公司")
    region = factory.SubFactory(RegionFactory)
    legal_rep_name = "张三"
    opened_on = datetime.date(2020, 1, 1)


class EmployerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employer

    account = factory.SubFactory(OpenedAccountFactory)
    name = factory.SelfAttribute("account.name")
    uscc = factory.SelfAttribute("account.uscc")
    ss_number = factory.SelfAttribute("account.ss_number")
    region = factory.SelfAttribute("account.region")
    legal_rep_name = factory.SelfAttribute("account.legal_rep_name")
    legal_rep_id_number = factory.Sequence(lambda n: resident_id(serial=f"{n % 1000:03d}"))
    contact_phone = factory.Sequence(lambda n: f"139{n:08d}")
    bank_name = "中国工商银行福州分行"
    bank_account = factory.Sequence(lambda n: f"6222020200{n:09d}")
    bank_account_name = factory.SelfAttribute("name")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    user = factory.SubFactory(UserFactory)
    employer = factory.SubFactory(EmployerFactory)
    name = "李四"
    id_number = factory.Sequence(
        lambda n: resident_id(
            area="350102", birth=datetime.date(1990, 5, 17), serial=f"{n % 1000:03d}"
        )
    )
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    roles = factory.LazyFunction(lambda: ["unit_admin"])
