"""Tenant isolation: no URL of the project lets an agent of unit A reach unit B's data.

The walk takes every URL pattern from the resolver, through includes (the admin, captcha and
i18n includes excepted), so a new URL is walked the day it is added. Three tables say how:

- ``PATH``, keyed by (URL name, parameter): the kind of object a URL parameter names; the walk
  puts unit B's object of that kind in the URL (a removal filing for a removal URL, a bill in
  the state the action needs for a bill URL ...);
- ``IDS``, per URL name: the query-string and form parameters that name objects (``?bill=``,
  ``person``, ``enrolment``, ``period``, a search for a full ID number or its ``?s=`` token, an
  idempotency key, an uploaded file listing persons ...), with their kind;
- ``PLAIN``, per URL name: every other parameter the view reads, with a valid-looking value.

The parameters a view reads are found in its source and in its forms
(``tests.tenant_helpers.request_parameters``); one that is in neither ``IDS`` nor ``PLAIN``
fails the test, as does a URL parameter without a ``PATH`` entry, so that nothing is added
without being walked. Pages that hold no unit's data are listed in ``NOT_UNIT_SCOPED``, each
with its reason.

Each try is one request of an agent of unit A holding every role, through a CSRF-enforcing
client with the token of A's session: the URL with unit B's objects in it (GET, and POST with
a valid form otherwise), and, for each id-carrying parameter, the URL with A's own objects and
that one parameter set to unit B's object (GET query string, and POST form). Background work
that a request starts on commit runs. A try passes when the answer names nothing of unit B's:
a URL naming B's object is a 403/404; otherwise a redirect leads to no page of B's objects and
a page or file (XLSX read inside) shows none of B's identifying strings; and no row of B's, or
pointing at B's, changed in the database.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

import pytest
from django import forms
from django.db import transaction
from django.test import Client
from django.urls import Resolver404, resolve
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from portal.identifiers import mask_id_number
from tests.tenant_helpers import (
    Route,
    Unit,
    backpay_month,
    batch_upload,
    body_text,
    build_path,
    declaration_template_upload,
    fresh_resident_id,
    make_unit,
    request_parameters,
    routes,
    rows_changed,
    sms_code_for,
    unit_rows,
    view_methods,
)

pytestmark = pytest.mark.django_db

PASSWORD = "Test2026pass"  # tests.factories.create_agent's
NEW_AGENT_PHONE = "13712340001"
NEW_CONTACT_PHONE = "13712340002"

# Includes that are not walked: not pages of a unit's agent.
SKIPPED_INCLUDES = {
    "admin": "the clerks' admin site: staff logins with their own permissions, never an agent",
    "captcha.urls": "django-simple-captcha's images and audio: a random key, no unit's data",
    "django.conf.urls.i18n": "Django's language switch: sets a cookie, names nothing",
}

# Pages of the project that are not unit-scoped: not walked.
NOT_UNIT_SCOPED = {
    "home": "the public landing page",
    "healthz": "health endpoint: database, cache and broker status only",
    "favicon": "a redirect to the static icon",
    "employers:register": "registration wizard: the visitor's own draft in the session",
    "employers:register_step": "registration wizard: the visitor's own draft in the session",
    "employers:register_confirm": "registration wizard: the visitor's own draft in the session",
    "accounts:login": "login page",
    "accounts:login_ca": "CA-certificate login page",
    "accounts:logout": "ends the caller's own session",
    "accounts:password_forgot": "password recovery: never tells whether an account exists",
    "accounts:password_reset": "password recovery, second step: bound to the caller's session",
    "accounts:unlock": "短信验证解锁: never tells whether an account exists (as password recovery)",
    "accounts:login_sms": "短信验证码登录: never tells whether an account exists (as unlock)",
    "accounts:login_sms_confirm": "短信验证码登录, second step: bound to the caller's session",
    "accounts:unlock_confirm": "短信验证解锁, second step: bound to the caller's session",
    "verification:face_callback": (
        "the face provider's callback: authenticated by the provider's HMAC signature, not by "
        "a login (forged and replayed callbacks: tests/employers/verification)"
    ),
    "verification:sandbox_face": (
        "plays the face provider in development only (SANDBOX_PROVIDERS, off in production); "
        "its random token is the capability, as at the real provider"
    ),
    "verification:sandbox_bank": (
        "plays the bank's statement in development only (SANDBOX_PROVIDERS): lists every "
        "unit's test transfers, as the bank's own statement would"
    ),
    "contributions:collection_callback": (
        "the collection system's payment-result callback: authenticated by its HMAC signature, "
        "not by a login (forged and replayed callbacks: tests/contributions/collection)"
    ),
    "help:center": "public help page: the hotlines and hours of the regions, no unit's data",
    "help:faq": "public help page: the FAQ, no unit's data",
    "help:states": "public help page: what each state means, no unit's data",
    "help:benefit_rules": "public help page: how benefits are computed, no unit's data",
    "proof_public:form": "public proof check: a form for a verification code, no unit's data",
    "proof_public:check": (
        "public proof check: shows a proof only to whoever holds its 79-bit code (what the QR "
        "on the paper gives), with the person's data masked; rate-limited per address"
    ),
}


@dataclass(frozen=True)
class Kind:
    """A kind of object a parameter names, and how to name a unit's object of that kind."""

    what: str
    of: Callable[[Unit], object]  # the value naming the unit's object
    # What the walker's own unit sends when another parameter is under test (default ``of``):
    # a fresh key or a new person, so that its own form is valid.
    own: Callable[[Unit], object] | None = None
    # For a field named after the object (``base_<enrolment id>``): the field's name.
    name: Callable[[Unit], str] | None = None

    def value(self, unit: Unit, *, victim: bool):
        return self.of(unit) if victim or self.own is None else self.own(unit)


def _fresh_key(unit):
    return str(uuid.uuid4())


AGENT = Kind("经办人 (id)", lambda u: u.agent.pk)
AGENT_NUMBER = Kind(
    "经办人的证件号码", lambda u: u.agent.id_number, own=lambda u: fresh_resident_id()
)
APPLICATION = Kind("注册申请 (业务编号)", lambda u: u.application.reference)
ADD_FILING = Kind("增员申请 (业务编号)", lambda u: u.add_filing.reference)
ADD_KEY = Kind("增员申请的提交标识", lambda u: u.add_filing.idempotency_key, own=_fresh_key)
ATTACHMENT = Kind("增员申请的附件 (id)", lambda u: u.attachment.pk)
REMOVAL_FILING = Kind("减员申请 (业务编号)", lambda u: u.removal_filing.reference)
REMOVAL_KEY = Kind("减员申请的提交标识", lambda u: u.removal_filing.idempotency_key, own=_fresh_key)
BATCH = Kind("批量增员 (批次编号)", lambda u: u.batch.reference)
BATCH_FILE = Kind(
    "增员名单 listing the unit's employee (name, full ID number)",
    lambda u: batch_upload(u.person.name, u.person.document_number),
    own=lambda u: batch_upload(f"{u.label}批量职工", fresh_resident_id()),
)
ENROLMENT = Kind("参保登记 (enrolment id)", lambda u: u.enrolment.pk)
PERSON = Kind("参保人员 (person id)", lambda u: u.person.pk)
PERSON_NUMBER = Kind("参保人员的完整证件号码 (a search)", lambda u: u.person.document_number)
SEARCH_TOKEN = Kind(
    "查询令牌 (``?s=``: a search for the unit's person, kept in its agent's session)",
    lambda u: u.search_token,
    own=lambda u: "",
)
NEW_PERSON_NUMBER = Kind(
    "参保人员的完整证件号码 (增员)",
    lambda u: u.person.document_number,
    own=lambda u: fresh_resident_id(),
)
RESUBMITTED_NUMBER = Kind(
    "参保人员的完整证件号码 (修改重新提交)",
    lambda u: u.person.document_number,
    own=lambda u: u.add_filing.enrolment.person.document_number,
)
EMPLOYMENT_FORM = Kind("统筹区自有的用工形式 (id)", lambda u: u.employment_form.pk)
PERIOD = Kind("政策期间 of the unit's region (id)", lambda u: u.period.pk)
DECLARATION = Kind("缴费基数申报 (业务编号)", lambda u: u.declaration.reference)
DECLARATION_KEY = Kind(
    "缴费基数申报的提交标识", lambda u: u.declaration.idempotency_key, own=_fresh_key
)
DECLARATION_FILE = Kind(
    "申报模板 filled in with the unit's enrolment ids and full ID numbers",
    declaration_template_upload,
)
UPLOAD_PAYLOAD = Kind("申报上传的签名内容 (the unit's rows)", lambda u: u.upload_payload)
BASE_FIELD = Kind(
    "缴费基数 input named after an enrolment",
    lambda u: "9000",
    name=lambda u: f"base_{u.enrolment.pk}",
)
ADJUSTED = Kind("调整到上下限的行 (enrolment id:wage)", lambda u: f"{u.enrolment.pk}:99999.00")
ASSESSED_BILL = Kind("已核定的核定单 (核定单号)", lambda u: u.assessed_bill.reference)
CONFIRMED_BILL = Kind("已确认的核定单 (核定单号)", lambda u: u.confirmed_bill.reference)
SANDBOX_TAX_VOUCHER = Kind(
    "模拟电子税务局的应征凭证序号", lambda u: u.sandbox_tax_order.voucher_number
)
PAYMENT_KEY = Kind("扣款的提交标识", lambda u: u.payment.idempotency_key, own=_fresh_key)
EXPORT_JOB = Kind("导出文件 (导出编号)", lambda u: u.export_job.reference)
PROOF = Kind("参保缴费证明 (id)", lambda u: u.proof.pk)
CHANGE_FILING = Kind("单位信息变更 (id)", lambda u: u.change_filing.pk)
QUESTION = Kind("留言 (留言编号)", lambda u: u.question.reference)
QUESTION_KEY = Kind("留言的提交标识", lambda u: u.question.idempotency_key, own=_fresh_key)
QUESTION_FILE = Kind("留言的附件 (message id)", lambda u: u.question_file.pk)
INBOX_MESSAGE = Kind("站内消息 (id)", lambda u: u.inbox_message.pk)
CHANGE_KEY = Kind(
    "单位信息变更的提交标识", lambda u: u.change_filing.idempotency_key, own=_fresh_key
)
MATERNITY_CLAIM = Kind("生育津贴申领 (业务编号)", lambda u: u.maternity_claim.reference)
MATERNITY_KEY = Kind(
    "生育津贴申领的提交标识", lambda u: u.maternity_claim.idempotency_key, own=_fresh_key
)
RECOGNITION = Kind("已认定的工伤认定申请 (业务编号)", lambda u: u.recognition.reference)
RECOGNITION_KEY = Kind(
    "工伤认定申请的提交标识", lambda u: u.recognition.idempotency_key, own=_fresh_key
)
INJURY_CLAIM = Kind("工伤待遇申领 (业务编号)", lambda u: u.injury_claim.reference)
INJURY_CLAIM_KEY = Kind(
    "工伤待遇申领的提交标识", lambda u: u.injury_claim.idempotency_key, own=_fresh_key
)
BENEFIT_ATTACHMENT = Kind("待遇申领的附件 (id)", lambda u: u.benefit_attachment.pk)
ENDED_ENROLMENT = Kind("已终止的参保登记 (续保, enrolment id)", lambda u: u.ended_enrolment.pk)
RESUME_FILING = Kind("未通过的续保申请 (业务编号)", lambda u: u.resume_filing.reference)
RESUME_KEY = Kind("续保申请的提交标识", lambda u: u.resume_filing.idempotency_key, own=_fresh_key)
PERSON_CHANGE = Kind("个人信息变更 (业务编号)", lambda u: u.person_change.reference)
PERSON_CHANGE_KEY = Kind(
    "个人信息变更的提交标识", lambda u: u.person_change.idempotency_key, own=_fresh_key
)
PERSON_CHANGE_FILE = Kind("个人信息变更的证明材料 (id)", lambda u: u.person_change_file.pk)
BACKPAY = Kind("补缴申请 (业务编号)", lambda u: u.backpay.reference)
BACKPAY_KEY = Kind("补缴申请的提交标识", lambda u: u.backpay.idempotency_key, own=_fresh_key)
BACKPAY_ATTACHMENT = Kind("补缴申请的附件 (id)", lambda u: u.backpay_attachment.pk)
BACKPAY_PERSON_NUMBER = Kind(
    "补缴职工的完整证件号码", lambda u: u.backpay_enrolment.person.document_number
)

# URL parameters: (URL name, parameter) -> the kind of object it names.
PATH: dict[tuple[str, str], Kind] = {
    ("agents:roles", "agent_id"): AGENT,
    ("agents:password", "agent_id"): AGENT,
    ("agents:disable", "agent_id"): AGENT,
    ("agents:enable", "agent_id"): AGENT,
    ("enrollment:add_detail", "reference"): ADD_FILING,
    ("enrollment:add_form_pdf", "reference"): ADD_FILING,
    ("enrollment:add_resubmit", "reference"): ADD_FILING,
    ("enrollment:attachment", "attachment_id"): ATTACHMENT,
    ("enrollment:remove_detail", "reference"): REMOVAL_FILING,
    ("enrollment:batch_detail", "reference"): BATCH,
    ("enrollment:batch_status", "reference"): BATCH,
    ("enrollment:batch_report", "reference"): BATCH,
    ("enrollment:roster_detail", "enrolment_id"): ENROLMENT,
    ("enrollment:resume", "enrolment_id"): ENDED_ENROLMENT,
    ("enrollment:resume_resubmit", "reference"): RESUME_FILING,
    ("enrollment:person_change", "enrolment_id"): ENROLMENT,
    ("enrollment:person_change_detail", "reference"): PERSON_CHANGE,
    ("enrollment:person_change_resubmit", "reference"): PERSON_CHANGE,
    ("enrollment:person_change_attachment", "attachment_id"): PERSON_CHANGE_FILE,
    ("contributions:declaration_detail", "declaration_reference"): DECLARATION,
    ("contributions:bill_detail", "bill_reference"): ASSESSED_BILL,
    ("contributions:bill_confirm", "bill_reference"): ASSESSED_BILL,
    ("contributions:bill_pay", "bill_reference"): CONFIRMED_BILL,
    ("contributions:export_detail", "export_reference"): EXPORT_JOB,
    ("contributions:bill_notice_pdf", "bill_reference"): ASSESSED_BILL,
    ("contributions:export_download", "export_reference"): EXPORT_JOB,
    ("contributions:proof_detail", "proof_id"): PROOF,
    ("contributions:proof_pdf", "proof_id"): PROOF,
    ("contributions:proof_revoke", "proof_id"): PROOF,
    ("contributions:person_detail", "person_id"): PERSON,
    ("contributions:person_rights_pdf", "person_id"): PERSON,
    ("employers:register_verify", "reference"): APPLICATION,
    ("employers:register_verify_ca", "reference"): APPLICATION,
    ("employers:register_verify_face", "reference"): APPLICATION,
    ("employers:register_verify_bank", "reference"): APPLICATION,
    ("employers:register_resubmit", "reference"): APPLICATION,
    ("employers:register_status", "reference"): APPLICATION,
    ("unitinfo:change_detail", "pk"): CHANGE_FILING,
    ("helpdesk:detail", "reference"): QUESTION,
    ("helpdesk:attachment", "message_id"): QUESTION_FILE,
    ("inbox:detail", "message_id"): INBOX_MESSAGE,
    ("contributions:benefit_maternity_detail", "reference"): MATERNITY_CLAIM,
    ("contributions:benefit_recognition_detail", "reference"): RECOGNITION,
    ("contributions:benefit_injury_claim", "reference"): RECOGNITION,
    ("contributions:benefit_injury_claim_detail", "reference"): INJURY_CLAIM,
    ("contributions:benefit_attachment", "attachment_id"): BENEFIT_ATTACHMENT,
    ("contributions:backpay_detail", "reference"): BACKPAY,
    ("contributions:backpay_attachment", "attachment_id"): BACKPAY_ATTACHMENT,
}

# Query-string and form parameters that name an object: URL name -> {parameter: kind}.
IDS: dict[str, dict[str, Kind]] = {
    "agents:add": {"id_number": AGENT_NUMBER},
    "enrollment:add": {
        "document_number": NEW_PERSON_NUMBER,
        "employment_form": EMPLOYMENT_FORM,
        "idempotency_key": ADD_KEY,
    },
    "enrollment:add_resubmit": {
        "document_number": RESUBMITTED_NUMBER,
        "employment_form": EMPLOYMENT_FORM,
        "idempotency_key": ADD_KEY,
    },
    "enrollment:remove": {
        "enrolment": ENROLMENT,
        "idempotency_key": REMOVAL_KEY,
        "q": PERSON_NUMBER,
        "s": SEARCH_TOKEN,
    },
    "enrollment:batch": {"file": BATCH_FILE},
    "enrollment:resume": {"employment_form": EMPLOYMENT_FORM, "idempotency_key": RESUME_KEY},
    "enrollment:resume_resubmit": {
        "employment_form": EMPLOYMENT_FORM,
        "idempotency_key": RESUME_KEY,
    },
    "enrollment:person_change": {
        "employment_form": EMPLOYMENT_FORM,
        "idempotency_key": PERSON_CHANGE_KEY,
    },
    "enrollment:person_change_resubmit": {
        "employment_form": EMPLOYMENT_FORM,
        "idempotency_key": PERSON_CHANGE_KEY,
    },
    "enrollment:roster": {"q": PERSON_NUMBER, "s": SEARCH_TOKEN},
    "enrollment:roster_xlsx": {"q": PERSON_NUMBER, "s": SEARCH_TOKEN},
    "enrollment:roster_csv": {"q": PERSON_NUMBER, "s": SEARCH_TOKEN},
    "contributions:declaration": {
        "period": PERIOD,
        "idempotency_key": DECLARATION_KEY,
        "base_<enrolment id>": BASE_FIELD,
        "adjusted": ADJUSTED,
        "file": DECLARATION_FILE,  # the upload form it shows; sent anyway
    },
    "contributions:declaration_template": {"period": PERIOD},
    "contributions:declaration_upload": {
        "period": PERIOD,
        "idempotency_key": DECLARATION_KEY,
        "file": DECLARATION_FILE,
    },
    "contributions:declaration_upload_confirm": {"payload": UPLOAD_PAYLOAD},
    "contributions:bill_sandbox_bank": {"bill": ASSESSED_BILL},
    "contributions:bill_detail": {"idempotency_key": PAYMENT_KEY},
    "contributions:bill_pay": {"idempotency_key": PAYMENT_KEY},
    "contributions:collection_sandbox_tax": {"voucher": SANDBOX_TAX_VOUCHER},
    "contributions:record_list": {"q": PERSON_NUMBER, "s": SEARCH_TOKEN},
    "contributions:record_missing_cause": {
        "person": PERSON,
        "q": PERSON_NUMBER,
        "s": SEARCH_TOKEN,
    },
    "contributions:export_list": {"q": PERSON_NUMBER, "s": SEARCH_TOKEN},
    "contributions:proof_issue": {"person": PERSON, "person_query": PERSON_NUMBER},
    "contributions:person_search": {"q": PERSON_NUMBER, "s": SEARCH_TOKEN},
    "unitinfo:contact": {"idempotency_key": CHANGE_KEY},
    "helpdesk:ask": {"idempotency_key": QUESTION_KEY},
    "unitinfo:bank_change": {"idempotency_key": CHANGE_KEY},
    "contributions:benefit_maternity": {"document_number": PERSON_NUMBER},
    "contributions:benefit_maternity_confirm": {
        "document_number": PERSON_NUMBER,
        "idempotency_key": MATERNITY_KEY,
    },
    "contributions:benefit_recognition": {
        "document_number": PERSON_NUMBER,
        "idempotency_key": RECOGNITION_KEY,
    },
    "contributions:benefit_injury_claim": {"idempotency_key": INJURY_CLAIM_KEY},
    "contributions:backpay_apply": {
        "document_number": BACKPAY_PERSON_NUMBER,
        "idempotency_key": BACKPAY_KEY,
    },
}

# Forms whose fields are named at run time, and the IDS entry that stands for those fields.
DYNAMIC_FIELDS = {"DeclarationScreenForm": "base_<enrolment id>"}

NOT_SENT = object()  # a button or a switch: read by the view, left out of the form


def _month(offset: int = 0) -> str:
    today = timezone.localdate().replace(day=1)
    month = today.month - 1 + offset
    return f"{today.year + month // 12}-{month % 12 + 1:02d}"


def _attachment(name):
    def make(unit):
        from tests.enrollment.add_helpers import jpg_bytes, pdf_bytes, upload

        if name.endswith(".pdf"):
            return upload(name, pdf_bytes(), "application/pdf")
        return upload(name, jpg_bytes(), "image/jpeg")

    return make


ADD_EMPLOYEE = {
    "name": lambda u: f"{u.label}新来的职工",
    "document_type": "resident_id",
    "sex": "",
    "birth_date": "",
    "nationality": "中国",
    "hukou_type": "local_urban",
    "phone": "13900001111",
    "insurance_codes": ["110", "210", "310", "410"],
    "start_month": lambda u: _month(),
    "employment_start": lambda u: timezone.localdate().isoformat(),
    "contribution_base": "9000",
    "labour_contract": _attachment("合同.pdf"),
    "id_scan": _attachment("身份证.jpg"),
}
RESUME = {
    "insurance_codes": ["110", "210", "310", "410"],
    "start_month": lambda u: _month(),
    "employment_start": "",
    "contribution_base": "9000",
    "labour_contract": _attachment("合同.pdf"),
    "id_scan": _attachment("身份证.jpg"),
}
PERSON_CHANGE_FORM = {
    "name": lambda u: f"{u.label}更正后的姓名",
    "phone": "13900002222",
    "hukou_type": "local_rural",
    "reason": "隔离测试:登记时录入错误",
    "scan": _attachment("户口簿.pdf"),
}
ROSTER_EXPORT = {
    "full": "1",
    "password": PASSWORD,
    "status": "",
    "insurance_code": "",
}
RECORD_MONTHS = {"month_from": "2026-07", "month_to": "2026-08", "insurance_type": ""}


def _days_ago(days: int) -> Callable[[Unit], str]:
    return lambda u: (timezone.localdate() - datetime.timedelta(days=days)).isoformat()


MATERNITY = {
    "event_date": _days_ago(20),
    "kind": "birth",
    "babies": "1",
    "difficult_birth": "",
    "unit_average_wage": "9000",  # asked only where the region has the unit declare it
}


def _maternity_amount(unit) -> str:
    """The amount the confirmation shows for the walker's own valid claim."""
    from contributions.benefits.services import maternity_claim_compute

    figures = maternity_claim_compute(
        agent=unit.agent,
        document_number=unit.person.document_number,
        event_date=timezone.localdate() - datetime.timedelta(days=20),
        kind="birth",
    )
    return str(figures.amount)


def _backpay_total(unit) -> str:
    """The total the 补缴申请 form shows for the walker's own valid application."""
    from contributions.backpay.services import backpay_compute

    figures = backpay_compute(
        agent=unit.agent,
        document_number=unit.backpay_enrolment.person.document_number,
        months=[(backpay_month(), Decimal("9000"))],
    )
    return str(figures.total)


# Every other parameter a view reads: URL name -> {parameter: valid value, or a function of
# the walker's own unit that makes one}.
PLAIN: dict[str, dict[str, object]] = {
    "filings": {"page": "1", "kind": "", "outcome": "", "month": ""},
    "agents:add": {
        "name": lambda u: f"{u.label}新经办人",
        "phone": NEW_AGENT_PHONE,
        "code": lambda u: sms_code_for(purpose="agent_add", phone=NEW_AGENT_PHONE),
        "roles": ["queries"],
        "password": "Walk2026pass",
        "password2": "Walk2026pass",
        "send_code": NOT_SENT,
    },
    "agents:roles": {"roles": ["unit_admin"]},
    "agents:password": {"password": "Walk2026pass", "password2": "Walk2026pass"},
    "enrollment:add": ADD_EMPLOYEE,
    "enrollment:add_resubmit": ADD_EMPLOYEE,
    "enrollment:remove": {
        "search": NOT_SENT,  # the search form's marker: without it, a POST files the removal
        "reason": "contract_ended",
        "voluntary": "no",
        "last_contribution_month": lambda u: _month(),
    },
    "enrollment:resume": RESUME,
    "enrollment:resume_resubmit": RESUME,
    "enrollment:person_change": PERSON_CHANGE_FORM,
    "enrollment:person_change_resubmit": PERSON_CHANGE_FORM,
    "enrollment:roster": {"status": "", "insurance_code": "", "page": "1"},
    "enrollment:roster_xlsx": ROSTER_EXPORT,
    "enrollment:roster_csv": ROSTER_EXPORT,
    "contributions:declaration": {"action": "submit"},
    "contributions:declaration_upload_confirm": {"action": "submit"},
    "contributions:declaration_detail": {"page": "1"},
    "contributions:bill_list": {"month": lambda u: _month(-1), "page": "1"},
    "contributions:bill_awaiting": {"month": lambda u: _month(-1), "page": "1"},
    "contributions:bill_sandbox_bank": {"amount": "100.00", "mode": "deposit"},
    "contributions:bill_detail": {"page": "1"},
    "contributions:collection_sandbox_tax": {"action": "pay", "amount": "1.00", "failure": ""},
    "contributions:record_list": {**RECORD_MONTHS, "page": "1"},
    "contributions:record_missing_cause": {"month": "2026-07"},
    "contributions:export_list": {
        **RECORD_MONTHS,
        "kind": "roster",
        "format": "csv",
        "full": "1",
        "password": PASSWORD,
        "status": "",
        "insurance_code": "",
    },
    "contributions:proof_issue": {"kind": "person", "month_from": "2026-07", "month_to": "2026-08"},
    "contributions:person_detail": {"year": "2026"},
    "contributions:person_rights_pdf": {"year": "2026"},
    "employers:register_verify": {"method": "bank"},
    "employers:register_verify_ca": {"certificate": "MIIB", "signature": "c2ln"},
    "employers:register_verify_bank": {"amount": "0.37", "request_transfer": NOT_SENT},
    "employers:register_resubmit": {
        "legal_rep_id_number": lambda u: fresh_resident_id(),
        "contact_email": "walk@example.com",
        "bank_name": "测试银行",
        "bank_account": "6222020200001234567",
        "bank_account_name": lambda u: u.employer.name,
        "reverify": "",
    },
    "unitinfo:contact": {
        "contact_name": lambda u: f"{u.label}联系人",
        "contact_phone": NEW_CONTACT_PHONE,
        "code": lambda u: sms_code_for(purpose="unit_contact", phone=NEW_CONTACT_PHONE),
        "address": "北京市东城区隔离测试路1号",
        "contact_email": "walk@example.com",
        "reason": "原联系人离职",
        "send_code": NOT_SENT,
    },
    "unitinfo:bank_change": {
        "bank_name": "测试银行",
        "bank_account": "6222020200001234567",
        "bank_account_name": lambda u: u.employer.name,
        "reason": "更换开户银行",
    },
    "unitinfo:change_detail": {"amount": "0.37", "cancel": NOT_SENT, "request_transfer": NOT_SENT},
    "inbox:list": {"show": "unread", "category": "", "page": "1"},
    "helpdesk:list": {"page": "1"},
    "helpdesk:ask": {
        "topic": "other",
        "subject": lambda u: f"{u.label}隔离测试留言",
        "text": "隔离测试的留言内容",
        "upload": _attachment("截图.pdf"),
    },
    "helpdesk:detail": {"text": "隔离测试的追问内容", "upload": _attachment("截图.pdf")},
    "contributions:benefit_maternity": {**MATERNITY, "edit": NOT_SENT},
    "contributions:benefit_maternity_confirm": {
        **MATERNITY,
        "shown_amount": _maternity_amount,
        "certificate": _attachment("出生医学证明.pdf"),
    },
    "contributions:benefit_recognition": {
        "accident_date": _days_ago(3),
        "accident_time": "09:30",
        "place": "隔离测试的仓库",
        "description": "搬运货物时被货架砸伤左脚",
        "late_reason": "",
        "diagnosis": _attachment("诊断证明.pdf"),
    },
    "contributions:benefit_injury_claim": {
        "disability_level": "7",
        "assessment": _attachment("鉴定结论书.pdf"),
        "receipts_scan": _attachment("票据.pdf"),
    },
    "contributions:backpay_apply": {
        "action": "submit",
        "shown_total": _backpay_total,
        "reason": "入职后未及时参保",
        "month": lambda u: [_month(-3)],
        "base": ["9000"],
        "evidence": _attachment("劳动合同.pdf"),
    },
    "accounts:password_change": {
        "old_password": PASSWORD,
        "new_password": "Walk2027pass",
        "new_password2": "Walk2027pass",
    },
}

# Bugs the walk found that are not leaks, left to their owners: (URL name, method, parameter)
# -> what happens. The walk expects each to happen still; once fixed, remove the entry.
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}

# A plain parameter must not look like one that names an object.
ID_LIKE_NAME = re.compile(
    r"(^|_)(id|pk|key|reference|token)$|^(person|enrolment|bill|period|agent|proof|"
    r"declaration|filing|batch|attachment|application|payload|employer|unit|file)$"
)
ID_LIKE_FIELDS = (forms.ModelChoiceField, forms.UUIDField)


def looks_like_an_id(name: str, form_field) -> bool:
    return bool(
        ID_LIKE_NAME.search(name)
        or isinstance(form_field, ID_LIKE_FIELDS)
        or type(form_field) is forms.IntegerField  # a DecimalField is one too
    )


# The walk --------------------------------------------------------------------------------------


@pytest.fixture
def units(settings):
    settings.SANDBOX_PROVIDERS = True  # the sandbox bank pages are walked too
    a = make_unit("甲", region_code="110000", county="110105", victim=False)
    b = make_unit("乙", region_code="310000", county="310104", victim=True)
    return a, b


def walked_routes() -> list[Route]:
    return [
        route
        for route in routes(skip_includes=SKIPPED_INCLUDES)
        if not route.skipped_by and route.name not in NOT_UNIT_SCOPED
    ]


@dataclass
class Try:
    route: Route
    method: str
    parameter: str  # "(path)" for B's objects in the URL, "" for A's own valid form
    path: str
    data: dict
    sent: set[str] = field(default_factory=set)  # B's values sent (a page may echo them)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.route.name, self.method, self.parameter)

    @property
    def names_b_in_path(self) -> bool:
        return self.parameter == "(path)"

    def __str__(self):
        shown = f" {self.parameter}" if self.parameter else ""
        return f"{self.method.upper()} {self.path} [{self.route.name}{shown}]"


def _value(value, unit):
    return value(unit) if callable(value) else value


def form_data(name: str, a: Unit, b: Unit, victim_parameter: str | None) -> tuple[dict, set]:
    """A's valid form for the URL, with ``victim_parameter`` (if any) naming B's object."""
    data, sent = {}, set()
    for parameter, value in PLAIN.get(name, {}).items():
        if value is not NOT_SENT:
            data[parameter] = _value(value, a)
    for parameter, kind in IDS.get(name, {}).items():
        victim = parameter == victim_parameter
        if kind.name is not None:  # a field per object: A's own stays, B's is added
            data[kind.name(a)] = kind.value(a, victim=False)
            if victim:
                data[kind.name(b)] = kind.value(b, victim=True)
            continue
        data[parameter] = kind.value(b if victim else a, victim=victim)
        if victim and isinstance(data[parameter], (str, int, uuid.UUID)):
            sent |= echoes(str(data[parameter]))
    return data, sent


def echoes(value: str) -> set[str]:
    """What a page may show of a value the walker typed: the value, and masked if an ID."""
    return {value, mask_id_number(value)} if len(value) == 18 else {value}


def tries_for(route: Route, a: Unit, b: Unit):
    methods = view_methods(route.callback)
    name = route.name
    if route.params:
        b_path = build_path(route, {p: PATH[(name, p)].of(b) for p in route.params})
        a_path = build_path(route, {p: PATH[(name, p)].of(a) for p in route.params})
        sent = set().union(*(echoes(str(PATH[(name, p)].of(b))) for p in route.params))
        for method in methods:
            data, _sent = form_data(name, a, b, None)
            yield Try(route, method, "(path)", b_path, data, sent)
    else:
        a_path = build_path(route, {})
        for method in methods:
            yield Try(route, method, "", a_path, form_data(name, a, b, None)[0])
    for parameter in IDS.get(name, {}):
        for method in methods:
            data, sent = form_data(name, a, b, parameter)
            yield Try(route, method, parameter, a_path, data, sent)


def send(client: Client, attempt: Try, token: str, watch):
    if attempt.method == "get":
        query = {
            k: v if isinstance(v, list) else str(v)
            for k, v in attempt.data.items()
            if not hasattr(v, "read")  # files go with the POST only
        }
        url = f"{attempt.path}?{urlencode(query, doseq=True)}" if query else attempt.path
        # Every parameter goes into the query string, ID numbers and phones too, on purpose:
        # not held against the portal by the session's check (tests/conftest.py).
        with watch.typing_personal_data():
            return client.get(url)
    return client.post(attempt.path, {**attempt.data, "csrfmiddlewaretoken": token})


def redirect_problem(location: str, b: Unit) -> str | None:
    """Why a redirect target shows B's data (a page of one of B's objects, or B's strings)."""
    path = urlsplit(location).path
    if any(marker in location for marker in b.markers):
        return f"redirects to {location}, which names unit B's data"
    try:
        match = resolve(path)
    except Resolver404:
        return None
    for parameter, value in match.kwargs.items():
        kind = PATH.get((match.view_name, parameter))
        if kind is not None and str(kind.of(b)) == str(value):
            return f"redirects to {location}, the page of unit B's {kind.what}"
    return None


def is_redirect(response) -> bool:
    return response.status_code in (301, 302, 303, 307, 308)


def judge(attempt: Try, response, b: Unit, *, followed_from: str = "") -> str | None:
    """What is wrong with the answer to one try (or with the page it redirected to), or None."""
    status = response.status_code
    where = f"{attempt}{followed_from}"
    if status >= 500 and attempt.key not in KNOWN_BUGS:
        return f"{where} answered {status}"
    if attempt.names_b_in_path and status not in (403, 404, 405):
        return f"{where} answered {status}: a URL naming unit B's object must be 403 or 404"
    if is_redirect(response):
        problem = redirect_problem(response["Location"], b)
        return f"{where} {problem}" if problem else None
    body = body_text(response)
    leaked = [m for m in b.markers if m in body and m not in attempt.sent]
    if leaked:
        return f"{where} answered {status} showing unit B's {leaked}"
    return None


def follow(client: Client, attempt: Try, response, b: Unit) -> str | None:
    """Open the page a try redirected to (A's own): its messages must not show B's data."""
    location = response["Location"]
    if urlsplit(location).netloc not in ("", "testserver"):
        return None
    return judge(attempt, client.get(location), b, followed_from=f" then GET {location}")


def csrf_token(client: Client) -> str:
    client.get("/dashboard/")  # a page with a form: sets the CSRF cookie
    return client.cookies["csrftoken"].value


def test_every_url_keeps_unit_b_out_of_reach_of_unit_a(
    units, django_capture_on_commit_callbacks, capsys, personal_data_watch
):
    a, b = units
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(a.agent.user)
    token = csrf_token(client)
    before = unit_rows(b)
    assert sum(len(rows) for rows in before.values()) > 30  # B's data is there to be seen
    problems, tries, known = [], Counter(), set()
    for route in walked_routes():
        for attempt in tries_for(route, a, b):
            # Each try starts from the same data: what one try does is rolled back after it.
            with transaction.atomic():
                client.force_login(a.agent.user)
                with django_capture_on_commit_callbacks(execute=True):
                    response = send(client, attempt, token, personal_data_watch)
                tries[attempt.key] += 1
                if attempt.key in KNOWN_BUGS and response.status_code >= 500:
                    known.add(attempt.key)
                problem = judge(attempt, response, b)
                if problem is None and is_redirect(response):
                    problem = follow(client, attempt, response, b)
                if problem:
                    problems.append(problem)
                changed = rows_changed(before, unit_rows(b))
                if changed:
                    problems.append(f"{attempt} changed unit B's rows in {changed}")
                transaction.set_rollback(True)
    with capsys.disabled():
        urls = len({name for name, _method, _parameter in tries})
        total = sum(tries.values())
        print(f"\ntenant isolation: {total} tries (URL, method, parameter) on {urls} URLs")
    assert problems == []
    assert known == set(KNOWN_BUGS), "fixed? remove from KNOWN_BUGS what no longer happens"
    assert sum(tries.values()) >= 130
    # Every walked URL, with every method it answers, and every id-carrying parameter of it.
    expected = {
        (route.name, method, parameter)
        for route in walked_routes()
        for method in view_methods(route.callback)
        for parameter in ["(path)" if route.params else "", *IDS.get(route.name, {})]
    }
    assert set(tries) == expected and set(tries.values()) == {1}


# The tables cover everything ---------------------------------------------------------------


def unknown_path_parameters(route: Route) -> list[str]:
    return [
        f"URL {route.name} has the path parameter {p!r} that the tenant-isolation walk cannot "
        f"fill: add ({route.name!r}, {p!r}) to PATH in tests/test_tenant_isolation.py with the "
        "kind of object it names (or list the URL in NOT_UNIT_SCOPED with a reason)"
        for p in route.params
        if (route.name, p) not in PATH
    ]


def unknown_request_parameters(route: Route) -> list[str]:
    read = request_parameters(route.callback)
    ids, plain = IDS.get(route.name, {}), PLAIN.get(route.name, {})
    messages = [
        f"URL {route.name}: its view reads the parameter {name!r}, which the tenant-isolation "
        "walk does not know: add it to IDS (it names an object: give its kind) or to PLAIN "
        "(give a valid value) in tests/test_tenant_isolation.py"
        for name in sorted(read.names - set(ids) - set(plain))
    ]
    for form_name in sorted(read.dynamic_forms):
        entry = DYNAMIC_FIELDS.get(form_name)
        if entry is None or entry not in ids:
            messages.append(
                f"URL {route.name}: its form {form_name} names fields at run time; say in "
                "DYNAMIC_FIELDS and IDS what they carry"
            )
    dynamic = {DYNAMIC_FIELDS[f] for f in read.dynamic_forms if f in DYNAMIC_FIELDS}
    messages += [
        f"URL {route.name}: {name!r} is in the tables but its view does not read it"
        for name in sorted((set(ids) | set(plain)) - read.names - dynamic)
    ]
    for name in sorted(set(plain) & read.names):
        if looks_like_an_id(name, read.fields.get(name)):
            messages.append(
                f"URL {route.name}: {name!r} looks like it names an object: move it to IDS"
            )
    return messages


def test_every_url_parameter_has_a_kind_of_object_to_fill_it():
    messages = [m for route in walked_routes() for m in unknown_path_parameters(route)]
    assert messages == []


def test_every_query_and_form_parameter_of_every_view_is_in_the_tables():
    messages = [m for route in walked_routes() for m in unknown_request_parameters(route)]
    assert messages == []


def test_the_tables_name_only_existing_urls_and_includes():
    every = routes(skip_includes=SKIPPED_INCLUDES)
    names = {route.name for route in every}
    walked = {route.name for route in walked_routes()}
    assert sorted(set(NOT_UNIT_SCOPED) - names) == []
    assert sorted({name for name, _p in PATH} - walked) == []
    assert sorted((set(IDS) | set(PLAIN)) - walked) == []
    assert {route.skipped_by for route in every} - {""} == set(SKIPPED_INCLUDES)


# The checks can fail -----------------------------------------------------------------------


class GadgetForm(forms.Form):
    gadget = forms.IntegerField()
    colour = forms.CharField()

    def __init__(self, *args, rows=(), **kwargs):
        super().__init__(*args, **kwargs)
        for row in rows:
            self.fields[f"row_{row}"] = forms.CharField()


def gadget_view(request):
    form = GadgetForm(request.POST)
    owner = request.GET.get("owner")
    return form, owner


def test_a_new_url_or_parameter_fails_the_walk_with_a_message_naming_it(monkeypatch):
    from tests import tenant_helpers

    # The gadget lives in this test module: read its source as the project's own.
    monkeypatch.setattr(tenant_helpers, "PROJECT_APPS", (*tenant_helpers.PROJECT_APPS, "tests"))
    route = Route("demo:gadget", [RoutePattern("g/<int:gadget_id>/")], ["gadget_id"], gadget_view)
    [path_message] = unknown_path_parameters(route)
    assert "demo:gadget" in path_message and "'gadget_id'" in path_message
    read = request_parameters(gadget_view)
    assert read.names == {"gadget", "colour", "owner"}
    assert read.dynamic_forms == {"GadgetForm"}
    messages = unknown_request_parameters(route)
    assert any("'owner'" in m for m in messages) and any("'gadget'" in m for m in messages)
    assert any("GadgetForm" in m for m in messages)
    monkeypatch.setitem(PLAIN, "demo:gadget", {"gadget": "1", "colour": "red", "owner": "x"})
    messages = unknown_request_parameters(route)
    assert any("'gadget' looks like it names an object" in m for m in messages)


def test_the_judge_flags_a_page_a_redirect_and_a_status_that_show_unit_b(units):
    a, b = units
    route = Route("demo:page", [], [], None)
    shown = Try(route, "get", "", "/demo/", {})

    class Answer:
        streaming = False

        def __init__(self, status, content=b"", location=""):
            self.status_code, self.content = status, content
            self._location = location

        def __getitem__(self, header):
            return self._location

    assert judge(shown, Answer(200, b.employer.name.encode()), b)
    assert judge(shown, Answer(200, a.employer.name.encode()), b) is None
    bill_page = f"/contributions/bills/{b.assessed_bill.reference}/"
    assert "unit B" in judge(shown, Answer(302, location=bill_page), b)
    own_bill = f"/contributions/bills/{a.assessed_bill.reference}/"
    assert judge(shown, Answer(302, location=own_bill), b) is None
    named = Try(route, "get", "(path)", "/demo/", {})
    assert "403 or 404" in judge(named, Answer(200), b)
    assert judge(named, Answer(404), b) is None


def test_the_database_check_sees_b_changed_and_a_row_of_a_pointing_at_b(units):
    from contributions.models import BaseDeclarationLine
    from enrollment.models import Person

    a, b = units
    before = unit_rows(b)
    assert rows_changed(before, unit_rows(b)) == []
    Person.objects.filter(pk=b.person.pk).update(phone="13800000000")
    BaseDeclarationLine.objects.create(
        declaration=a.declaration, enrolment=b.enrolment, declared_base=9000, wage=9000
    )
    changed = rows_changed(before, unit_rows(b))
    assert {"enrollment.Person", "contributions.BaseDeclarationLine"} <= set(changed)


def test_unit_a_reaches_its_own_objects_so_the_walk_can_tell_the_difference(units):
    a, b = units
    client = Client()
    client.force_login(a.agent.user)
    for name, kind in [
        ("enrollment:remove_detail", REMOVAL_FILING),
        ("enrollment:batch_status", BATCH),
        ("contributions:bill_detail", ASSESSED_BILL),
        ("contributions:proof_detail", PROOF),
        ("agents:roles", AGENT),
    ]:
        [route] = [r for r in walked_routes() if r.name == name]
        [param] = route.params
        assert client.get(build_path(route, {param: kind.of(a)})).status_code == 200, name
        assert client.get(build_path(route, {param: kind.of(b)})).status_code == 404, name
    page = client.get(f"/enrollment/remove/?enrolment={a.enrolment.pk}").content.decode()
    assert a.person.name in page
