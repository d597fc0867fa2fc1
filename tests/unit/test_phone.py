"""Phone numbers: the forms people use, and the fast path's agreement with a full parse."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidPhoneNumber
from core.phone import (
    carrier_number,
    is_short_code,
    national_format,
    normalize_phone,
    normalize_sender,
)

VALID = [
    ("+12065550100", "US", "+12065550100"),
    ("+1 206-555-0100", "US", "+12065550100"),
    ("+1 (206) 555-0100", "US", "+12065550100"),
    ("(206) 555-0100", "US", "+12065550100"),
    ("206.555.0100", "US", "+12065550100"),
    ("206 555 0100", "US", "+12065550100"),
    ("12065550100", "US", "+12065550100"),
    ("1-206-555-0100", "US", "+12065550100"),
    ("  +12065550100\n", "US", "+12065550100"),
    ("+1.206.555.0100", "US", "+12065550100"),
    ("+44 20 7946 0958", "US", "+442079460958"),
    ("020 7946 0958", "GB", "+442079460958"),
    ("+33 6 12 34 56 78", "US", "+33612345678"),
    ("011 44 20 7946 0958", "US", "+442079460958"),
    ("+1 416 555 0199", "US", "+14165550199"),  # Canada shares +1
    ("+1 787 555 0100", "US", "+17875550100"),  # Puerto Rico
    ("+18005550100", "US", "+18005550100"),  # toll-free
    ("+1٢٠٦٥٥٥٠١٠٠", "US", "+12065550100"),  # Arabic-Indic digits
    ("+120١2000000", "US", "+12012000000"),  # mixed scripts never reach the fast path as is
    ("＋１２０６５５５０１００", "US", "+12065550100"),  # full-width
    ("tel:+12065550100", "US", "+12065550100"),
]

INVALID = [
    ("+1206001234", "wrong number of digits"),  # nine national digits
    ("+12060012345", "exchange"),  # exchange starting with 0
    ("+12061012345", "exchange"),  # exchange starting with 1
    ("+10065550100", "area code"),  # area code starting with 0
    ("+11065550100", "area code"),
    ("+15555550100", "no such"),  # 555 is not an area code
    ("+19995550100", "no such"),
    ("555-0100", "no such number"),
    ("not a number", "letters"),
    ("", "empty"),
    ("   ", "empty"),
    ("+", "phone number"),
    ("1" * 200, "too long"),
    ("+1206555010\x00", "phone number"),
    ("+1 206 555 O1OO", "letters"),  # capital O for zero: never a keypad translation
    ("1-800-FLOWERS", "letters"),
    ("206 555 0100 ext 12", "letters"),  # a text cannot reach an extension
]


@pytest.mark.parametrize(("raw", "region", "expected"), VALID)
def test_valid_forms_normalise_to_e164(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(("raw", "why"), INVALID)
def test_invalid_numbers_say_why_and_show_an_example(raw: str, why: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as raised:
        normalize_phone(raw)
    assert why in raised.value.message
    assert "for example +1" in raised.value.detail


@pytest.mark.parametrize("raw", [None, 12065550100, ["+12065550100"], b"+12065550100"])
def test_non_text_is_refused(raw: object) -> None:
    with pytest.raises(InvalidPhoneNumber, match="as text"):
        normalize_phone(raw)


def _full_parse_valid(e164: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(e164, None))


def test_the_fast_path_agrees_with_a_full_parse_on_random_north_american_numbers() -> None:
    rng = random.Random(2026)
    for _ in range(20_000):
        e164 = f"+1{rng.randint(0, 9_999_999_999):010d}"
        try:
            fast = normalize_phone(e164) == e164
        except InvalidPhoneNumber:
            fast = False
        assert fast is _full_parse_valid(e164), e164


@given(st.from_regex(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}", fullmatch=True))
def test_the_fast_path_agrees_with_a_full_parse_on_well_formed_numbers(e164: str) -> None:
    try:
        fast = normalize_phone(e164) == e164
    except InvalidPhoneNumber:
        fast = False
    assert fast is _full_parse_valid(e164)


@given(st.text(max_size=40))
def test_any_text_is_either_a_number_or_a_clear_error(raw: str) -> None:
    try:
        result = normalize_phone(raw)
    except InvalidPhoneNumber as exc:
        assert exc.detail
    else:
        assert result.startswith("+") and result[1:].isascii() and result[1:].isdigit()


@pytest.mark.parametrize(("raw", "expected"), [("12345", "12345"), ("+894546", "894546"),
                                               (" 894546 ", "894546"),
                                               ("+1 206 555 0199", "+12065550199"),
                                               ("1234", "1234"), ("12345678", "12345678"),
                                               ("+99912345", "99912345"),  # as the hook keys it
                                               ("whatsapp:+12065550199", "+12065550199"),
                                               ("+447700900123", "+447700900123")])  # fmt: skip
def test_senders_may_be_short_codes(raw: str, expected: str) -> None:
    assert normalize_sender(raw) == expected


def test_short_codes_and_national_format() -> None:
    assert is_short_code("894546") and not is_short_code("+12065550100")
    assert national_format("+12065550100") == "(206) 555-0100"
    assert national_format("894546") == "894546"


# What a carrier may deliver -> (E.164 form or None, ledger key). Only text without digits or
# with letters is refused; everything else is kept, so its STOP is never lost.
CARRIER = [
    ("+12065550100", "+12065550100", "+12065550100"),
    ("whatsapp:+12065550100", "+12065550100", "+12065550100"),  # Twilio's WhatsApp channel
    ("WhatsApp: +1 (206) 555-0100", "+12065550100", "+12065550100"),
    ("tel:+12065550100", "+12065550100", "+12065550100"),
    ("sms:12345", None, "12345"),
    ("mms:+12065550100", "+12065550100", "+12065550100"),
    ("rcs:+447911123456", "+447911123456", "+447911123456"),
    ("14155550100", "+14155550100", "+14155550100"),  # Plivo writes no '+'
    ("447911123456", "+447911123456", "+447911123456"),  # nor does Vonage
    ("+99912345", None, "99912345"),  # an unassigned country code: a 500 before
    ("+999123456789", None, "+999123456789"),
    ("999123456789", None, "+999123456789"),  # the same number without its '+'
    ("+447700900123", None, "+447700900123"),  # a range phonenumbers calls invalid
    ("+1206001234", None, "+1206001234"),
    ("+12060012345", None, "+12060012345"),
    ("1234", None, "1234"),  # 4-8 digit senders of other countries
    ("+894546", None, "894546"),
    ("12345678", None, "12345678"),
    ("123", None, "123"),
    ("٠١٢٣٤", None, "01234"),  # other scripts' digits
    ("+1 206.555/0100", "+12065550100", "+12065550100"),
    ("+" + "1" * 19, None, "+" + "1" * 19),  # the longest key that fits String(20)
]


@pytest.mark.parametrize(("raw", "e164", "key"), CARRIER)
def test_a_carrier_number_keeps_its_e164_form_and_a_stable_key(
    raw: str, e164: str | None, key: str
) -> None:
    number = carrier_number(raw)
    assert (number.received, number.e164, number.key) == (raw, e164, key)


@pytest.mark.parametrize("digits", [20, 21, 40, 500])
def test_overlong_numbers_get_a_digest_key_that_fits_and_stays_stable(digits: int) -> None:
    raw = "+" + "7" * digits
    key = carrier_number(raw).key
    assert len(key) <= 20 and key.startswith("#")
    assert carrier_number("whatsapp:" + raw).key == key  # the same number, the same key
    assert carrier_number("+" + "7" * (digits - 1) + "8").key != key


@pytest.mark.parametrize(
    ("raw", "why"),
    [("", "no digits"), ("   ", "no digits"), ("whatsapp:", "no digits"), ("+", "no digits"),
     ("---", "no digits"), ("+1 206 555 O1OO", "letters"), ("1-800-FLOWERS", "letters"),
     ("signal:+12065550100", "letters"), ("206 555 0100 ext 12", "letters")],
)  # fmt: skip
def test_a_carrier_number_is_refused_only_without_digits_or_with_letters(
    raw: str, why: str
) -> None:
    with pytest.raises(InvalidPhoneNumber, match=why):
        carrier_number(raw)


@given(st.text(max_size=40))
def test_any_text_is_a_carrier_number_or_a_clear_error(raw: str) -> None:
    try:
        number = carrier_number(raw)
    except InvalidPhoneNumber as exc:
        assert "letters" in exc.message or "no digits" in exc.message
    else:
        assert 0 < len(number.key) <= 20 and number.key.isascii()


@pytest.mark.parametrize("raw", ["555-01", "+1206001234", "+99912345678", "12", "1" * 9])
def test_senders_an_agent_or_the_api_names_are_still_checked(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalize_sender(raw)


@pytest.mark.parametrize("key", ["+99912345678", "99912345", "+1206001234", "#" + "0" * 19])
def test_national_format_shows_keys_it_cannot_read_as_they_are(key: str) -> None:
    assert national_format(key) == key
