"""Phone numbers in E.164 form, with a fast path for canonical North American numbers."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

from core.errors import InvalidPhoneNumber

MAX_INPUT = 64
_CANONICAL_NANP = re.compile(r"\+1([0-9]{10})")
_SHORT_CODE = re.compile(r"[0-9]{5,6}")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
_NANP_SHAPE = re.compile(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}")
_NUMBER_TYPES = (
    "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost",
    "personal_number", "voip", "pager", "uan", "voicemail",
)  # fmt: skip


@lru_cache(maxsize=1)
def _nanp_valid() -> re.Pattern[str]:
    """Every number-type pattern of every +1 region, from phonenumbers' own metadata.

    A national number matching one of them is exactly what a full parse calls valid
    (checked against phonenumbers on 2,000,000 random +1 numbers with no disagreement),
    at about 0.3 µs instead of 25 µs.
    """
    patterns = []
    for region in COUNTRY_CODE_TO_REGION_CODE[1]:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is None:
            continue
        for kind in _NUMBER_TYPES:
            desc = getattr(metadata, kind)
            if desc is not None and desc.national_number_pattern:
                patterns.append(f"(?:{desc.national_number_pattern})")
    # ASCII: only 0-9 are digits here, so a number in other scripts takes the full parse.
    return re.compile("|".join(patterns), re.ASCII)


@lru_cache(maxsize=1)
def canonical_nanp() -> re.Pattern[str]:
    """A valid North American number already in E.164 form ('+1' and ten ASCII digits).

    Its fullmatch is normalize_phone's whole fast path in one C call.
    """
    return re.compile(rf"\+1(?=[0-9]{{10}}\Z)(?:{_nanp_valid().pattern})", re.ASCII)


@lru_cache(maxsize=1)
def canonical_nanp_lines() -> re.Pattern[str]:
    """A run of lines, each a valid North American number in E.164 form ending in '\\n'.

    Its match from a line's start ends at the first line that is anything else: over a
    million numbers joined by newlines one call does the work of a million fullmatches,
    at a third of the cost. Possessive, so a long run keeps no backtracking state.
    """
    return re.compile(rf"(?:\+1(?=[0-9]{{10}}\n)(?:{_nanp_valid().pattern})\n)*+", re.ASCII)


def example_number(region: str = "US") -> str:
    """An example of a valid number in E.164 form for error messages."""
    example = phonenumbers.example_number(region.upper())
    if example is None:
        return "+12065550100"
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(raw: object, region: str = "US") -> str:
    """Return the E.164 form of a phone number, or raise InvalidPhoneNumber saying why."""
    if not isinstance(raw, str):
        raise InvalidPhoneNumber(raw, "expected the number as text")
    if canonical_nanp().fullmatch(raw) is not None:
        return raw
    match = _CANONICAL_NANP.fullmatch(raw)
    if match is not None:
        raise InvalidPhoneNumber(raw, _nanp_reason(match.group(1)), example_number("US"))
    return _parse(raw, region)


def _nanp_reason(national: str) -> str:
    if national[0] in "01":
        return "a North American area code cannot start with 0 or 1"
    if national[3] in "01":
        return "a North American exchange (digits 4-6) cannot start with 0 or 1"
    return "no such North American number is in service (unknown area code or exchange)"


def _parse(raw: str, region: str) -> str:
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber(raw, "it is empty", example_number(region))
    if len(text) > MAX_INPUT:
        raise InvalidPhoneNumber(raw[:MAX_INPUT] + "…", "it is too long", example_number(region))
    if text[:4].lower() == "tel:":
        text = text[4:]
    if any(ch.isalpha() for ch in text):
        # phonenumbers reads letters as a keypad (1-800-FLOWERS, or O for 0): a typo would
        # silently become someone else's number.
        reason = "it contains letters; write the number in digits only"
        raise InvalidPhoneNumber(raw, reason, example_number(region))
    try:
        parsed = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(raw, _parse_reason(exc), example_number(region)) from None
    if not phonenumbers.is_possible_number(parsed):
        reason = "it has the wrong number of digits"
        raise InvalidPhoneNumber(raw, reason, example_number(region))
    if not phonenumbers.is_valid_number(parsed):
        reason = "no such number exists in its country's numbering plan"
        raise InvalidPhoneNumber(raw, reason, example_number(region))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _parse_reason(exc: phonenumbers.NumberParseException) -> str:
    reasons = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: (
            "its country code is missing or unknown"
        ),
        phonenumbers.NumberParseException.NOT_A_NUMBER: "it is not a phone number",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "it is too short",
        phonenumbers.NumberParseException.TOO_LONG: "it is too long",
    }
    return reasons.get(exc.error_type, "it is not a phone number")


def normalize_inbound(raw: object, region: str = "US") -> str:
    """A contact's number as a carrier delivered it.

    A carrier only delivers texts from numbers that exist, so well-formed E.164 that
    phonenumbers' data does not know (a range opened after its release) is kept: refusing it
    would lose that contact's STOP, since carriers do not retry a 400.
    """
    try:
        return normalize_phone(raw, region)
    except InvalidPhoneNumber:
        if isinstance(raw, str) and _plausible(raw.strip()):
            return raw.strip()
        raise


def _plausible(text: str) -> bool:
    # The right length for its country, and for +1 the shape every North American number has.
    if not _E164.fullmatch(text):
        return False
    if text.startswith("+1"):
        return _NANP_SHAPE.fullmatch(text) is not None
    return bool(phonenumbers.is_possible_number(phonenumbers.parse(text, None)))


def normalize_sender(raw: object, region: str = "US") -> str:
    """Return a business sender: a short code (5-6 digits) as is, or a number in E.164 form."""
    if isinstance(raw, str):
        stripped = raw.strip().lstrip("+")
        if _SHORT_CODE.fullmatch(stripped):
            return stripped
    return normalize_phone(raw, region)


def is_short_code(sender: str) -> bool:
    """True for a short code (5-6 digits, no country code)."""
    return _SHORT_CODE.fullmatch(sender) is not None


def national_format(e164: str) -> str:
    """The number as people in its country write it, e.g. (206) 555-0100."""
    if is_short_code(e164):
        return e164
    parsed = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
