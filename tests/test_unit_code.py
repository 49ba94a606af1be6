"""统一社会信用代码 (GB 32100-2015): 18 characters, the first 8 digits (登记管理部门 1, 机构类别 1, 行政区划 6),
then 9 characters of 0-9 and A-Z without I, O, Z, S, V, the last one a check digit (weighted sum mod 31).

Government organs (机关) are registered by 机构编制部门 "1" as category "1": their codes start with "11".
"""
from __future__ import annotations

import pytest
from stdnum.cn.uscc import calc_check_digit

from udfs.unit_code import check_unit_code, normalize_unit_code


def with_check_digit(body17: str) -> str:
    assert len(body17) == 17
    return body17 + calc_check_digit(body17)


# 机关 in 新疆 (行政区划 650000 自治区, 652200 哈密, 650100 乌鲁木齐), organisation codes with letters and digits;
# check digits computed with stdnum's calc_check_digit (pinned in test_check_digits_of_the_fixtures).
ORGAN = "11650000MB1234567M"
HAMI = "11652200010203040W"
URUMQI = "11650100K00012345G"
ENTERPRISE = "91110000600037341L"        # python-stdnum's documented valid example (企业, 北京)


def test_check_digits_of_the_fixtures():
    for code in (ORGAN, HAMI, URUMQI, ENTERPRISE):
        assert with_check_digit(code[:17]) == code


def wrong_check_digit(code: str) -> str:
    """The same code with another check character."""
    other = "0" if code[-1] != "0" else "1"
    return code[:-1] + other


@pytest.mark.parametrize("code", [ORGAN, HAMI, URUMQI, ENTERPRISE])
def test_valid_codes(code):
    assert code.startswith(("11", "91"))
    assert check_unit_code(code) is None
    assert normalize_unit_code(code) == code


@pytest.mark.parametrize("typed, canonical", [
    (ORGAN.lower(), ORGAN),                                      # lower case
    (" " + ORGAN + " ", ORGAN),                                  # surrounding spaces
    (ORGAN[:2] + " " + ORGAN[2:8] + " " + ORGAN[8:], ORGAN),     # grouped with spaces
    (ORGAN[:8] + "-" + ORGAN[8:], ORGAN),                        # hyphen
    ("１１６５００００ＭＢ１２３４５６７" + ORGAN[-1], ORGAN),      # full-width digits and letters (IME)
    (ORGAN[:8] + "\u3000" + ORGAN[8:], ORGAN),                   # full-width space
    (ORGAN[:8] + "－" + ORGAN[8:], ORGAN),                       # full-width hyphen
    ("9111000060003734１l", ENTERPRISE),                          # full-width 1, lower-case check letter
])
def test_typing_variants_are_normalised(typed, canonical):
    assert check_unit_code(typed) is None
    assert normalize_unit_code(typed) == canonical


@pytest.mark.parametrize("code", [ORGAN, HAMI, URUMQI, ENTERPRISE])
def test_wrong_check_digit(code):
    bad = wrong_check_digit(code)
    assert check_unit_code(bad) == f"统一社会信用代码「{bad}」校验位不正确：请对照营业执照或事业单位法人证书核对"
    assert normalize_unit_code(bad) is None


@pytest.mark.parametrize("code, n", [
    (ORGAN[:17], 17),           # check digit forgotten
    (ORGAN + "1", 19),
    ("1165000", 7),
    ("11650000-MB123", 13),     # separators are not counted
])
def test_wrong_length(code, n):
    assert check_unit_code(code) == f"统一社会信用代码「{code}」为 {n} 位：应为18位，请核对后重新填写"
    assert normalize_unit_code(code) is None


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_letters_i_o_z_s_v_are_not_allowed(letter):
    code = "11650000M" + letter + "1234567" + "0"
    assert check_unit_code(code) == (f"统一社会信用代码「{code}」含有不允许的字符："
                                     "只能是数字和大写字母（不含 I、O、Z、S、V）")
    assert normalize_unit_code(code) is None


@pytest.mark.parametrize("code", [
    "A1650000MB1234567M",       # the first 8 characters must be digits
    "11650000MB12345.7M",       # punctuation
    "11650000MB123456７Ｏ",      # full-width O is still O after normalising
])
def test_other_bad_characters(code):
    message = check_unit_code(code)
    assert message.startswith(f"统一社会信用代码「{code}」含有不允许的字符")
    assert normalize_unit_code(code) is None


@pytest.mark.parametrize("blank", [None, "", "   ", "\u3000"])
def test_blank_is_not_filled_in(blank):
    assert check_unit_code(blank) == "统一社会信用代码未填写：请填写18位代码"
    assert normalize_unit_code(blank) is None


def test_messages_quote_the_code_as_typed():
    typed = ORGAN.lower()[:-1] + "x"
    message = check_unit_code(typed)
    assert f"「{typed}」" in message
