"""The clerk's page of one reviewable item: made for reading and deciding (issue 15)."""

import re

import pytest
from django.urls import reverse

from employers.models import RegistrationApplication
from portal.models import ReviewState
from portal.review import precheck_result, review_decide
from tests.conftest import otp_verify
from tests.factories import create_clerk
from tests.portal.review_pages import (
    CA_EVIDENCE,
    UNIT_ADMIN_ID,
    UNIT_ADMIN_PHONE,
    submitted_add_filing,
    submitted_declaration,
    submitted_registration,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk():
    return create_clerk("reviewer", first_name="审核", last_name="钱")


@pytest.fixture
def clerk_client(client, clerk):
    return otp_verify(client, clerk)


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    """Call a factory of review_pages with its pre-checks run, as the worker runs them."""

    def run(factory, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            item = factory(**kwargs)
        item.refresh_from_db()
        return item

    return run


def change_url(item) -> str:
    opts = item._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[item.pk])


def section(page: str, title: str) -> str:
    """The HTML of the review page's section (or decision panel) headed ``title``."""
    start = page.index(f">{title}", page.index('class="review-page"'))
    end = re.search(r"</section>|</aside>", page[start:]).start() + start
    return page[start:end]


def visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_top_names_the_unit_and_its_administrator_masked(clerk_client, submit):
    application = submit(submitted_registration)
    employer = application.employer

    page = clerk_client.get(change_url(application)).content.decode()

    summary = visible(section(page, "业务概况"))
    assert employer.name in summary and employer.uscc in summary and employer.ss_number in summary
    assert "单位管理员 赵管理" in summary
    assert f"{UNIT_ADMIN_ID[:6]}********{UNIT_ADMIN_ID[-4:]}" in summary
    assert "138****5678" in summary
    assert UNIT_ADMIN_ID not in page and UNIT_ADMIN_PHONE not in page
    # Submitted from the wizard before any login: the unit's step, not the system's.
    assert "提交 — → 已提交 申请单位" in visible(section(page, "审核记录"))


def test_ca_evidence_is_labelled_rows_without_json(clerk_client, submit):
    application = submit(submitted_registration, evidence=CA_EVIDENCE)

    page = clerk_client.get(change_url(application)).content.decode()

    rows = visible(section(page, "单位登记信息与身份认证"))
    assert "证书持有者 名称:测试证书单位;单位:测试证书单位;国家:CN" in rows
    assert "证书序列号 3F:AB:01:CD" in rows
    assert "证书指纹(SHA-256) AB:CD:EF:01:23:45:67:89" in rows
    assert "证书有效期至 2027-05-01 16:00" in rows  # Asia/Shanghai
    assert "证书吊销检查 未吊销" in rows
    assert "RSA 签名(SHA-256 摘要)" in rows
    assert "其他凭据 alpha;是" in rows  # a key no label names: its values, never JSON
    for raw in ("{", '":', "crl_status", "current", "provider_trace", "not_after"):
        assert raw not in rows


def test_prechecks_are_a_checklist_with_the_reason_of_each_failure(clerk_client, submit):
    application = submit(submitted_registration)
    RegistrationApplication.objects.filter(pk=application.pk).update(
        precheck_results=[
            precheck_result("registry", "与开户登记簿一致", True),
            precheck_result("evidence", "身份认证凭据有效", False, "认证时证书已过期"),
            precheck_result("uscc_checksum", "信用代码校验位", False),
        ]
    )

    page = clerk_client.get(change_url(application)).content.decode()

    checks = visible(section(page, "预审结果"))
    assert "2 项未通过" in checks
    assert "✓ 通过: 与开户登记簿一致" in checks
    assert "✗ 未通过: 身份认证凭据有效 认证时证书已过期" in checks
    assert "✗ 未通过: 信用代码校验位 未通过,请人工核对相关材料。" in checks
    assert "{" not in checks and "True" not in checks and "passed" not in checks


def test_history_names_actions_states_and_people_in_chinese(clerk_client, clerk, submit):
    filing = submit(submitted_add_filing)
    review_decide(
        model=type(filing), pk=filing.pk, actor=clerk, decision="reject", comment="合同未签字"
    )

    page = clerk_client.get(change_url(filing)).content.decode()

    history = visible(section(page, "审核记录"))
    assert "提交 — → 已提交 测试经办人(单位经办人)" in history
    assert "预审 已提交 → 已预审 系统" in history
    assert "转人工审核 已预审 → 待审核 系统" in history
    assert "不予通过 待审核 → 审核未通过 钱审核 合同未签字" in history
    for raw in ("submit", "precheck", "pending", "agent-", "reviewer"):
        assert raw not in history


def test_page_has_no_edit_form_and_refuses_a_generic_save(clerk_client, submit):
    declaration = submit(submitted_declaration)
    url = change_url(declaration)

    page = clerk_client.get(url).content.decode()

    assert 'name="_save"' not in page and 'name="_continue"' not in page
    assert 'name="approve"' in page and 'name="reject"' in page
    assert clerk_client.post(url, {"review_comment": "改了"}).status_code == 403
    decide = reverse("admin:contributions_basedeclaration_decide", args=[declaration.pk])
    decided = clerk_client.post(decide, {"approve": "1"})
    assert decided.status_code == 302
    declaration.refresh_from_db()
    assert declaration.review_state == ReviewState.APPROVED


def test_reject_reasons_of_the_type_are_offered(clerk_client, submit):
    declaration = submit(submitted_declaration)

    page = clerk_client.get(change_url(declaration)).content.decode()

    panel = section(page, "审核决定")
    assert panel.count('class="review-reason"') >= 3
    assert 'data-reason="申报人员与本单位在职参保人员不一致' in panel
    assert "js/review_reasons.js" in page


def test_attachments_and_the_form_are_previewed_inline(clerk_client, submit):
    filing = submit(submitted_add_filing)
    page = clerk_client.get(change_url(filing)).content.decode()
    files = section(page, "附件与登记表")
    scan = filing.attachments.get(kind="id_scan")
    contract = filing.attachments.get(kind="labour_contract")
    scan_url = reverse("admin:enrollment_addemployeefiling_attachment", args=[filing.pk, scan.pk])
    contract_url = reverse(
        "admin:enrollment_addemployeefiling_attachment", args=[filing.pk, contract.pk]
    )
    form_url = reverse("admin:enrollment_addemployeefiling_form", args=[filing.pk])

    assert f'<img src="{scan_url}"' in files
    assert f'<iframe src="{contract_url}"' in files and f'<iframe src="{form_url}"' in files

    framed = clerk_client.get(form_url)
    assert framed["Content-Disposition"].startswith("inline")
    assert "frame-ancestors 'self'" in framed["Content-Security-Policy"]
    assert framed["X-Frame-Options"] == "SAMEORIGIN"
    image = clerk_client.get(scan_url)
    assert image["Content-Type"] == "image/jpeg"
    assert image["Content-Disposition"].startswith("inline")
    download = clerk_client.get(contract_url, {"download": "1"})
    assert download["Content-Disposition"].startswith("attachment")


def test_attachment_preview_is_refused_to_a_clerk_of_another_region(client, submit):
    from tests.factories import RegionFactory

    filing = submit(submitted_add_filing)
    other = RegionFactory(code="310000", name="上海市(测试)")
    otp_verify(client, create_clerk("sh", regions=[other]))

    response = client.get(reverse("admin:enrollment_addemployeefiling_form", args=[filing.pk]))

    assert response.status_code == 404


def test_decided_item_shows_the_decision_instead_of_the_buttons(clerk_client, clerk, submit):
    application = submit(submitted_registration)
    review_decide(model=RegistrationApplication, pk=application.pk, actor=clerk, decision="approve")

    page = clerk_client.get(change_url(application)).content.decode()

    assert 'name="approve"' not in page
    assert "该业务已审核:审核通过。" in page


def test_history_list_reads_in_chinese_with_the_reviewable_types_only(clerk_client, submit):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    submit(submitted_add_filing)
    url = reverse("admin:portal_reviewtransition_changelist")
    clerk_client.get(url)  # warm the caches (content types, session)
    with CaptureQueriesContext(connection) as one:
        clerk_client.get(url)
    submit(submitted_add_filing)
    submit(submitted_declaration)

    with CaptureQueriesContext(connection) as three:
        page = clerk_client.get(url).content.decode()

    listing = visible(page[page.index('id="content-start"') :])
    assert "转人工审核" in listing and "测试经办人(单位经办人)" in listing
    assert "增员申请" in listing and "缴费基数申报" in listing
    for raw in ("submit", "pending", "agent-", "TOTP", "captcha"):
        assert raw not in listing
    assert len(three.captured_queries) == len(one.captured_queries)
