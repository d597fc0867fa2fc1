"""The send check's split: a caller's numbers into sendable, suppressed and invalid.

A send check may carry a million numbers, nearly all canonical E.164, so the common case
stays in C: an ordered de-duplication (dict.fromkeys), phone.canonical_nanp's fullmatch per
distinct number through itertools.filterfalse, and the split by filter on the opted-out set.
Only what fails the fast path (formatted numbers, other countries, non-strings, invalid
entries) is taken one by one through normalize_phone.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from itertools import filterfalse

from core.errors import InvalidPhoneNumber
from core.model import CheckResult
from core.phone import canonical_nanp, normalize_phone


def split_numbers(phones: Iterable[object], blocked: Set[str], region: str) -> CheckResult:
    """Sendable and suppressed numbers (E.164, each once, in first-seen order), and every
    invalid entry as given, repeats included, in input order."""
    if not isinstance(phones, list | tuple):
        phones = list(phones)  # read twice when some entries are invalid
    try:
        unique: dict[object, None] = dict.fromkeys(phones)
    except TypeError:  # a JSON list or object among the numbers: unhashable, so one by one
        return _one_by_one(phones, blocked, region)
    slow = _off_the_fast_path(unique, region)
    invalid: list[object] = []
    if slow:
        # Each distinct entry becomes its E.164 form (itself on the fast path) or None when
        # invalid; a second de-duplication merges '(206) 555-0100' with '+12065550100'.
        ordered = dict.fromkeys(map(slow.get, unique, unique))
        del unique
        ordered.pop(None, None)
        bad = {raw for raw, phone in slow.items() if phone is None}
        if bad:
            # Compared by equality, so 1 and True (one dict key) are both reported, as given.
            invalid = list(filter(bad.__contains__, phones))
    else:
        ordered = unique
    is_blocked = blocked.__contains__
    sendable: list[str] = list(filterfalse(is_blocked, ordered))  # type: ignore[arg-type]
    suppressed: list[str] = list(filter(is_blocked, ordered))  # type: ignore[arg-type]
    return CheckResult(sendable, suppressed, invalid)


def _off_the_fast_path(unique: Iterable[object], region: str) -> dict[object, str | None]:
    """Each entry that is not a canonical valid +1 number -> its E.164 form, or None."""
    fast = canonical_nanp().fullmatch
    try:
        rest: list[object] = list(filterfalse(fast, unique))  # type: ignore[arg-type]
    except TypeError:  # a non-string (42, null): fullmatch refuses it, so test the type first
        rest = [raw for raw in unique if not isinstance(raw, str) or fast(raw) is None]
    slow: dict[object, str | None] = {}
    for raw in rest:
        try:
            slow[raw] = normalize_phone(raw, region)
        except InvalidPhoneNumber:
            slow[raw] = None
    return slow


def _one_by_one(phones: Iterable[object], blocked: Set[str], region: str) -> CheckResult:
    """The same split for input that holds unhashable entries (rare: JSON lists or objects)."""
    sendable: list[str] = []
    suppressed: list[str] = []
    invalid: list[object] = []
    seen: set[str] = set()
    for raw in phones:
        try:
            phone = normalize_phone(raw, region)
        except InvalidPhoneNumber:
            invalid.append(raw)  # as given, so a caller can match it to its input
            continue
        if phone not in seen:
            seen.add(phone)
            (suppressed if phone in blocked else sendable).append(phone)
    return CheckResult(sendable, suppressed, invalid)
