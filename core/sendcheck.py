"""The send check's split: a caller's numbers into sendable, suppressed and invalid.

A send check may carry a million numbers, nearly all canonical E.164, so the common case
stays in C: an ordered de-duplication (dict.fromkeys), one regex run over the distinct
numbers joined by newlines (phone.canonical_nanp_lines, which stops only at a line that is not
a valid +1 number), and a filter on the opted-out set. Only what the run refuses (formatted
numbers, other countries, non-strings, invalid entries) goes through normalize_phone, one by
one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Set
from functools import partial
from itertools import filterfalse, islice
from typing import Any

from core.errors import InvalidPhoneNumber
from core.model import CheckResult
from core.phone import canonical_nanp, canonical_nanp_lines, normalize_phone

# isinstance(x, str) as a C callable, so filter() makes no Python call per entry.
_is_text: Callable[[object], bool] = partial(type.__instancecheck__, str)
BATCH = 65_536  # texts joined for one regex run: keeps the joined copy small


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
    bad = [raw for raw, phone in slow.items() if phone is None]
    if bad:
        # Compared by equality, so 1 and True (one dict key) are both reported, as given.
        invalid = list(filter(set(bad).__contains__, phones))
    # Any, not object: past the invalid entries only E.164 text is left (no cast to say so).
    ordered: dict[Any, None] = unique
    if len(bad) < len(slow):
        # Each distinct entry becomes its E.164 form (itself on the fast path) or None; a
        # second de-duplication merges '(206) 555-0100' with '+12065550100', in first-seen
        # order.
        ordered = dict.fromkeys(map(slow.get, unique, unique))
        del unique
        ordered.pop(None, None)
    else:
        for raw in bad:  # only invalid entries were off the fast path: no rebuild needed
            del ordered[raw]
    # Only valid numbers are left, all E.164 text.
    suppressed: list[str] = list(filter(blocked.__contains__, ordered))
    for phone in suppressed:  # the few suppressed leave; what stays is sendable, in order
        del ordered[phone]
    return CheckResult(list(ordered), suppressed, invalid)


def _off_the_fast_path(unique: dict[object, None], region: str) -> dict[object, str | None]:
    """Each entry that is not a canonical valid +1 number -> its E.164 form, or None."""
    rest: list[object] = list(filterfalse(_is_text, unique))  # 42, null: never a number
    rest += _refused(_texts(unique))
    slow: dict[object, str | None] = {}
    for raw in rest:
        try:
            slow[raw] = normalize_phone(raw, region)
        except InvalidPhoneNumber:
            slow[raw] = None
    return slow


def _refused(texts: Iterator[str], batch: int = BATCH) -> list[str]:
    """The texts that are not canonical valid +1 numbers."""
    run = canonical_nanp_lines().match
    refused: list[str] = []
    while chunk := list(islice(texts, batch)):
        # Each text on its own line: one regex run crosses every valid line in C and stops
        # only at a refused one. Batches keep the joined copy small.
        joined = "\n".join(chunk) + "\n"
        if joined.count("\n") != len(chunk):  # a text with a newline inside: one at a time
            refused += filterfalse(canonical_nanp().fullmatch, chunk)
            continue
        position, size = 0, len(joined)
        while True:
            # Never None: the run may be empty, so it always matches.
            position = run(joined, position).end()  # type: ignore[union-attr]
            if position >= size:
                break
            end = joined.index("\n", position)
            refused.append(joined[position:end])
            position = end + 1
    return refused


def _texts(entries: Iterable[Any]) -> Iterator[str]:
    return filter(_is_text, entries)


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
