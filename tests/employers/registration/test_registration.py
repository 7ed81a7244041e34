import re

import pytest
from django.utils import timezone

from employers.models import (
    Agent,
    Employer,
    OpenedAccount,
    PennyDropTransfer,
    RegistrationApplication,
)
from employers.selectors import REGISTRY_MISMATCH, REGISTRY_NAME_MISMATCH
from employers.verification.bank import penny_drop_send
from portal.models import AuditEvent
from tests.factories import OpenedAccountFactory, create_agent, make_resident_id
from tests.support.banking import after_commit

pytestmark = pytest.mark.django_db

LEGAL_REP_ID = make_resident_id("19700101", "male")
AGENT_ID = make_resident_id("19900202", "female")


@pytest.fixture
def account():
    return OpenedAccountFactory(name="注册测试有限公司", legal_rep_name="王测试")


def unit_data(account, **changes):
    data = {
        "name": account.name,
        "uscc": account.uscc,
        "ss_number": account.ss_number,
        "legal_rep_name": account.legal_rep_name,
        "legal_rep_id_number": LEGAL_REP_ID,
    }
    return {**data, **changes}


def code_from(outbox) -> str:
    return re.search(r"验证码 (\d{6})", outbox[-1].text).group(1)


def fill_wizard_until_agent(client, account, outbox, django_capture_on_commit_callbacks):
    """Fill the first three steps; the agent step is next."""
    response = client.post("/register/unit/", unit_data(account))
    assert response.status_code == 302, response.content.decode()[:2000]
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/register/contact/", {"contact_phone": "13911112222", "send_code": "1"})
    client.post(
        "/register/contact/", {"contact_phone": "13911112222", "contact_code": code_from(outbox)}
    )
    response = client.post(
        "/register/bank/",
        {
            "bank_name": "测试银行",
            "bank_account": "6222 0202 0000 5555",
            "bank_account_name": account.name,
        },
    )
    assert response["Location"] == "/register/agent/"


def fill_wizard(client, account, outbox, django_capture_on_commit_callbacks):
    response = client.post("/register/unit/", unit_data(account))
    assert response.status_code == 302, response.content.decode()[:2000]
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/register/contact/", {"contact_phone": "13911112222", "send_code": "1"})
    client.post(
        "/register/contact/", {"contact_phone": "13911112222", "contact_code": code_from(outbox)}
    )
    response = client.post(
        "/register/bank/",
        {
            "bank_name": "测试银行",
            "bank_account": "6222 0202 0000 5555",
            "bank_account_name": account.name,
        },
    )
    assert response["Location"] == "/register/agent/"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/register/agent/", {"agent_phone": "13933334444", "send_code": "1"})
    response = client.post(
        "/register/agent/",
        {
            "agent_name": "李经办",
            "agent_id_number": AGENT_ID,
            "agent_phone": "13933334444",
            "agent_code": code_from(outbox),
            "password": "Portal2026ok",
            "password2": "Portal2026ok",
        },
    )
    assert response["Location"] == "/register/confirm/"
    response = client.post("/register/confirm/")
    assert response.status_code == 302
    return RegistrationApplication.objects.get(account=account)


def test_registration_with_penny_drop_reaches_status_page(
    client, account, sms_outbox, django_capture_on_commit_callbacks
):
    application = fill_wizard(client, account, sms_outbox, django_capture_on_commit_callbacks)
    assert application.employer.status == Employer.Status.UNVERIFIED
    admin = Agent.objects.get(employer=application.employer)
    assert admin.roles == ["unit_admin"] and admin.user.check_password("Portal2026ok")

    url = f"/registration/{application.reference}/verify/bank/"
    client.post(url, {"request_transfer": "1"})
    # Until the worker's call to the bank is answered, the page says so and takes no amount.
    page = client.get(url).content.decode()
    assert "正在等待银行受理" in page and 'name="amount"' not in page
    response = client.post(url, {"amount": "0.01"})
    assert "尚未汇出" in response.content.decode()
    with after_commit():
        client.post(url, {"request_transfer": "1"})  # refused (one is active): nothing new
    assert PennyDropTransfer.objects.filter(application=application).count() == 1
    penny_drop_send(transfer_id=PennyDropTransfer.objects.get(application=application).pk)
    transfer = PennyDropTransfer.objects.get(application=application)
    assert transfer.state == PennyDropTransfer.State.SENT and transfer.wrong_attempts == 0
    wrong = f"0.{(transfer.amount_fen % 99) + 1:02d}"
    # Typed before the money can have arrived: refused, and no try is used.
    response = client.post(url, {"amount": wrong})
    assert "到账前无法核对金额" in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.wrong_attempts == 0
    PennyDropTransfer.objects.filter(pk=transfer.pk).update(arrives_on=timezone.localdate())
    response = client.post(url, {"amount": wrong})
    assert "不正确" in response.content.decode() or "错误" in response.content.decode()
    response = client.post(url, {"amount": f"{transfer.amount_fen / 100:.2f}"})
    assert response["Location"] == f"/registration/{application.reference}/"

    application.refresh_from_db()
    assert application.state == RegistrationApplication.State.SUBMITTED
    assert application.employer.status == Employer.Status.PENDING
    page = client.get(response["Location"]).content.decode()
    assert "审核中" in page and "预计审核完成" in page
    assert AuditEvent.objects.filter(action="registration.submitted").exists()


def test_registry_mismatch_shows_the_message_and_keeps_input(client, account):
    response = client.post("/register/unit/", unit_data(account, ss_number="99999999999"))
    body = response.content.decode()
    assert response.context["form"].errors["ss_number"] == [str(REGISTRY_MISMATCH)]
    assert body.count("单位社保编号与该统一社会信用代码的开户登记不一致") == 2  # summary + field
    assert account.uscc in body and "99999999999" in body  # nothing typed is lost


def test_a_name_differing_only_in_full_width_brackets_or_spaces_matches_the_registry(
    client, account
):
    OpenedAccount.objects.filter(pk=account.pk).update(name="福州市测试科技有限公司(分公司)")
    typed = "福州市 测试科技有限公司（分公司）"
    response = client.post("/register/unit/", unit_data(account, name=typed))
    assert response.status_code == 302, response.context["form"].errors


def test_a_name_that_differs_is_told_on_the_name_field(client, account):
    response = client.post("/register/unit/", unit_data(account, name=account.name + "分部"))
    assert response.context["form"].errors["name"] == [str(REGISTRY_NAME_MISMATCH)]
    assert "ss_number" not in response.context["form"].errors


def test_full_width_codes_are_read_as_the_same_unit(client, account):
    wide = str.maketrans(
        "0123456789ABCDEFGHJKLMNPQRTUWXY",
        "０１２３４５６７８９ＡＢＣＤＥＦＧＨＪＫＬＭＮＰＱＲＴＵＷＸＹ",
    )
    data = unit_data(
        account, uscc=account.uscc.translate(wide), ss_number=account.ss_number.translate(wide)
    )
    response = client.post("/register/unit/", data)
    assert response.status_code == 302, response.context["form"].errors


def test_bad_id_number_gets_a_field_message(client, account):
    bad = LEGAL_REP_ID[:-1] + ("0" if LEGAL_REP_ID[-1] != "0" else "1")
    response = client.post("/register/unit/", unit_data(account, legal_rep_id_number=bad))
    assert "校验位不正确" in response.content.decode()


def test_going_back_keeps_what_was_typed(client, account):
    client.post("/register/unit/", unit_data(account))
    body = client.get("/register/unit/").content.decode()
    assert account.uscc in body and account.name in body


def test_later_step_cannot_be_skipped_to(client, account):
    response = client.get("/register/bank/")
    assert response["Location"] == "/register/unit/"


def test_wrong_sms_code_is_refused_next_to_the_field(
    client, account, sms_outbox, django_capture_on_commit_callbacks
):
    client.post("/register/unit/", unit_data(account))
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/register/contact/", {"contact_phone": "13911112222", "send_code": "1"})
    code = code_from(sms_outbox)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    response = client.post(
        "/register/contact/", {"contact_phone": "13911112222", "contact_code": wrong}
    )
    assert "验证码不正确" in response.content.decode()
    assert "13911112222" in response.content.decode()


def test_weak_password_is_refused(client, account, sms_outbox, django_capture_on_commit_callbacks):
    client.post("/register/unit/", unit_data(account))
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/register/contact/", {"contact_phone": "13911112222", "send_code": "1"})
    client.post(
        "/register/contact/",
        {"contact_phone": "13911112222", "contact_code": code_from(sms_outbox)},
    )
    client.post(
        "/register/bank/",
        {
            "bank_name": "测试银行",
            "bank_account": "62220202000055",
            "bank_account_name": account.name,
        },
    )
    response = client.post(
        "/register/agent/",
        {
            "agent_name": "李经办",
            "agent_id_number": AGENT_ID,
            "agent_phone": "13933334444",
            "agent_code": "123456",
            "password": "abcdefgh",
            "password2": "abcdefgh",
        },
    )
    assert "同时包含字母和数字" in response.content.decode()


def test_unit_under_review_cannot_register_again(
    client, account, sms_outbox, django_capture_on_commit_callbacks
):
    application = fill_wizard(client, account, sms_outbox, django_capture_on_commit_callbacks)
    RegistrationApplication.objects.filter(pk=application.pk).update(state="submitted")
    Employer.objects.filter(pk=application.employer_id).update(status=Employer.Status.PENDING)
    from django.test import Client

    other = Client()
    from django.core.cache import cache

    cache.clear()
    # Told at the first step, before any SMS code is sent.
    sent = len(sms_outbox)
    response = other.post("/register/unit/", unit_data(account))
    assert response.status_code == 200
    assert "正在审核中" in response.content.decode()
    assert len(sms_outbox) == sent


def test_status_page_is_only_for_the_browser_that_applied(
    client, account, sms_outbox, django_capture_on_commit_callbacks
):
    application = fill_wizard(client, account, sms_outbox, django_capture_on_commit_callbacks)
    from django.test import Client

    elsewhere = Client()
    response = elsewhere.get(f"/registration/{application.reference}/")
    # Another browser is sent to log in (as for a reference that does not exist: nothing told).
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    page = elsewhere.get(response["Location"]).content.decode()
    assert "请用注册时设置的单位管理员账号" in page
    missing = Client().get("/registration/ZC999999999999/")
    assert missing.status_code == 302 and missing["Location"].startswith("/login/")
    # The unit's administrator, logged in, sees it; an agent of another unit does not.
    elsewhere.force_login(Agent.objects.get(employer=application.employer).user)
    assert elsewhere.get(f"/registration/{application.reference}/").status_code == 200
    stranger = Client()
    stranger.force_login(create_agent().user)
    assert stranger.get(f"/registration/{application.reference}/").status_code == 404
    assert client.get(f"/registration/{application.reference}/").status_code == 200


def test_registration_with_ca_certificate(
    client, account, sms_outbox, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from employers.verification import testing as ca_testing
    from employers.verification.ca_services import ca_root_trust

    now = timezone.now()
    ca = ca_testing.create_test_ca(now=now)
    ca_root_trust(pem=ca_testing.certificate_pem(ca.certificate), name="测试CA")
    key, cert = ca_testing.issue_unit_certificate(ca, uscc=account.uscc, now=now)
    application = fill_wizard(client, account, sms_outbox, django_capture_on_commit_callbacks)

    url = f"/registration/{application.reference}/verify/ca/"
    page = client.get(url).content.decode()
    nonce = client.session["ca_challenge"]
    assert nonce in page
    upload = SimpleUploadedFile("unit.pem", ca_testing.certificate_pem(cert))
    signature = ca_testing.sign_challenge(ca_testing.key_pem(key), nonce)
    response = client.post(url, {"certificate": upload, "signature": signature})
    assert response["Location"] == f"/registration/{application.reference}/"
    application.refresh_from_db()
    assert application.verification_method == "ca"
    assert application.verification_evidence["uscc"] == account.uscc
    assert application.state == RegistrationApplication.State.SUBMITTED


def test_certificate_of_another_unit_is_refused_next_to_the_field(
    client, account, sms_outbox, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from employers.verification import testing as ca_testing
    from employers.verification.ca_services import ca_root_trust
    from tests.factories import make_uscc

    now = timezone.now()
    ca = ca_testing.create_test_ca(now=now)
    ca_root_trust(pem=ca_testing.certificate_pem(ca.certificate), name="测试CA")
    key, cert = ca_testing.issue_unit_certificate(ca, uscc=make_uscc(), now=now)
    application = fill_wizard(client, account, sms_outbox, django_capture_on_commit_callbacks)
    url = f"/registration/{application.reference}/verify/ca/"
    client.get(url)
    nonce = client.session["ca_challenge"]
    response = client.post(
        url,
        {
            "certificate": SimpleUploadedFile("unit.pem", ca_testing.certificate_pem(cert)),
            "signature": ca_testing.sign_challenge(ca_testing.key_pem(key), nonce),
        },
    )
    assert "证书不属于本单位" in response.content.decode()
    application.refresh_from_db()
    assert application.verified_at is None
    # The old signature is gone from the box: the page carries a new challenge to sign.
    assert response.context["form"]["signature"].value() == ""
    assert client.session["ca_challenge"] != nonce


@pytest.mark.urls("portal.urls")
def test_registration_with_face_recognition_in_the_sandbox(
    client, account, sms_outbox, django_capture_on_commit_callbacks, settings
):
    settings.SANDBOX_PROVIDERS = True
    application = fill_wizard(client, account, sms_outbox, django_capture_on_commit_callbacks)
    url = f"/registration/{application.reference}/verify/face/"
    response = client.post(url)
    sandbox_url = response["Location"]
    assert "/verify/sandbox/face/" in sandbox_url
    assert "人脸识别" in client.get(sandbox_url).content.decode()
    response = client.post(sandbox_url, {"result": "pass"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.verification_method == "face"
    assert "人脸识别已通过" in client.get(url).content.decode()
    response = client.post(url)
    assert response["Location"] == f"/registration/{application.reference}/"
    application.refresh_from_db()
    assert application.state == RegistrationApplication.State.SUBMITTED


def test_uscc_with_wrong_check_character_is_refused_next_to_the_field(client, account):
    wrong = account.uscc[:-1] + ("0" if account.uscc[-1] != "0" else "1")
    response = client.post("/register/unit/", unit_data(account, uscc=wrong))
    assert "统一社会信用代码校验位不正确" in response.content.decode()


def test_pilot_code_in_the_registry_is_accepted_and_flagged(
    client, sms_outbox, django_capture_on_commit_callbacks
):
    pilot = OpenedAccountFactory(
        uscc="91350100M0001TGQXM", name="早期试点单位", legal_rep_name="林芳"
    )
    application = fill_wizard(client, pilot, sms_outbox, django_capture_on_commit_callbacks)
    assert application.flags == [RegistrationApplication.Flag.USCC_CHECKSUM]


def test_getting_the_agents_code_keeps_the_passwords_typed(
    client, account, sms_outbox, django_capture_on_commit_callbacks
):
    fill_wizard_until_agent(client, account, sms_outbox, django_capture_on_commit_callbacks)
    typed = {
        "agent_name": "李经办",
        "agent_id_number": AGENT_ID,
        "agent_phone": "13933334444",
        "password": "Portal2026ok",
        "password2": "Portal2026ok",
        "send_code": "1",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/register/agent/", typed)
    body = response.content.decode()
    assert 'value="Portal2026ok"' in body and "李经办" in body
    assert "no-store" in response["Cache-Control"]


def test_a_registry_code_failing_the_check_digit_can_still_register(
    client, sms_outbox, django_capture_on_commit_callbacks
):
    # Early pilot codes fail GB 32100's check digit but are legal: the registry vouches for
    # them, and the clerk is asked to check the licence (a pre-check and a flag).
    valid = OpenedAccountFactory().uscc
    wrong_digit = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    pilot = OpenedAccountFactory(uscc=wrong_digit, name="试点代码有限公司", legal_rep_name="王测试")
    application = fill_wizard(client, pilot, sms_outbox, django_capture_on_commit_callbacks)
    assert application.employer.uscc == wrong_digit
    assert RegistrationApplication.Flag.USCC_CHECKSUM in application.flags
