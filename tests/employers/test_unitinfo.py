"""单位基本信息 and 银行账户信息: the pages, and contact and bank changes through review."""

import datetime
import re
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from employers.models import PennyDropTransfer, Role, UnitChangeFiling
from employers.verification.bank import sandbox_bank_statement
from portal.models import AuditEvent, Notification, ReviewPolicy, ReviewState
from portal.review import review_decide
from tests.factories import create_agent, create_clerk, create_employer
from tests.support.banking import after_commit

pytestmark = pytest.mark.django_db

INFO = "/unit/"
CONTACT = "/unit/contact/"
BANK = "/unit/bank/"
BANK_CHANGE = "/unit/bank/change/"
OLD_PHONE = "13912340000"
NEW_PHONE = "13712345678"
NEW_ACCOUNT = "6217000010002000300"
Stage = UnitChangeFiling.Stage


def detail_url(filing) -> str:
    return f"/unit/changes/{filing.pk}/"


def code_from(outbox) -> str:
    return re.search(r"验证码\s*(\d{6})", outbox[-1].text).group(1)


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def actions(**filters) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).values_list("action", flat=True))


@pytest.fixture
def unit():
    employer = create_employer(name="联测科技有限公司")
    account = employer.account
    account.industry, account.injury_risk_class = "软件和信息技术服务业", 2
    account.address = "北京市朝阳区联测路1号"
    account.save()
    employer.contact_name, employer.address = "张联系", "北京市朝阳区联测路1号3层"
    employer.contact_phone, employer.contact_email = OLD_PHONE, "hr@liance.example"
    employer.bank_account_name = employer.name
    employer.save()
    return employer


@pytest.fixture
def admin(unit):
    return create_agent(employer=unit, roles=[Role.UNIT_ADMIN], name="管理员甲")


@pytest.fixture
def enrolment_agent(unit):
    return create_agent(employer=unit, roles=[Role.ENROLMENT], name="增员乙")


def login(agent) -> Client:
    client = Client()
    client.force_login(agent.user)
    return client


@pytest.fixture
def admin_client(admin):
    return login(admin)


def contact_data(**overrides) -> dict:
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "contact_name": "李新",
        "contact_phone": OLD_PHONE,
        "code": "",
        "address": "北京市朝阳区联测路1号3层",
        "contact_email": "hr@liance.example",
        "reason": "原联系人离职",
    }
    return {**data, **overrides}


def bank_data(**overrides) -> dict:
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "bank_name": "中国建设银行北京朝阳支行",
        "bank_account": NEW_ACCOUNT,
        "bank_account_name": "联测科技有限公司",
        "reason": "更换开户银行",
    }
    return {**data, **overrides}


def new_phone_filed(client, outbox, capture) -> UnitChangeFiling:
    """Ask for a code to the new phone, then file the change with it."""
    with capture(execute=True):
        client.post(CONTACT, contact_data(contact_phone=NEW_PHONE, send_code="1"))
    response = client.post(CONTACT, contact_data(contact_phone=NEW_PHONE, code=code_from(outbox)))
    filing = UnitChangeFiling.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(filing)
    return filing


def bank_started(client, **overrides) -> tuple[UnitChangeFiling, PennyDropTransfer]:
    with after_commit():  # the worker's call to the (sandbox) bank
        response = client.post(BANK_CHANGE, bank_data(**overrides))
    filing = UnitChangeFiling.objects.filter(kind=UnitChangeFiling.Kind.BANK).latest("pk")
    assert response.status_code == 302 and response["Location"] == detail_url(filing)
    return filing, PennyDropTransfer.objects.get(change_filing=filing)


def arrived(transfer, days: int = 0):
    PennyDropTransfer.objects.filter(pk=transfer.pk).update(
        arrives_on=timezone.localdate() + datetime.timedelta(days=days)
    )


def decide(filing, decision: str, comment: str = ""):
    return review_decide(
        model=UnitChangeFiling,
        pk=filing.pk,
        actor=create_clerk(),
        decision=decision,
        comment=comment,
    )


# The information page ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role.values))
def test_every_role_reads_the_units_details(unit, role):
    agent = create_agent(employer=unit, roles=[role], name="某经办")
    page = login(agent).get(INFO).content.decode()
    for shown in [
        unit.name,
        unit.uscc,
        unit.ss_number,
        "王测试",
        "2020-01-01",
        "北京市朝阳区联测路1号",
        "软件和信息技术服务业",
        "二类",
        "张联系",
        "139****0000",
        "hr@liance.example",
        "营业执照副本原件及复印件",
        "某经办",
    ]:
        assert shown in page, shown
    assert OLD_PHONE not in page
    assert ('href="/unit/contact/"' in page) is (role == Role.UNIT_ADMIN)


def test_the_info_page_costs_the_same_queries_whatever_the_number_of_rows(admin_client, admin):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(INFO).status_code == 200
        return len(captured)

    few = queries()
    for _ in range(3):
        create_agent(employer=admin.employer, roles=[Role.QUERIES])
    admin_client.post(BANK_CHANGE, bank_data())
    admin_client.post(CONTACT, contact_data())
    assert queries() == few <= 12


def test_enrolment_agent_reads_but_may_not_change(enrolment_agent, unit):
    client = login(enrolment_agent)
    assert client.get(INFO).status_code == 200
    assert client.get(BANK).status_code == 200
    for url in (CONTACT, BANK_CHANGE):
        assert client.get(url).status_code == 403
        assert client.post(url, contact_data(contact_name="乙改")).status_code == 403
    assert not UnitChangeFiling.objects.exists()
    assert "变更银行账户" not in client.get(BANK).content.decode()


def test_the_menu_links_both_pages_for_every_agent(enrolment_agent):
    page = login(enrolment_agent).get(INFO).content.decode()
    assert 'href="/unit/"' in page and 'href="/unit/bank/"' in page


# Contact change ----------------------------------------------------------------------------------


def test_the_form_is_prefilled_with_the_details_in_force(admin_client):
    page = admin_client.get(CONTACT).content.decode()
    for value in ("张联系", OLD_PHONE, "北京市朝阳区联测路1号3层", "hr@liance.example"):
        assert f'value="{value}"' in page


def test_new_phone_is_confirmed_by_code_then_approval_puts_it_in_force(
    admin_client, unit, sms_outbox, django_capture_on_commit_callbacks
):
    # Full-width digits from a Chinese input method are read as ASCII; typed fields stay.
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            CONTACT,
            contact_data(
                contact_phone="１３７１２３４５６７８", contact_name="李新", send_code="1"
            ),
        )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="李新"' in page and "原联系人离职" in page and "137****5678" in page
    assert sms_outbox[-1].phone == NEW_PHONE and "变更单位联系人手机号" in sms_outbox[-1].text
    assert not UnitChangeFiling.objects.exists()

    response = admin_client.post(
        CONTACT, contact_data(contact_phone=NEW_PHONE, code=code_from(sms_outbox))
    )
    filing = UnitChangeFiling.objects.get()
    assert response["Location"] == detail_url(filing)
    assert filing.reference.startswith(f"BG{timezone.localdate():%Y%m%d}")
    assert filing.kind == UnitChangeFiling.Kind.CONTACT and filing.stage == Stage.IN_REVIEW
    assert filing.review_state == ReviewState.SUBMITTED and filing.review_region == unit.region
    assert filing.phone_verified_at is not None
    assert filing.previous["contact_phone"] == "139****0000"
    assert filing.previous["contact_email"] == "h***@liance.example"
    # Until approval the old details stay in force; the page shows both.
    page = admin_client.get(INFO).content.decode()
    assert "139****0000" in page and "137****5678" in page and filing.reference in page

    decide(filing, "approve")
    unit.refresh_from_db()
    assert (unit.contact_name, unit.contact_phone) == ("李新", NEW_PHONE)
    notices = Notification.objects.filter(template="unit_change_approved")
    # The replaced number hears of it too, outside the unit's 站内消息 (one message per event).
    assert {(n.recipient, n.employer_id) for n in notices} == {
        (NEW_PHONE, unit.pk),
        (OLD_PHONE, None),
    }
    assert all(filing.reference in n.body for n in notices)
    assert set(actions(employer_id=unit.pk)) >= {
        "unit.change_submitted",
        "review.submit",
        "review.approve",
        "unit.contact_changed",
    }
    changed = AuditEvent.objects.get(action="unit.contact_changed")
    assert changed.details["fields"] == ["contact_name", "contact_phone"]


def test_rejection_changes_nothing_and_texts_the_phone_in_force(
    admin_client, unit, sms_outbox, django_capture_on_commit_callbacks
):
    filing = new_phone_filed(admin_client, sms_outbox, django_capture_on_commit_callbacks)
    decide(filing, "reject", "手机号与联系人不符")
    unit.refresh_from_db()
    assert (unit.contact_name, unit.contact_phone) == ("张联系", OLD_PHONE)
    [notice] = Notification.objects.filter(template="unit_change_rejected")
    assert notice.recipient == OLD_PHONE
    page = admin_client.get(detail_url(filing)).content.decode()
    assert "手机号与联系人不符" in page


def test_a_second_contact_change_while_one_is_open_is_refused_with_its_reference(admin_client):
    admin_client.post(CONTACT, contact_data())
    first = UnitChangeFiling.objects.get()
    response = admin_client.post(CONTACT, contact_data(contact_name="王再改"))
    assert response.status_code == 200
    assert first.reference in response.content.decode()
    assert UnitChangeFiling.objects.count() == 1


def test_the_same_key_files_once(admin_client):
    data = contact_data()
    admin_client.post(CONTACT, data)
    assert admin_client.post(CONTACT, data).status_code == 302
    assert UnitChangeFiling.objects.count() == 1


def test_an_unchanged_form_is_refused(admin_client):
    response = admin_client.post(CONTACT, contact_data(contact_name="张联系"))
    assert response.status_code == 200
    assert "完全相同,无需变更" in response.content.decode()
    assert not UnitChangeFiling.objects.exists()


def test_a_new_phone_needs_the_code_sent_to_it(
    admin_client, sms_outbox, django_capture_on_commit_callbacks
):
    response = admin_client.post(CONTACT, contact_data(contact_phone=NEW_PHONE))
    assert (
        "获取验证码" in response.content.decode()
        and "新手机号" in response.context["form"].errors["code"][0]
    )
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CONTACT, contact_data(contact_phone=NEW_PHONE, send_code="1"))
    wrong = "000000" if code_from(sms_outbox) != "000000" else "111111"
    response = admin_client.post(CONTACT, contact_data(contact_phone=NEW_PHONE, code=wrong))
    assert response.context["form"].errors["code"] == ["验证码不正确,请核对短信后重新输入。"]
    # A code sent to another number does not confirm this one.
    response = admin_client.post(
        CONTACT, contact_data(contact_phone="13712340000", code=code_from(sms_outbox))
    )
    assert "code" in response.context["form"].errors
    assert not UnitChangeFiling.objects.exists()


def test_a_second_code_within_a_minute_is_refused_keeping_what_was_typed(
    admin_client, sms_outbox, django_capture_on_commit_callbacks
):
    data = contact_data(contact_phone=NEW_PHONE, contact_name="李新", send_code="1")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CONTACT, data)
        response = admin_client.post(CONTACT, data)
    assert "发送过于频繁" in response.context["form"].errors["contact_phone"][0]
    assert 'value="李新"' in response.content.decode()
    assert len(sms_outbox) == 1


def test_no_code_is_sent_to_the_phone_in_force(admin_client, sms_outbox):
    response = admin_client.post(CONTACT, contact_data(contact_name="李新", send_code="1"))
    assert "无需验证" in response.context["form"].errors["contact_phone"][0]
    assert 'value="李新"' in response.content.decode()
    assert sms_outbox == [] and not Notification.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"contact_email": "hr@"}, "contact_email", "邮箱格式不正确"),
        ({"contact_phone": "12345"}, "contact_phone", "11位手机号码"),
        ({"contact_name": ""}, "contact_name", "请填写此项"),
        ({"reason": ""}, "reason", "请填写变更原因"),
    ],
)
def test_bad_input_is_shown_next_to_its_field(admin_client, overrides, field, message):
    response = admin_client.post(CONTACT, contact_data(**overrides))
    assert message in response.context["form"].errors[field][0]
    assert not UnitChangeFiling.objects.exists()


def test_real_time_approval_of_the_region_applies(
    admin_client, unit, django_capture_on_commit_callbacks
):
    ReviewPolicy.objects.create(
        item_type="employers.unitchangefiling", region=unit.region, realtime_approval=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CONTACT, contact_data(contact_email="new@liance.example"))
    filing = UnitChangeFiling.objects.get()
    assert filing.review_state == ReviewState.APPROVED and filing.prechecks_passed
    unit.refresh_from_db()
    assert unit.contact_email == "new@liance.example" and unit.contact_name == "李新"


def test_prechecks_are_stored_for_the_clerk(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CONTACT, contact_data())
    filing = UnitChangeFiling.objects.get()
    assert filing.review_state == ReviewState.PENDING
    assert {check["key"]: check["passed"] for check in filing.precheck_results} == {
        "no_other_open": True,
        "phone_verified": True,
        "email_format": True,
    }


# Bank account change -----------------------------------------------------------------------------


def test_a_bank_change_sends_a_penny_drop_and_waits_for_its_amount(admin_client, unit):
    filing, transfer = bank_started(
        admin_client, bank_account="６２１７ ０００ ０１０００２０００３００"
    )
    assert filing.bank_account == NEW_ACCOUNT and filing.bank_account_name == unit.name
    assert filing.stage == Stage.AWAITING_VERIFICATION and filing.review_state == ""
    assert (
        filing.previous["bank_account"].endswith("6543") and "*" in filing.previous["bank_account"]
    )
    assert transfer.application is None and 1 <= transfer.amount_fen <= 99
    assert transfer.state == PennyDropTransfer.State.SENT and len(transfer.memo_code) == 4
    assert transfer.expires_at > timezone.now() + datetime.timedelta(days=6)
    page = admin_client.get(BANK).content.decode()
    assert "使用中" in page and "待验证" in page
    assert unit.masked_bank_account in page and filing.masked_bank_account in page
    assert NEW_ACCOUNT not in page
    assert set(actions(employer_id=unit.pk)) >= {"unit.change_started", "penny_drop.requested"}
    [line] = sandbox_bank_statement()
    assert line.masked_account == filing.masked_bank_account and line.account_name == unit.name


def test_until_the_bank_answers_the_change_waits_and_takes_no_amount(admin_client):
    admin_client.post(BANK_CHANGE, bank_data())  # the worker has not called the bank yet
    filing = UnitChangeFiling.objects.get(kind=UnitChangeFiling.Kind.BANK)
    transfer = PennyDropTransfer.objects.get(change_filing=filing)
    assert transfer.state == PennyDropTransfer.State.PENDING

    page = admin_client.get(detail_url(filing)).content.decode()
    assert "正在等待银行受理" in page and 'name="amount"' not in page
    response = admin_client.post(detail_url(filing), {"amount": yuan(transfer.amount_fen)})
    assert "尚未汇出" in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.wrong_attempts == 0 and transfer.state == PennyDropTransfer.State.PENDING
    assert sandbox_bank_statement() == []  # the bank has made no transfer yet


def test_the_account_name_must_be_the_units_name(admin_client):
    response = admin_client.post(BANK_CHANGE, bank_data(bank_account_name="张三"))
    assert (
        "须与单位全称“联测科技有限公司”一致"
        in response.context["form"].errors["bank_account_name"][0]
    )
    assert 'value="张三"' in response.content.decode()
    assert not UnitChangeFiling.objects.exists()


def test_the_account_in_force_is_refused_as_unchanged(admin_client, unit):
    data = bank_data(bank_name=unit.bank_name, bank_account=unit.bank_account)
    assert "无需变更" in admin_client.post(BANK_CHANGE, data).content.decode()
    assert not UnitChangeFiling.objects.exists()


def test_a_second_bank_change_while_one_is_open_is_refused(admin_client):
    filing, _transfer = bank_started(admin_client)
    response = admin_client.post(BANK_CHANGE, bank_data(bank_account="6217000099998888777"))
    assert response.status_code == 200 and filing.reference in response.content.decode()
    assert UnitChangeFiling.objects.count() == 1


def test_an_amount_before_the_arrival_day_uses_no_try(admin_client):
    filing, transfer = bank_started(admin_client)
    arrived(transfer, days=2)
    response = admin_client.post(detail_url(filing), {"amount": yuan(transfer.amount_fen)})
    arrives = f"{timezone.localdate() + datetime.timedelta(days=2):%Y-%m-%d}"
    [message] = response.context["form"].errors["amount"]
    assert arrives in message and "未计入错误次数" in message
    transfer.refresh_from_db()
    filing.refresh_from_db()
    assert transfer.wrong_attempts == 0 and transfer.state == PennyDropTransfer.State.SENT
    assert filing.stage == Stage.AWAITING_VERIFICATION


def test_a_wrong_amount_uses_a_try_and_the_right_one_goes_to_review(admin_client, unit):
    filing, transfer = bank_started(admin_client)
    arrived(transfer)
    wrong = yuan(transfer.amount_fen % 99 + 1)
    response = admin_client.post(detail_url(filing), {"amount": wrong})
    assert response.context["form"].errors["amount"] == ["金额不正确,还可以再试 2 次。"]
    assert 'value="' + wrong + '"' in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.wrong_attempts == 1
    response = admin_client.post(detail_url(filing), {"amount": f"￥{yuan(transfer.amount_fen)}"})
    assert response.status_code == 302
    filing.refresh_from_db()
    assert filing.stage == Stage.IN_REVIEW and filing.account_verified_at is not None
    assert filing.review_state == ReviewState.SUBMITTED
    page = admin_client.get(BANK).content.decode()
    assert "使用中" in page and "待审核" in page

    decide(filing, "approve")
    unit.refresh_from_db()
    assert unit.bank_account == NEW_ACCOUNT and unit.bank_name == "中国建设银行北京朝阳支行"
    [notice] = Notification.objects.filter(template="unit_change_approved")
    assert notice.recipient == OLD_PHONE and filing.reference in notice.body
    assert "unit.bank_changed" in actions(employer_id=unit.pk)


def test_rejection_keeps_the_account_in_force(admin_client, unit):
    filing, transfer = bank_started(admin_client)
    arrived(transfer)
    admin_client.post(detail_url(filing), {"amount": yuan(transfer.amount_fen)})
    decide(filing, "reject", "开户许可证与户名不符")
    unit.refresh_from_db()
    assert unit.bank_account == "6222020200009876543"
    assert Notification.objects.get(template="unit_change_rejected").recipient == OLD_PHONE
    # The rejected filing is closed: the unit may file again.
    assert admin_client.post(BANK_CHANGE, bank_data()).status_code == 302


def test_three_wrong_amounts_void_the_transfer_and_a_new_one_can_be_asked_for(admin_client):
    filing, transfer = bank_started(admin_client)
    arrived(transfer)
    for _ in range(3):
        response = admin_client.post(
            detail_url(filing), {"amount": yuan(transfer.amount_fen % 99 + 1)}
        )
    assert "本次打款已作废" in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.state == PennyDropTransfer.State.FAILED
    with after_commit():
        admin_client.post(detail_url(filing), {"request_transfer": "1"})
    assert filing.penny_drops.filter(state=PennyDropTransfer.State.SENT).count() == 1


def test_a_filing_awaiting_its_amount_can_be_withdrawn_but_not_once_in_review(admin_client, unit):
    filing, transfer = bank_started(admin_client)
    response = admin_client.post(detail_url(filing), {"cancel": "1"})
    assert response.status_code == 302
    filing.refresh_from_db()
    transfer.refresh_from_db()
    assert filing.stage == Stage.CANCELLED and transfer.state == PennyDropTransfer.State.EXPIRED
    assert "unit.change_cancelled" in actions(employer_id=unit.pk)

    second, transfer = bank_started(admin_client, bank_account="6217000099998888777")
    arrived(transfer)
    admin_client.post(detail_url(second), {"amount": yuan(transfer.amount_fen)})
    admin_client.post(detail_url(second), {"cancel": "1"})
    second.refresh_from_db()
    assert second.stage == Stage.IN_REVIEW and second.review_is_open


def test_only_the_admin_enters_the_amount(admin_client, enrolment_agent):
    filing, transfer = bank_started(admin_client)
    client = login(enrolment_agent)
    assert client.get(detail_url(filing)).status_code == 200
    assert client.post(detail_url(filing), {"amount": "0.37"}).status_code == 403
    assert client.post(detail_url(filing), {"cancel": "1"}).status_code == 403
    filing.refresh_from_db()
    assert filing.stage == Stage.AWAITING_VERIFICATION


def test_another_units_filing_is_404(admin_client):
    filing, _transfer = bank_started(admin_client)
    other = create_agent(employer=create_employer(), roles=[Role.UNIT_ADMIN])
    client = login(other)
    assert client.get(detail_url(filing)).status_code == 404
    assert client.post(detail_url(filing), {"cancel": "1"}).status_code == 404
    assert client.get("/unit/changes/999999/").status_code == 404
    filing.refresh_from_db()
    assert filing.stage == Stage.AWAITING_VERIFICATION


# The clerk's screen ------------------------------------------------------------------------------


def test_the_clerks_screen_shows_old_and_new_masked_and_decides_through_the_review(
    admin_client, unit, sms_outbox, django_capture_on_commit_callbacks, admin_user
):
    from tests.conftest import otp_verify

    filing = new_phone_filed(admin_client, sms_outbox, django_capture_on_commit_callbacks)
    clerk = otp_verify(Client(), admin_user)
    changelist = clerk.get("/admin/employers/unitchangefiling/").content.decode()
    assert filing.reference in changelist and unit.name in changelist
    page = clerk.get(f"/admin/employers/unitchangefiling/{filing.pk}/change/").content.decode()
    assert "139****0000 → 137****5678" in page and "h***@liance.example" in page
    assert NEW_PHONE not in page and OLD_PHONE not in page
    assert "新手机号验证时间" in page
    response = clerk.post(
        f"/admin/employers/unitchangefiling/{filing.pk}/decide/", {"approve": "1"}
    )
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.contact_phone == NEW_PHONE
