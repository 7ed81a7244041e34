"""Chinese identifiers: resident ID (GB 11643-1999), USCC (GB 32100-2015), mobile numbers.

One implementation for the whole portal. Validators raise ValidationError with a Chinese message;
helpers derive birth date and sex from a resident ID and mask values for display
(GB/T 35273 display limits).
"""

from __future__ import annotations

import datetime
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# GB 11643-1999: ISO 7064 MOD 11-2 over the first 17 digits.
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK_CHARS = "10X98765432"
# ASCII only: \d would also match full-width and other Unicode digits, which int() accepts.
ID_PATTERN = re.compile(r"[0-9]{17}[0-9X]")

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
USCC_PATTERN = re.compile(rf"[{USCC_CHARS}]{{18}}")

MOBILE_PATTERN = re.compile(r"1[0-9]{10}")


def nfkc(value) -> str:
    """Fold full-width digits, letters and brackets (１２３, ＡＢＣ, （）) to their ASCII forms.

    Chinese input methods type full-width characters easily; every identifier and every name
    compared with the registry is folded first (Unicode normalisation form NFKC).
    """
    return unicodedata.normalize("NFKC", str(value))


def normalise_unit_name(value: str) -> str:
    """A unit name as compared with the registry: NFKC-folded, without any whitespace."""
    return "".join(nfkc(value).split())


def normalise_resident_id(value: str) -> str:
    """Strip spaces and upper-case the check character (a lower-case x is common)."""
    return "".join(nfkc(value).split()).upper()


def resident_id_check_char(first17: str) -> str:
    """Return the GB 11643 check character for 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def _birth_date(number: str) -> datetime.date | None:
    try:
        return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def validate_resident_id(value: str) -> None:
    """Check an 18-character resident ID number: format, real past birth date, check character.

    The six-digit area code is not checked: abolished codes stay valid on cards already issued
    (the standard's own example 440524188001010014 carries one).
    """
    number = normalise_resident_id(value)
    if not ID_PATTERN.fullmatch(number):
        raise ValidationError(
            _("身份证号码应为18位:17位数字加1位校验码(数字或X)。"), code="id_format"
        )
    birth = _birth_date(number)
    # No lower bound on the year: the standard's own example was born in 1880.
    if birth is None or birth > timezone.localdate():
        raise ValidationError(_("身份证号码中的出生日期无效,请核对。"), code="id_birth_date")
    if resident_id_check_char(number[:17]) != number[17]:
        raise ValidationError(
            _("身份证号码校验位不正确,请逐位核对后重新输入。"), code="id_checksum"
        )


def resident_id_birth_date(value: str) -> datetime.date:
    """Return the birth date encoded in positions 7–14 of a valid resident ID."""
    validate_resident_id(value)
    return _birth_date(normalise_resident_id(value))


def resident_id_sex(value: str) -> str:
    """Return "male" or "female" from the 17th digit (odd for men, even for women)."""
    validate_resident_id(value)
    return "male" if int(normalise_resident_id(value)[16]) % 2 else "female"


def normalise_uscc(value: str) -> str:
    return "".join(nfkc(value).split()).upper()


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100 check character for the first 17 characters."""
    total = sum(USCC_CHARS.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def validate_uscc_format(value: str) -> None:
    """Check length and alphabet only (early pilot codes may legally fail the check character)."""
    if not USCC_PATTERN.fullmatch(normalise_uscc(value)):
        raise ValidationError(
            _("统一社会信用代码应为18位,由数字和大写字母组成(不含I、O、S、V、Z)。"),
            code="uscc_format",
        )


def uscc_checksum_ok(value: str) -> bool:
    code = normalise_uscc(value)
    return bool(USCC_PATTERN.fullmatch(code)) and uscc_check_char(code[:17]) == code[17]


def validate_uscc(value: str) -> None:
    """Check an 18-character unified social credit code, including its check character."""
    validate_uscc_format(value)
    if not uscc_checksum_ok(value):
        raise ValidationError(
            _("统一社会信用代码校验位不正确,请对照营业执照核对。"), code="uscc_checksum"
        )


def normalise_mobile(value: str) -> str:
    digits = "".join(nfkc(value).split()).replace("-", "")
    if digits.startswith("+86"):
        digits = digits[3:]
    return digits


def validate_mobile(value: str) -> None:
    """Check a mainland mobile number: 11 digits starting with 1."""
    if not MOBILE_PATTERN.fullmatch(normalise_mobile(value)):
        raise ValidationError(_("请输入11位手机号码,以数字1开头。"), code="mobile_format")


# A person's name: Chinese characters, letters of foreign names, spaces, and the middle dot that
# separates the parts of minority and transliterated names (typed as ·, •, ‧ or ・); hyphens,
# apostrophes and full stops occur in foreign names. Digits and markup characters never do.
NAME_SEPARATORS = frozenset(" \u3000·•‧・.-'")


def validate_person_name(value: str) -> None:
    """Refuse a name holding anything but letters, spaces and name separators."""
    name = str(value or "").strip()
    if not name:
        return
    if not any(ch.isalpha() for ch in name) or any(
        not (ch.isalpha() or ch in NAME_SEPARATORS) for ch in name
    ):
        raise ValidationError(
            _("姓名只能由汉字、字母、空格和间隔号“·”组成,请去掉数字和其他符号。"),
            code="name_chars",
        )


def mask_id_number(value: str) -> str:
    """Keep the first 6 and last 4 characters: 110105********1234."""
    value = normalise_resident_id(value or "")
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits: 138****5678."""
    value = normalise_mobile(value or "")
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_bank_account(value: str) -> str:
    """Keep the last 4 digits of a bank account: ***************4567."""
    value = "".join(str(value or "").split())
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


def mask_name(name: str) -> str:
    """Keep the first and last character: 张三 → 张*, 张小三 → 张*三, 欧阳明月 → 欧**月."""
    name = " ".join(str(name or "").split())
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_name_to_surname(name: str) -> str:
    """Keep the surname only (enough for a unit to recognise, nothing more in an SMS):
    张三 → 张*, 欧阳娜娜 → 欧***, 王 → 王*."""
    name = (name or "").strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""
