"""身份证号 checks, 15→18 conversion and masking."""

from __future__ import annotations

import datetime as dt

import pytest

from counter_app.domain.idnumber import (
    IdCheck,
    check_digit,
    check_id_number,
    mask_id,
    mask_phone,
    upgrade_15,
)

TODAY = dt.date(2026, 11, 23)
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def with_check(first17: str) -> str:
    """Append the GB 11643 MOD 11-2 check digit, computed independently of the code under test."""
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


MALE_WUHU = with_check("34020219900101123")  # 镜湖区, 1990-01-01, sequence 123 (odd: 男)
FEMALE_CHANGSHA = with_check("43010420000229004")  # 岳麓区, leap day 2000, sequence 004
NEW_CODE_OLD_BIRTH = with_check("34020919900101123")  # 弋江区 340209 exists only since 2020
UNKNOWN_REGION = with_check("99999919900101123")


def test_helper_agrees_with_known_example() -> None:
    assert with_check("11010519491231002") == "11010519491231002X"
    assert check_digit("11010519491231002") == "X"
    assert check_digit(MALE_WUHU[:17]) == MALE_WUHU[-1]


@pytest.mark.parametrize(
    ("raw", "normalised", "birth", "sex"),
    [
        ("11010519491231002X", "11010519491231002X", dt.date(1949, 12, 31), "女"),
        ("11010519491231002x", "11010519491231002X", dt.date(1949, 12, 31), "女"),
        (" 110105 19491231 002X ", "11010519491231002X", dt.date(1949, 12, 31), "女"),
        ("110105\u300019491231\t002X", "11010519491231002X", dt.date(1949, 12, 31), "女"),
        ("１１０１０５１９４９１２３１００２ｘ", "11010519491231002X", dt.date(1949, 12, 31), "女"),
        (MALE_WUHU, MALE_WUHU, dt.date(1990, 1, 1), "男"),
        (FEMALE_CHANGSHA, FEMALE_CHANGSHA, dt.date(2000, 2, 29), "女"),
    ],
)
def test_valid_numbers(raw: str, normalised: str, birth: dt.date, sex: str) -> None:
    result = check_id_number(raw, today=TODAY)
    assert result == IdCheck(raw, normalised, birth, sex, [], [])
    assert result.ok


@pytest.mark.parametrize(
    ("raw", "normalised", "birth", "sex"),
    [
        ("110105491231002", "11010519491231002X", dt.date(1949, 12, 31), "女"),
        ("340202900101123", with_check("34020219900101123"), dt.date(1990, 1, 1), "男"),
        (" 430104 850615 001 ", with_check("43010419850615001"), dt.date(1985, 6, 15), "男"),
    ],
)
def test_fifteen_digit_numbers_are_upgraded(
    raw: str, normalised: str, birth: dt.date, sex: str
) -> None:
    result = check_id_number(raw, today=TODAY)
    assert result.ok
    assert (result.original, result.normalised, result.birth_date, result.sex) == (
        raw,
        normalised,
        birth,
        sex,
    )
    assert len(result.warnings) == 1 and "15位" in result.warnings[0]
    assert normalised not in result.warnings[0]  # the message shows the masked number only
    assert upgrade_15(raw.replace(" ", "")) == normalised


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "不能为空"),
        ("   ", "不能为空"),
        ("1101051949123100", "应为18位（当前为16位）"),
        ("11010519491231002X1", "应为18位（当前为19位）"),
        ("11010519491231002Y", "只能由数字组成"),
        ("1101051949123100X2", "只能由数字组成"),
        ("11010519491231-02X", "只能由数字组成"),
        ("11010549123100X", "只能由数字组成"),  # 15 digits may not end in X
        ("110105194912310021", "校验位不符"),
        (with_check("11010519490230002"), "出生日期 19490230 不存在"),
        (with_check("11010519491301002"), "出生日期 19491301 不存在"),
        (with_check("11010519490000002"), "出生日期 19490000 不存在"),
        (with_check("11010520261124002"), "出生日期 2026-11-24 晚于今天"),
        (with_check("11010530000101002"), "晚于今天"),
        (with_check("11010518991231002"), "早于1900年"),
        ("110105490230002", "出生日期 19490230 不存在"),
    ],
)
def test_errors(raw: str, fragment: str) -> None:
    result = check_id_number(raw, today=TODAY)
    assert not result.ok
    assert any(fragment in e for e in result.errors), result.errors
    assert all(e.startswith("身份证号") for e in result.errors)


def test_checksum_and_date_errors_are_both_reported() -> None:
    result = check_id_number("110105194902300021", today=TODAY)
    assert len(result.errors) == 2
    assert result.birth_date is None


def test_born_today_is_fine() -> None:
    result = check_id_number(with_check("11010520261123002"), today=TODAY)
    assert result.ok and result.birth_date == TODAY


@pytest.mark.parametrize(
    "first17",
    [
        "32010219800101123",  # 玄武区 since 1983: issued there to someone born in 1980
        "34020919900101123",  # created after the birth year
        "11011819800101123",  # 密云区 since 2015
        "11010320150101123",  # 崇文区 until 2010 (retired codes stay valid on old cards)
        "11010419500101123",  # 宣武区, retired 2010
        "32010019600101123",  # a city's own code
        "13010219400101123",  # 长安区 since 1983, an elderly client (异地安置)
    ],
)
def test_issued_codes_of_every_era_pass(first17: str) -> None:
    """The area code is where the number was issued, not where the person was born (GB/T 2260)."""
    result = check_id_number(with_check(first17), today=TODAY)
    assert result.ok and result.warnings == []


@pytest.mark.parametrize("code", ["999999", "320199", "000000", "119901"])
def test_a_code_that_never_existed_is_only_a_warning(code: str) -> None:
    raw = with_check(code + "19900101123")
    result = check_id_number(raw, today=TODAY)
    assert result.ok
    assert result.normalised == raw
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert warning.startswith("身份证号") and code in warning


def test_a_bad_check_digit_is_flagged() -> None:
    good = with_check("32010219800101123")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    result = check_id_number(bad, today=TODAY)
    assert not result.ok and "校验位" in result.errors[0]


def test_same_code_is_fine_for_a_later_birth_year() -> None:
    assert check_id_number(with_check("34020920210101123"), today=TODAY).warnings == []


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("11010519491231002x", "110105********002X"),
        (" 110105 19491231 002X", "110105********002X"),
        ("110105491231002", "110105******002"),
        ("1101051949", "11******49"),
        ("1234567", "*******"),
        ("", ""),
    ],
)
def test_mask_id(raw: str, masked: str) -> None:
    assert mask_id(raw) == masked
    assert len(mask_id(raw)) == len(raw.replace(" ", ""))


@pytest.mark.parametrize("length", range(0, 25))
def test_mask_id_never_reveals_more_than_ten_characters(length: int) -> None:
    raw = "7" * length
    shown = sum(1 for c in mask_id(raw) if c != "*")
    assert shown <= 10
    assert shown <= length // 2 or length in (15, 18)
    # the birth date of an 18- or 15-digit number stays hidden
    if length == 18:
        assert mask_id(raw)[6:14] == "*" * 8
    if length == 15:
        assert mask_id(raw)[6:12] == "*" * 6


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("+86 13812345678", "138****5678"),
        ("8613812345678", "138****5678"),
        ("０５５３－１２３４５６７", "*******4567"),
        ("05531234567", "*******4567"),  # 11 digits but not a mobile
        ("123456", "******"),
        ("", ""),
    ],
)
def test_mask_phone(raw: str, masked: str) -> None:
    assert mask_phone(raw) == masked
