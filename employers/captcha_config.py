"""django-simple-captcha installed without its translations.

The package's zh_Hans catalogue also translates Django's own "This field is required." (as
"这个字段是必须的"), and an app's catalogue overrides Django's for every form of the site. The
app's directory is therefore one of ours (employers/captcha_app/), holding only the widget
template the package ships. Expired challenges are deleted by beat every 5 minutes
(employers.tasks.captcha_clean, as the package's `captcha_clean` command), not at each answer
checked (employers.accounts.forms.PortalCaptchaField).
"""

from pathlib import Path

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaptchaConfig(AppConfig):
    name = "captcha"
    label = "captcha"
    verbose_name = _("图片验证码")
    path = str(Path(__file__).resolve().parent / "captcha_app")
    default_auto_field = "django.db.models.AutoField"
