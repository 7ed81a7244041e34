"""In real Chromium: a unit whose USB-Key holds an SM2 (国密) certificate made by
`ca_test_issue --algorithm sm2` registers with it and, once approved, logs in with it.

The browser side is the same as for RSA and ECDSA: the page shows the challenge, the unit uploads
its certificate file and pastes the signature its signing helper printed (`ca_sign_challenge`
plays the helper here)."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP
from tests.e2e.test_registration_flow import choose, fill_wizard
from tests.factories import OpenedAccountFactory, create_clerk

pytestmark = pytest.mark.e2e


def run(*args) -> str:
    out = io.StringIO()
    call_command(*[str(arg) for arg in args], stdout=out, stderr=io.StringIO())
    return out.getvalue()


def sign_and_submit(page, directory, stem: str, button: str) -> None:
    """Upload STEM.pem and paste the signature of the challenge on the page by STEM.key.pem."""
    challenge = page.locator("#challenge").inner_text().strip()
    assert challenge
    page.set_input_files("#id_certificate", str(directory / f"{stem}.pem"))
    key = directory / f"{stem}.key.pem"
    signature = run("ca_sign_challenge", "--key", key, f"--challenge={challenge}").strip()
    page.fill("#id_signature", signature)
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state()


def test_sm2_unit_registers_and_logs_in_with_its_certificate(
    browser, live_server, transactional_db, sms_outbox, tmp_path
):
    from employers.models import Agent, RegistrationApplication
    from portal.review import review_decide

    account = OpenedAccountFactory(legal_rep_name="王测试")
    run("ca_test_issue", "--out", tmp_path, "--uscc", account.uscc, "--algorithm", "sm2")
    run("ca_trust_root", tmp_path / "ca-root.pem", "--name", "SM2测试CA")
    run("ca_load_crl", tmp_path / "ca.crl.pem")

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    try:
        page = context.new_page()
        reference = fill_wizard(page, live_server, account, sms_outbox)
        choose(page, "ca", reference)
        sign_and_submit(page, tmp_path, account.uscc, "验证并提交申请")

        expect(page).to_have_url(f"{live_server.url}/registration/{reference}/")
        expect(page.locator("#review-state")).to_contain_text("审核中")
        application = RegistrationApplication.objects.get(reference=reference)
        assert application.verification_method == "ca"
        assert application.verification_evidence["algorithm"] == "SM2-SM3"
        assert application.verification_evidence["uscc"] == account.uscc
        assert application.verification_evidence["crl_status"] == "current"
    finally:
        context.close()

    review_decide(
        model=RegistrationApplication, pk=application.pk, actor=create_clerk(), decision="approve"
    )
    agent = Agent.objects.get(employer__account=account)

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(live_server.url + "/login/")
        page.get_by_role("link", name="CA证书登录").click()
        expect(page).to_have_url(re.compile(r"/login/ca/$"))

        # The unit's revoked certificate is refused on the page, with the reason.
        page.fill("#id_id_number", agent.id_number)
        sign_and_submit(page, tmp_path, f"{account.uscc}-revoked", "证书登录")
        expect(page.locator("body")).to_contain_text("该CA证书已被吊销")
        assert page.locator("#id_id_number").input_value() == agent.id_number

        # A fresh challenge and the good certificate log the agent in.
        page.goto(live_server.url + "/login/ca/")
        page.fill("#id_id_number", agent.id_number)
        sign_and_submit(page, tmp_path, account.uscc, "证书登录")
        expect(page).to_have_url(re.compile(r"/dashboard/$"))
        expect(page.locator("body")).to_contain_text(account.name)
    finally:
        context.close()
