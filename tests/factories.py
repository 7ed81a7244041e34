"""factory_boy factories shared by the test suite."""

import datetime
import itertools

import factory

from employers.models import Employer, OpenedAccount, Role
from employers.services import agent_create, employer_create
from portal.identifiers import resident_id_check_char, uscc_check_char
from portal.models import Region

_serial = itertools.count(1)


def make_resident_id(birth: str = "19880808", sex: str = "female") -> str:
    """Return a valid resident ID number, unique per call."""
    sequence = next(_serial) % 500
    order = f"{sequence:02d}"[-2:] + ("1" if sex == "male" else "2")
    first17 = "110105" + birth + order
    return first17 + resident_id_check_char(first17)


def make_uscc() -> str:
    first17 = f"9111010{next(_serial):010d}"
    return first17 + uscc_check_char(first17)


def make_phone() -> str:
    return f"139{next(_serial):08d}"


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ["code"]

    code = "110000"
    name = "北京市(测试)"


class OpenedAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpenedAccount

    ss_number = factory.Sequence(lambda n: f"1100{n:07d}")
    uscc = factory.LazyFunction(make_uscc)
    name = factory.Sequence(lambda n: f"测试单位{n}有限公司")
    region = factory.SubFactory(RegionFactory)
    legal_rep_name = "王测试"
    opened_on = datetime.date(2020, 1, 1)


def create_employer(status: str = Employer.Status.ACTIVE, **account_fields) -> Employer:
    return employer_create(
        account=OpenedAccountFactory(**account_fields),
        legal_rep_id_number=make_resident_id("19700101", "male"),
        contact_phone=make_phone(),
        bank_name="测试银行",
        bank_account="6222020200009876543",
        bank_account_name="测试单位",
        status=status,
    )


def create_agent(employer: Employer | None = None, roles=(Role.UNIT_ADMIN,), **fields):
    employer = employer or create_employer()
    return agent_create(
        employer=employer,
        name=fields.pop("name", "测试经办人"),
        id_number=fields.pop("id_number", None) or make_resident_id(),
        phone=fields.pop("phone", None) or make_phone(),
        password=fields.pop("password", "Test2026pass"),
        roles=roles,
    )


def create_submitted_application(employer: Employer | None = None, method: str = "bank"):
    """A registration with its identity proof, submitted (pre-checks run when on-commit runs)."""
    from django.utils import timezone

    from employers.models import RegistrationApplication
    from employers.registration.services import registration_submit

    employer = employer or create_employer(status=Employer.Status.UNVERIFIED)
    application = RegistrationApplication.objects.create(
        reference=f"ZC{next(_serial):012d}",
        account=employer.account,
        employer=employer,
        verification_method=method,
        verified_at=timezone.now(),
        verification_evidence={"method": method, "bank_reference": "SANDBOX-TEST"},
    )
    return registration_submit(application=application)


def create_clerk(username: str = "clerk", regions=(), **fields):
    """A staff user in the clerk group (permissions from ``setup_roles``)."""
    from django.contrib.auth import get_user_model

    from portal.review import clerk_group_setup

    group, _codenames = clerk_group_setup()
    user = get_user_model().objects.create_user(
        username=username,
        password=fields.pop("password", "Clerk2026pass"),
        is_staff=True,
        email=fields.pop("email", f"{username}@si.example"),
        **fields,
    )
    user.groups.add(group)
    if regions:
        user.regions.set(regions)
    return user
