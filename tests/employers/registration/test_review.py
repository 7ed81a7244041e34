"""Registration through review: the status page, rejection comments and resubmission."""

import pytest
from django.utils import timezone

from employers.models import Employer
from employers.registration.views import APPLICATIONS_KEY
from portal.models import ReviewState
from portal.review import review_decide
from tests.factories import create_clerk, create_submitted_application
from tests.support.banking import after_commit

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return create_submitted_application()


@pytest.fixture
def applicant(client, application):
    session = client.session
    session[APPLICATIONS_KEY] = [application.reference]
    session.save()
    return client


def reject(application, comment="对公账号与开户行不符,请核对后重新提交"):
    review_decide(
        model=type(application),
        pk=application.pk,
        actor=create_clerk(),
        decision="reject",
        comment=comment,
    )


def test_status_page_shows_the_due_date_while_in_review(applicant, application):
    page = applicant.get(f"/registration/{application.reference}/").content.decode()
    assert "审核中" in page and "预计审核完成" in page


def test_rejection_shows_the_comment_and_a_resubmit_path(applicant, application):
    reject(application)
    page = applicant.get(f"/registration/{application.reference}/").content.decode()
    assert "对公账号与开户行不符" in page
    assert f"/registration/{application.reference}/resubmit/" in page


def test_resubmit_form_keeps_the_earlier_answers(applicant, application):
    reject(application)
    page = applicant.get(f"/registration/{application.reference}/resubmit/").content.decode()
    assert application.employer.bank_account in page
    assert application.employer.bank_name in page


def test_resubmission_goes_back_into_the_queue(
    applicant, application, django_capture_on_commit_callbacks
):
    reject(application)
    url = f"/registration/{application.reference}/resubmit/"
    data = {
        "legal_rep_id_number": application.employer.legal_rep_id_number,
        "contact_email": "hr@unit.example",
        "bank_name": "中国工商银行北京分行",
        "bank_account": application.employer.bank_account,  # the account the penny-drop proved
        "bank_account_name": application.employer.name,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = applicant.post(url, data)
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.review_state == ReviewState.PENDING
    assert application.employer.status == Employer.Status.PENDING
    assert application.employer.bank_name == "中国工商银行北京分行"
    assert application.employer.contact_email == "hr@unit.example"


def resubmit_data(application, **changes):
    employer = application.employer
    return {
        "legal_rep_id_number": employer.legal_rep_id_number,
        "contact_email": employer.contact_email,
        "bank_name": employer.bank_name,
        "bank_account": employer.bank_account,
        "bank_account_name": employer.name,
        **changes,
    }


def test_asking_to_verify_again_sends_the_unit_back_to_verification_then_to_review(
    applicant, application, django_capture_on_commit_callbacks
):
    from employers.models import PennyDropTransfer, RegistrationApplication

    reject(application, comment="人脸识别照片不清晰,请重新认证")
    url = f"/registration/{application.reference}/resubmit/"
    response = applicant.post(url, resubmit_data(application, reverify="on"))
    assert response["Location"] == f"/registration/{application.reference}/verify/"
    application.refresh_from_db()
    assert application.state == RegistrationApplication.State.VERIFYING
    assert (application.verified_at, application.verification_evidence) == (None, {})
    assert application.review_state == ReviewState.REJECTED  # not back in the queue yet
    assert application.employer.status == Employer.Status.REJECTED

    bank_url = f"/registration/{application.reference}/verify/bank/"
    with after_commit():
        applicant.post(bank_url, {"request_transfer": "1"})
    transfer = PennyDropTransfer.objects.get(application=application, state="sent")
    PennyDropTransfer.objects.filter(pk=transfer.pk).update(arrives_on=timezone.localdate())
    with django_capture_on_commit_callbacks(execute=True):
        applicant.post(bank_url, {"amount": f"{transfer.amount_fen / 100:.2f}"})
    application.refresh_from_db()
    assert application.state == RegistrationApplication.State.SUBMITTED
    assert application.review_state == ReviewState.PENDING
    assert application.employer.status == Employer.Status.PENDING


def test_a_new_account_after_a_penny_drop_needs_a_new_proof(applicant, application):
    from employers.models import RegistrationApplication

    reject(application)
    url = f"/registration/{application.reference}/resubmit/"
    applicant.post(url, resubmit_data(application, bank_account="6222020200009999888"))
    application.refresh_from_db()
    assert application.state == RegistrationApplication.State.VERIFYING
    assert application.employer.bank_account == "6222020200009999888"


def test_resubmit_with_bad_input_keeps_what_was_typed(applicant, application):
    reject(application)
    url = f"/registration/{application.reference}/resubmit/"
    response = applicant.post(
        url,
        {
            "legal_rep_id_number": "110105198808080001",
            "contact_email": "not-an-email",
            "bank_name": "新的开户行",
            "bank_account": "6222020200005555666",
            "bank_account_name": application.employer.name,
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "邮箱格式不正确" in page and "新的开户行" in page
    application.refresh_from_db()
    assert application.review_state == ReviewState.REJECTED


def test_resubmit_is_refused_while_in_review_and_for_strangers(applicant, application, client):
    url = f"/registration/{application.reference}/resubmit/"
    assert applicant.get(url)["Location"] == f"/registration/{application.reference}/"
    from django.test import Client

    # A stranger's browser is sent to log in; only the unit's administrator gets further.
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
