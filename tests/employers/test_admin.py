import pytest

from tests.factories import create_agent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    ["/admin/employers/openedaccount/", "/admin/employers/employer/", "/admin/employers/agent/"],
)
def test_clerk_sees_employer_screens(admin_client, url):
    create_agent()
    response = admin_client.get(url)
    assert response.status_code == 200


def test_agent_list_shows_masked_id_and_phone_only(admin_client):
    agent = create_agent(id_number="11010519491231002X", phone="13812345678")
    body = admin_client.get("/admin/employers/agent/").content.decode()
    assert "110105********002X" in body
    assert "138****5678" in body
    assert agent.id_number not in body
    assert "13812345678" not in body


def test_anonymous_user_cannot_open_admin(client):
    response = client.get("/admin/employers/agent/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
