"""A unit registers in real Chromium, from the first wizard page to the status page, once with each
verification method: CA certificate, face recognition (sandbox provider), bank penny-drop."""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP
from tests.factories import OpenedAccountFactory, make_phone, make_resident_id

pytestmark = pytest.mark.e2e

PASSWORD = "Portal2026ok"
# No Python-only syntax here: Playwright hands the pattern to the browser's RegExp.
VERIFY_URL = re.compile(r"/registration/([^/]+)/verify/$")


def sms_code(sms_outbox, phone: str, sent_before: int) -> str:
    """The code of the first SMS to ``phone`` after ``sent_before`` messages (sent on commit)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for message in sms_outbox[sent_before:]:
            match = re.search(r"验证码 ?(\d{6})", message.text)
            if message.phone == phone and match:
                return match.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no SMS code to {phone}; outbox: {[m.text for m in sms_outbox]}")


def request_code(page, sms_outbox, phone_field: str, phone: str) -> str:
    page.fill(f"#id_{phone_field}", phone)
    sent_before = len(sms_outbox)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("body")).to_contain_text("验证码已发送至")
    return sms_code(sms_outbox, phone, sent_before)


def next_step(page, path: str):
    page.get_by_role("button", name="下一步").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))


def fill_wizard(page, live_server, account, sms_outbox) -> str:
    """Walk the wizard from /register/ to the verification choice; return the reference."""
    page.goto(live_server.url + "/register/")
    expect(page).to_have_url(re.compile(r"/register/unit/$"))
    page.fill("#id_name", account.name)
    page.fill("#id_uscc", account.uscc)
    page.fill("#id_ss_number", account.ss_number)
    page.fill("#id_legal_rep_name", account.legal_rep_name)
    page.fill("#id_legal_rep_id_number", make_resident_id("19700101", "male"))
    next_step(page, "/register/contact/")

    contact_phone = make_phone()
    code = request_code(page, sms_outbox, "contact_phone", contact_phone)
    page.fill("#id_contact_code", code)
    next_step(page, "/register/bank/")

    page.fill("#id_bank_name", "测试银行北京分行")
    page.fill("#id_bank_account", "6222 0202 0000 5555")
    page.fill("#id_bank_account_name", account.name)
    next_step(page, "/register/agent/")

    agent_phone = make_phone()
    page.fill("#id_agent_name", "李经办")
    page.fill("#id_agent_id_number", make_resident_id("19900202", "female"))
    code = request_code(page, sms_outbox, "agent_phone", agent_phone)
    page.fill("#id_agent_code", code)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    next_step(page, "/register/confirm/")

    expect(page.locator("table")).to_contain_text(account.name)
    page.get_by_role("button", name="确认无误,进入身份认证").click()
    expect(page).to_have_url(VERIFY_URL)
    return VERIFY_URL.search(page.url).group(1)


def choose(page, method: str, reference: str):
    page.check(f"input[name=method][value={method}]")
    page.get_by_role("button", name="下一步").click()
    expect(page).to_have_url(re.compile(rf"/registration/{reference}/verify/{method}/$"))


def verify_with_certificate(page, live_server, account, reference):
    from django.utils import timezone

    from employers.verification import testing as ca_testing
    from employers.verification.ca_services import ca_root_trust

    now = timezone.now()
    ca = ca_testing.create_test_ca(now=now)
    ca_root_trust(pem=ca_testing.certificate_pem(ca.certificate), name="测试CA")
    key, certificate = ca_testing.issue_unit_certificate(
        ca, uscc=account.uscc, now=now, name=account.name
    )

    choose(page, "ca", reference)
    challenge = page.locator("#challenge").inner_text().strip()
    assert challenge
    page.set_input_files(
        "#id_certificate",
        files=[
            {
                "name": "unit.pem",
                "mimeType": "application/x-pem-file",
                "buffer": ca_testing.certificate_pem(certificate),
            }
        ],
    )
    page.fill("#id_signature", ca_testing.sign_challenge(ca_testing.key_pem(key), challenge))
    page.get_by_role("button", name="验证并提交申请").click()


def verify_with_face(page, live_server, account, reference):
    choose(page, "face", reference)
    page.get_by_role("button", name="开始人脸识别").click()
    expect(page).to_have_url(re.compile(r"/verify/sandbox/face/[^/]+/"))
    expect(page.locator("main, body").first).to_contain_text(account.name)
    page.get_by_role("button", name="识别通过").click()
    # The sandbox signs and delivers the callback, then returns to the portal's face page.
    expect(page).to_have_url(re.compile(rf"/registration/{reference}/verify/face/$"))
    expect(page.locator(".alert-success")).to_contain_text("人脸识别已通过")
    page.get_by_role("button", name="提交注册申请").click()


def verify_with_bank(page, live_server, account, reference):
    from employers.models import PennyDropTransfer

    choose(page, "bank", reference)
    page.get_by_role("button", name="申请打款").click()
    expect(page.locator("#id_amount")).to_be_visible()
    transfer = PennyDropTransfer.objects.get(application__reference=reference)
    assert transfer.amount_fen < 100
    # The money is in transit: the sandbox bank's statement lets it arrive now.
    bank = page.context.new_page()
    bank.goto(live_server.url + "/verify/sandbox/bank/")
    bank.locator(f"button[data-arrive][value='{transfer.bank_reference}']").click()
    expect(bank.locator("tbody")).to_contain_text(f"0.{transfer.amount_fen:02d}")
    bank.close()
    page.fill("#id_amount", f"0.{transfer.amount_fen:02d}")
    page.get_by_role("button", name="验证并提交申请").click()


VERIFY = {
    "ca": verify_with_certificate,
    "face": verify_with_face,
    "bank": verify_with_bank,
}


@pytest.mark.parametrize("method", ["ca", "face", "bank"])
def test_unit_registers_and_reaches_the_status_page(
    method, browser, live_server, transactional_db, settings, sms_outbox
):
    from employers.models import RegistrationApplication

    settings.SANDBOX_PROVIDERS = True  # the sandbox face provider's pages
    account = OpenedAccountFactory(legal_rep_name="王测试")
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    try:
        page = context.new_page()
        reference = fill_wizard(page, live_server, account, sms_outbox)
        VERIFY[method](page, live_server, account, reference)

        expect(page).to_have_url(f"{live_server.url}/registration/{reference}/")
        expect(page.locator("#review-state")).to_contain_text("审核中")
        expect(page.locator("body")).to_contain_text(reference)
        expect(page.locator("body")).to_contain_text("预计审核完成")

        application = RegistrationApplication.objects.get(reference=reference)
        assert application.account_id == account.pk
        assert application.verification_method == method
        assert application.state == RegistrationApplication.State.SUBMITTED
    finally:
        context.close()
