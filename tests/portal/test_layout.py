import re
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.template import engines
from django.urls import reverse

from portal.models import User
from portal.navigation import MODULES
from tests.conftest import otp_verify

pytestmark = pytest.mark.django_db

VENDORED = [
    "vendor/bootstrap/css/bootstrap.min.css",
    "vendor/bootstrap/css/bootstrap.min.css.map",
    "vendor/bootstrap/js/bootstrap.bundle.min.js",
    "vendor/bootstrap/js/bootstrap.bundle.min.js.map",
    "vendor/bootstrap/LICENSE",
]


def render(source, context=None, request=None):
    return engines["django"].from_string(source).render(context or {}, request)


@pytest.fixture
def home(client):
    return client.get(reverse("home"))


def test_home_shows_the_six_modules_and_the_hotline(home):
    content = home.content.decode()
    assert home.status_code == 200
    for label in ["单位信息管理", "职工参保管理", "缴费申报", "查询统计", "待遇申领", "打印证明"]:
        assert label in content
    assert "12333" in content
    assert "单位社保网上服务大厅" in content


def test_home_shows_login_panel_registration_steps_and_notices(home):
    content = home.content.decode()
    assert "单位用户登录" in content
    steps = ["单位开户", "网上注册", "身份认证", "审核", "登录办理"]
    positions = [content.index(step, content.index('id="register"')) for step in steps]
    assert positions == sorted(positions)
    assert "1-3个工作日" in content
    assert "通知公告" in content
    assert "常见问题" in content


def test_home_is_chinese_with_viewport_and_skip_link(home):
    content = home.content.decode()
    assert '<html lang="zh-CN">' in content
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in content
    assert 'href="#main"' in content and 'id="main"' in content


def test_every_static_file_the_home_page_references_exists(home):
    referenced = re.findall(r'(?:href|src)="/static/([^"]+)"', home.content.decode())
    assert "vendor/bootstrap/css/bootstrap.min.css" in referenced
    assert "vendor/bootstrap/js/bootstrap.bundle.min.js" in referenced
    missing = [path for path in referenced if not finders.find(path)]
    assert missing == []


@pytest.mark.parametrize("path", VENDORED)
def test_vendored_bootstrap_file_exists(path):
    file = Path(settings.BASE_DIR) / "static" / path
    assert file.is_file() and file.stat().st_size > 0


@pytest.mark.parametrize(
    "path",
    ["vendor/bootstrap/css/bootstrap.min.css", "vendor/bootstrap/js/bootstrap.bundle.min.js"],
)
def test_vendored_bootstrap_source_map_comment_names_a_shipped_file(path):
    file = Path(settings.BASE_DIR) / "static" / path
    text = file.read_text(encoding="utf-8")
    assert "Bootstrap  v5.3" in text or "Bootstrap v5.3" in text
    names = re.findall(r"sourceMappingURL=(\S+?)(?:\s*\*/)?\s*$", text)
    assert names and (file.parent / names[-1]).is_file()


def test_collectstatic_with_manifest_storage_succeeds(settings, tmp_path):
    # ManifestStaticFilesStorage rewrites sourceMappingURL comments and fails on a missing .map.
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    assert (tmp_path / "staticfiles.json").is_file()


def test_anonymous_visitor_sees_login_and_register_links(home):
    content = home.content.decode()
    assert 'href="/login/"' in content
    assert 'href="/register/"' in content
    assert "退出" not in content


def test_logged_in_agent_sees_name_and_logout(client):
    user = User.objects.create_user(username="agent1", password="x", first_name="王")
    client.force_login(user)
    content = client.get(reverse("home")).content.decode()
    assert "您好，王" in content
    assert "退出" in content
    assert 'href="/login/"' not in content
    assert reverse("admin:index") not in content


def test_clerk_logs_out_from_the_portal_header(client):
    clerk = User.objects.create_user(username="clerk1", password="x", is_staff=True)
    otp_verify(client, clerk)  # a clerk in the admin has passed the second factor
    content = client.get(reverse("home")).content.decode()
    assert f'action="{reverse("admin:logout")}"' in content
    assert f'href="{reverse("admin:index")}"' in content

    response = client.post(reverse("admin:logout"), {"next": reverse("home")})
    assert response.status_code == 302 and response.url == reverse("home")
    assert "_auth_user_id" not in client.session


def test_language_switch_posts_to_set_language(home):
    content = home.content.decode()
    assert f'action="{reverse("set_language")}"' in content
    assert 'value="zh-hans"' in content and 'value="en"' in content


def test_top_navigation_marks_home_as_current(home):
    assert re.search(
        r'class="nav-link active" href="/"\s+aria-current="page"', home.content.decode()
    )


def test_left_menu_lists_the_current_module_items(rf):
    content = render('{% extends "base.html" %}', {"current_module": "enrollment"}, rf.get("/"))
    enrollment = next(module for module in MODULES if module.key == "enrollment")
    for item in enrollment.items:
        assert str(item.label) in content
    assert 'id="portal-sidemenu-title">职工参保管理</h2>' in content
    assert re.search(r'active" href="/enrollment/add/"\s+aria-current="page">职工参保管理', content)
    assert "单位基本信息" not in content


def test_no_left_menu_without_a_current_module(rf):
    assert "portal-sidemenu" not in render('{% extends "base.html" %}', {}, rf.get("/"))


def test_messages_render_as_bootstrap_alerts(rf):
    request = rf.get("/")
    request._messages = [
        Message(constants.SUCCESS, "增员申报已提交"),
        Message(constants.ERROR, "附件格式不支持"),
    ]
    content = render('{% extends "base.html" %}', {}, request)
    assert re.search(r'alert-success[^"]*" role="status">\s*增员申报已提交', content)
    assert re.search(r'alert-danger[^"]*" role="alert">\s*附件格式不支持', content)


class ContactForm(forms.Form):
    uscc = forms.CharField(label="统一社会信用代码", max_length=18)
    phone = forms.CharField(label="经办人手机号", max_length=11)

    def clean(self):
        raise forms.ValidationError("单位信息与开户登记不一致")


FORM_PAGE = (
    "{% load crispy_forms_tags %}"
    '{% include "includes/form_errors.html" %}'
    '<form method="post">{{ form|crispy }}</form>'
)


def test_error_summary_links_each_field_error_to_its_input():
    form = ContactForm(data={"uscc": "", "phone": "1381234567890"})
    assert not form.is_valid()
    content = render(FORM_PAGE, {"form": form})

    summary = content[: content.index("<form")]
    assert 'role="alert"' in summary
    assert "请检查以下内容" in summary
    assert "单位信息与开户登记不一致" in summary
    assert '<a href="#id_uscc">统一社会信用代码：这个字段是必填项。</a>' in summary
    assert re.search(r'<a href="#id_phone">经办人手机号：[^<]*11[^<]*</a>', summary)

    # Each field also shows its own message beside the input (crispy bootstrap5).
    fields = content[content.index("<form") :]
    assert 'id="id_uscc"' in fields and "is-invalid" in fields
    assert re.search(r'id="error_1_id_uscc"[^>]*><strong>这个字段是必填项。', fields)


def test_valid_form_has_no_error_summary():
    class NameForm(forms.Form):
        name = forms.CharField(label="单位名称")

    form = NameForm(data={"name": "某某有限公司"})
    assert form.is_valid()
    assert "请检查以下内容" not in render(FORM_PAGE, {"form": form})


def test_an_agent_is_greeted_by_name_not_by_login_name(client):
    from tests.factories import create_agent

    agent = create_agent(name="赵六")
    client.force_login(agent.user)
    content = client.get(reverse("dashboard")).content.decode()
    assert "您好，赵六" in content and agent.user.get_username() not in content


def test_the_icon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.ico")
    assert 'rel="icon"' in client.get(reverse("home")).content.decode()
