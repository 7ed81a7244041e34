"""Field validators of the employers app."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

PASSWORD_RULE = _("密码须为8-20位,同时包含字母和数字。")


def validate_agent_password(password: str, *, id_number: str = "", phone: str = "") -> None:
    """Check the agent password rules of DESIGN.md section 7 (common passwords by Django)."""
    from django.contrib.auth.password_validation import CommonPasswordValidator

    if not 8 <= len(password) <= 20:
        raise ValidationError(PASSWORD_RULE, code="password_length")
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        raise ValidationError(PASSWORD_RULE, code="password_classes")
    lowered = password.lower()
    for personal in (id_number.lower(), phone):
        if personal and (personal in lowered or lowered in personal):
            raise ValidationError(_("密码不能包含身份证号或手机号。"), code="password_personal")
    try:
        CommonPasswordValidator().validate(password)
    except ValidationError:
        raise ValidationError(
            _("该密码过于常见,容易被猜中,请换一个。"), code="password_common"
        ) from None
