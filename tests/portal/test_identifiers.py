import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.identifiers import (
    USCC_CHARS,
    mask_bank_account,
    mask_id_number,
    mask_phone,
    normalise_mobile,
    normalise_resident_id,
    normalise_uscc,
    resident_id_birth_date,
    resident_id_check_char,
    resident_id_sex,
    uscc_check_char,
    uscc_checksum_ok,
    validate_mobile,
    validate_person_name,
    validate_resident_id,
    validate_uscc,
    validate_uscc_format,
)
from tests.portal.helpers_pii import resident_id

FAST = settings(max_examples=200, deadline=None)
DIGITS = "0123456789"
ID_CHARS = DIGITS + "X"
CJK = re.compile(r"[\u4e00-\u9fff]")


def error_code(validator, value) -> str:
    with pytest.raises(ValidationError) as excinfo:
        validator(value)
    messages = excinfo.value.messages
    assert messages and all(CJK.search(str(message)) for message in messages), messages
    return excinfo.value.code


def fixed_text(alphabet: str, size: int):
    return st.text(alphabet=alphabet, min_size=size, max_size=size)


# Resident ID (GB 11643-1999)


def test_standard_example_with_abolished_area_code_and_1880_birth_is_valid():
    validate_resident_id("440524188001010014")
    assert resident_id_birth_date("440524188001010014") == datetime.date(1880, 1, 1)
    assert resident_id_sex("440524188001010014") == "male"


def test_check_character_x_is_valid_in_either_case():
    validate_resident_id("11010519491231002X")
    validate_resident_id("11010519491231002x")
    assert normalise_resident_id("11010519491231002x") == "11010519491231002X"
    assert normalise_resident_id(" 110105 19491231 002x ") == "11010519491231002X"


def test_derived_birth_date_and_sex_of_published_sample():
    assert resident_id_birth_date("11010519491231002X") == datetime.date(1949, 12, 31)
    assert resident_id_sex("11010519491231002X") == "female"  # 17th digit 2


@pytest.mark.parametrize(
    "value",
    ["11010519491231002", "1101051949123100211", "1101051949123100X1", "11010519491231002Y", ""],
)
def test_malformed_resident_id_is_refused(value):
    assert error_code(validate_resident_id, value) == "id_format"


def test_full_width_digits_and_letters_are_folded_before_checking():
    # Chinese input methods type full-width digits easily: NFKC folds them (issue 19).
    validate_resident_id("１１010519491231002Ｘ")
    assert normalise_resident_id("１１010519491231002ｘ") == "11010519491231002X"
    assert normalise_mobile("１３８１２３４５６７８") == "13812345678"
    assert normalise_uscc("９１３５０１００Ｍ０００１００Ｙ４３") == "91350100M000100Y43"


def test_other_unicode_digits_are_still_refused():
    # NFKC leaves Arabic-Indic digits as they are; only ASCII digits are an ID number.
    assert error_code(validate_resident_id, "١١010519491231002X") == "id_format"


def test_impossible_birth_date_is_refused_even_with_a_correct_check_character():
    first17 = "110105" + "19990231" + "002"
    assert error_code(validate_resident_id, first17 + resident_id_check_char(first17)) == (
        "id_birth_date"
    )


def test_future_birth_date_is_refused_even_with_a_correct_check_character():
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    assert error_code(validate_resident_id, resident_id(birth=tomorrow)) == "id_birth_date"


def test_birth_today_is_accepted():
    validate_resident_id(resident_id(birth=timezone.localdate()))


def test_wrong_check_character_is_refused():
    assert error_code(validate_resident_id, "110105194912310021") == "id_checksum"


@st.composite
def valid_resident_ids(draw):
    area = draw(fixed_text(DIGITS, 6))
    birth = draw(st.dates(min_value=datetime.date(1, 1, 1), max_value=timezone.localdate()))
    serial = draw(fixed_text(DIGITS, 3))
    return resident_id(area=area, birth=birth, serial=serial), birth


@FAST
@given(valid_resident_ids())
def test_any_past_birth_date_with_computed_check_is_valid(sample):
    number, birth = sample
    validate_resident_id(number)
    validate_resident_id(number.lower())
    assert resident_id_birth_date(number) == birth
    assert resident_id_sex(number) == ("male" if int(number[16]) % 2 else "female")
    assert mask_id_number(number) == number[:6] + "********" + number[-4:]


@FAST
@given(valid_resident_ids(), st.integers(min_value=0, max_value=17), st.sampled_from(ID_CHARS))
def test_any_single_character_change_of_a_resident_id_is_refused(sample, position, char):
    number, _ = sample
    if char == number[position]:
        char = ID_CHARS[(ID_CHARS.index(char) + 1) % len(ID_CHARS)]
    changed = number[:position] + char + number[position + 1 :]
    with pytest.raises(ValidationError):
        validate_resident_id(changed)


# Unified social credit code (GB 32100-2015)


def test_uscc_worked_example_is_valid():
    validate_uscc("91350100M000100Y43")
    validate_uscc("91350100m000100y43")
    assert uscc_checksum_ok("91350100M000100Y43")


def test_fujian_pilot_code_passes_format_but_fails_check():
    validate_uscc_format("91350100M0001TGQXM")
    assert not uscc_checksum_ok("91350100M0001TGQXM")
    assert error_code(validate_uscc, "91350100M0001TGQXM") == "uscc_checksum"


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_letters_outside_the_uscc_alphabet_are_refused(letter):
    code = "91350100M000100Y43".replace("M", letter)
    assert error_code(validate_uscc_format, code) == "uscc_format"
    assert error_code(validate_uscc, code) == "uscc_format"
    assert not uscc_checksum_ok(code)


@pytest.mark.parametrize("value", ["91350100M000100Y4", "91350100M000100Y433", "", "9135 0100"])
def test_uscc_of_wrong_length_is_refused(value):
    assert error_code(validate_uscc, value) == "uscc_format"


uscc_first17 = fixed_text(USCC_CHARS, 17)


@FAST
@given(uscc_first17)
def test_any_17_uscc_characters_with_computed_check_are_valid(first17):
    validate_uscc(first17 + uscc_check_char(first17))


@FAST
@given(uscc_first17, st.integers(min_value=0, max_value=17), st.sampled_from(USCC_CHARS))
def test_any_single_character_change_of_a_uscc_is_refused(first17, position, char):
    code = first17 + uscc_check_char(first17)
    if char == code[position]:
        char = USCC_CHARS[(USCC_CHARS.index(char) + 1) % len(USCC_CHARS)]
    changed = code[:position] + char + code[position + 1 :]
    validate_uscc_format(changed)
    assert error_code(validate_uscc, changed) == "uscc_checksum"


# Mobile numbers


@pytest.mark.parametrize("value", ["13812345678", "+86 138 1234 5678", "138-1234-5678"])
def test_mainland_mobile_is_valid(value):
    validate_mobile(value)


@pytest.mark.parametrize(
    "value", ["138123456789", "1381234567", "23812345678", "1٣812345678", "1381234567a", ""]
)
def test_malformed_mobile_is_refused(value):
    assert error_code(validate_mobile, value) == "mobile_format"


@FAST
@given(fixed_text(DIGITS, 10))
def test_any_eleven_digits_starting_with_one_are_a_mobile(rest):
    validate_mobile("1" + rest)


# Masks (GB/T 35273 display limits)


def test_mask_id_number_keeps_first_six_and_last_four():
    assert mask_id_number("110105194912311234") == "110105********1234"
    assert mask_id_number("11010519491231002x") == "110105********002X"
    assert mask_id_number("") == ""
    assert mask_id_number(None) == ""
    assert mask_id_number("1234567890") == "**********"


def test_mask_phone_keeps_first_three_and_last_four():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "138****5678"
    assert mask_phone("") == ""
    assert mask_phone("1234567") == "*******"


def test_mask_bank_account_keeps_last_four():
    assert mask_bank_account("6222020200001234567") == "*" * 15 + "4567"
    assert mask_bank_account("6222 0202 0000 1234 567") == "*" * 15 + "4567"
    assert mask_bank_account("1234") == "****"
    assert mask_bank_account(None) == ""


@pytest.mark.parametrize(
    "name",
    [
        "张三",
        "欧阳明月",
        "阿卜杜拉·买买提",
        "阿依古丽•吐尔逊",
        "John Smith",
        "O'Brien-Müller",
        "Zoë",
    ],
)
def test_names_of_people_are_accepted(name):
    validate_person_name(name)


@pytest.mark.parametrize(
    "name",
    [
        '<font size="28" color="red">已审核通过</font>',
        "<img src=x>",
        "张三1",
        "李四&王五",
        "王五;",
        "···",
        "=SUM(A1)",
    ],
)
def test_names_with_digits_symbols_or_markup_are_refused(name):
    with pytest.raises(ValidationError, match="姓名只能由汉字、字母、空格和间隔号") as caught:
        validate_person_name(name)
    assert caught.value.code == "name_chars"
