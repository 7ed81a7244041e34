"""Helpers of the login tests: read the captcha's answer from the database (never a test mode)."""

import re

from captcha.models import CaptchaStore

from employers.models import Agent, Employer
from tests.factories import create_agent, create_employer

PASSWORD = "Test2026pass"
CAPTCHA_KEY = re.compile(r'name="captcha_0" value="([0-9a-f]+)"')


def captcha_answer(content: str) -> dict:
    """Return the captcha fields of a rendered form, answered correctly."""
    key = CAPTCHA_KEY.search(content).group(1)
    return {"captcha_0": key, "captcha_1": CaptchaStore.objects.get(hashkey=key).response}


def form_with_captcha(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    return captcha_answer(response.content.decode())


def login(client, *, unit="", id_number, password=PASSWORD, captcha=None, **extra):
    """Post the login form with a correctly answered captcha (unless ``captcha`` is given)."""
    data = {"unit": unit, "id_number": id_number, "password": password, **extra}
    data.update(captcha if captcha is not None else form_with_captcha(client, "/login/"))
    return client.post("/login/", data)


def make_agent(status=Employer.Status.ACTIVE, **fields) -> Agent:
    employer = fields.pop("employer", None) or create_employer(status=status)
    return create_agent(employer=employer, **fields)


def make_application(employer: Employer, reference: str | None = None):
    from employers.models import RegistrationApplication

    return RegistrationApplication.objects.create(
        reference=reference or f"ZC{employer.pk:012d}", account=employer.account, employer=employer
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []
