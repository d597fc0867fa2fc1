"""Phone numbers in E.164 form, with a fast path for canonical North American numbers."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from core.errors import InvalidPhoneNumber

# Re-exported: the send check and the app's warm-up import them from here.
from core.nanp import canonical_nanp as canonical_nanp
from core.nanp import canonical_nanp_lines as canonical_nanp_lines

MAX_INPUT = 64
KEY_LIMIT = 20  # the ledger's contact and sender columns are String(20)
CHANNEL_PREFIXES = frozenset(
    {"tel", "sms", "smsto", "mms", "mmsto", "whatsapp", "rcs", "viber", "messenger"}
)  # what carriers put before a number (Twilio: whatsapp:+1…, RFC 3966/5724: tel:, sms:)
_WRITTEN_SHORT = re.compile(r"\+?[0-9]{3,8}", re.ASCII)
_SHORT_MAX = 8  # the longest short code or short sender (no country code)
_CANONICAL_NANP = re.compile(r"\+1([0-9]{10})")
_SHORT_CODE = re.compile(r"[0-9]{3,8}")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
_NANP_SHAPE = re.compile(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}")


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


@dataclass(frozen=True, slots=True)
class CarrierNumber:
    """A number as a carrier delivered it, its E.164 form if it has one, and its ledger key."""

    received: str
    e164: str | None
    key: str  # the E.164 form, else '+' and digits, else digits; at most KEY_LIMIT long


def carrier_number(raw: object, region: str = "US") -> CarrierNumber:
    """Read any number a carrier may deliver; refuse only text without digits or with letters.

    A carrier only delivers from numbers that exist, so what phonenumbers does not like
    (a range opened after its release, an unassigned country code, another country's short
    code) is kept under a stable key: refusing it would lose that contact's STOP, since
    carriers do not retry a 4xx. A channel prefix (whatsapp:+1…) is not part of the number,
    so one contact has one key on every channel.
    """
    if not isinstance(raw, str):
        raise InvalidPhoneNumber(raw, "expected the number as text")
    if canonical_nanp().fullmatch(raw) is not None:
        return CarrierNumber(raw, raw, raw)
    if len(raw) > MAX_INPUT:
        return _read(raw, region)
    # A business's few senders (short codes take a full parse) arrive with every text.
    return _read_cached(raw, region)


@lru_cache(maxsize=1024)
def region_of(e164: str | None, fallback: str) -> str:
    """The region of a number (GB for +44…), to read its contacts' national forms; else fallback."""
    if not e164:
        return fallback
    try:
        found = phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return fallback
    return found if found and found != "001" else fallback  # 001: +800 and the like


def _read(raw: str, region: str) -> CarrierNumber:
    text = _without_prefix(raw)
    if any(ch.isalpha() for ch in text):
        shown = raw if len(raw) <= MAX_INPUT else raw[:MAX_INPUT] + "…"
        raise InvalidPhoneNumber(shown, "it contains letters; a number has digits only")
    digits = "".join(str(unicodedata.decimal(ch)) for ch in text if ch.isdecimal())
    if not digits:
        raise InvalidPhoneNumber(raw[:MAX_INPUT], "it has no digits", example_number(region))
    plus = text[:1] in ("+", "＋")
    e164 = _e164_of(digits, plus, region)
    if e164 is not None:
        key = e164
    elif len(digits) > _SHORT_MAX or (plus and _plausible("+" + digits)):
        # International, whether or not the carrier wrote the '+' (Plivo, Vonage do not).
        key = "+" + digits
    else:
        key = digits  # a short code or short sender; a '+' before one is noise
    if len(key) > KEY_LIMIT:
        # Longer than any number and than the ledger's key columns: a digest of the digits,
        # so the same number keeps one key and its STOP is kept (received keeps the text).
        key = "#" + hashlib.sha256(key.encode("ascii")).hexdigest()[: KEY_LIMIT - 1]
    return CarrierNumber(raw, e164, key)


_read_cached = lru_cache(maxsize=4096)(_read)


def _without_prefix(raw: str) -> str:
    text = raw.strip()
    scheme, colon, rest = text.partition(":")
    return rest.strip() if colon and scheme.strip().lower() in CHANNEL_PREFIXES else text


def _e164_of(digits: str, plus: bool, region: str) -> str | None:
    """The E.164 form when the digits are a valid number: as written, then with the '+'
    that carriers such as Plivo and Vonage leave out."""
    tries = ["+" + digits] if plus else [digits]
    if not plus and len(digits) > _SHORT_MAX:
        tries.append("+" + digits)
    for candidate in tries:
        if len(candidate) > MAX_INPUT:
            break
        try:
            return normalize_phone(candidate, region)
        except InvalidPhoneNumber:
            continue
    return None


def normalize_inbound(raw: object, region: str = "US") -> str:
    """The ledger key of a number a carrier delivered (carrier_number's key)."""
    return carrier_number(raw, region).key


def _plausible(text: str) -> bool:
    # The right length for its country, and for +1 the shape every North American number has.
    if not _E164.fullmatch(text):
        return False
    if text.startswith("+1"):
        return _NANP_SHAPE.fullmatch(text) is not None
    try:
        return bool(phonenumbers.is_possible_number(phonenumbers.parse(text, None)))
    except phonenumbers.NumberParseException:  # an unassigned country code (+999…)
        return False


def normalize_sender(raw: object, region: str = "US") -> str:
    """A business sender as the API, agents and rules.yml name it: E.164 or a short code.

    Its key is the one carrier_number gives the same text, so a STOP a carrier delivered to a
    short code (3 to 8 digits, any '+' dropped) or to a well-formed number the library does
    not know yet is found again. Any other shape is refused, as a typo would otherwise ask
    about a sender no STOP was ever sent to and be told "sendable".
    """
    number = carrier_number(raw, region)
    if number.e164 is not None:
        return number.key
    if is_short_code(number.key) and _WRITTEN_SHORT.fullmatch(_without_prefix(number.received)):
        return number.key  # as carriers write them: digits only ('555-01' is a typo)
    if number.key.startswith("+") and _plausible(number.key):
        return number.key
    normalize_phone(raw, region)  # raises with the reason
    raise InvalidPhoneNumber(raw, "it is not a number or short code", example_number(region))


def is_short_code(sender: str) -> bool:
    """True for a short code (3-8 digits, no country code)."""
    return _SHORT_CODE.fullmatch(sender) is not None


def national_format(e164: str) -> str:
    """The number as people in its country write it, e.g. (206) 555-0100."""
    if is_short_code(e164) or not e164.startswith("+"):
        return e164
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:  # a key the library cannot read (+999…)
        return e164
    if not phonenumbers.is_valid_number(parsed):
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
