"""The send check's split: the fast path's answers are exactly the one-by-one answers."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidPhoneNumber
from core.model import CheckResult
from core.phone import normalize_phone
from core.sendcheck import _refused, split_numbers

BLOCKED = frozenset({"+12065550100", "+14155550123"})
# Invalid North American numbers a careless fast path would let through.
NEAR_MISSES = [
    "+1206001234",  # nine national digits
    "+12060012345",  # exchange starting with 0
    "+12061012345",  # exchange starting with 1
    "+10065550100",  # area code starting with 0
    "+15555550100",  # 555 is not an area code
    "+120655501000",  # eleven national digits
    "+12065550100\n",  # the regex's $ would allow a newline; the answer is the stripped number
    "+1206555010٠",  # an Arabic-Indic zero is no ASCII digit
]


def reference(phones: list[object], blocked: frozenset[str]) -> CheckResult:
    """The check written plainly: normalize_phone on every entry, first sighting wins."""
    sendable: list[str] = []
    suppressed: list[str] = []
    invalid: list[object] = []
    seen: set[str] = set()
    for raw in phones:
        try:
            phone = normalize_phone(raw)
        except InvalidPhoneNumber:
            invalid.append(raw)
            continue
        if phone not in seen:
            seen.add(phone)
            (suppressed if phone in blocked else sendable).append(phone)
    return CheckResult(sendable, suppressed, invalid)


CASES: list[tuple[str, list[object], CheckResult]] = [
    ("canonical, in first-seen order, each once",
     ["+13125550100", "+12065550100", "+13125550100", "+12065550100"],
     CheckResult(["+13125550100"], ["+12065550100"], [])),
    ("a formatted number merges with its canonical form",
     ["(206) 555-0100", "+13125550100", "+12065550100", "312.555.0100"],
     CheckResult(["+13125550100"], ["+12065550100"], [])),
    ("invalid entries as given, repeats kept, in input order",
     ["+1206001234", "+13125550100", "+12060012345", 42, None, "+1206001234", ""],
     CheckResult(["+13125550100"], [], ["+1206001234", "+12060012345", 42, None,
                                         "+1206001234", ""])),
    ("1 and True are equal dict keys, yet both are reported as given",
     [1, True, 1.0, "+13125550100"], CheckResult(["+13125550100"], [], [1, True, 1.0])),
    ("unhashable entries (JSON lists and objects) are invalid, not a crash",
     [["+13125550100"], {"n": 1}, "+12065550100", "+1 312 555 0100"],
     CheckResult(["+13125550100"], ["+12065550100"], [["+13125550100"], {"n": 1}])),
    ("other countries take the full parse", ["+44 20 7946 0958", "+442079460958"],
     CheckResult(["+442079460958"], [], [])),
    ("a newline inside an entry never splits it in two",
     ["+13125550100", "+12065550100\n+14155550123", "+14155550123\n"],
     CheckResult(["+13125550100"], ["+14155550123"], ["+12065550100\n+14155550123"])),
    ("an empty last entry is still an entry", ["+13125550100", "", "+13125550100", ""],
     CheckResult(["+13125550100"], [], ["", ""])),
    ("refused entries first and last", ["nonsense", "+13125550100", "+12060012345"],
     CheckResult(["+13125550100"], [], ["nonsense", "+12060012345"])),
    ("nothing", [], CheckResult([], [], [])),
    ("only non-strings", [None, 7], CheckResult([], [], [None, 7])),
]  # fmt: skip


@pytest.mark.parametrize(("phones", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_split(phones: list[object], expected: CheckResult) -> None:
    assert split_numbers(phones, BLOCKED, "US") == expected
    assert reference(phones, BLOCKED) == expected


@pytest.mark.parametrize("raw", NEAR_MISSES)
def test_near_misses_never_pass_as_given(raw: str) -> None:
    result = split_numbers([raw, "+13125550100"], BLOCKED, "US")
    assert raw not in result.sendable + result.suppressed
    assert result == reference([raw, "+13125550100"], BLOCKED)


def test_any_iterable_is_read_once_per_pass() -> None:
    phones = ["+13125550100", "nonsense", "+12065550100", "nonsense"]
    assert split_numbers(iter(phones), BLOCKED, "US") == reference(phones, BLOCKED)
    assert split_numbers(tuple(phones), BLOCKED, "US") == reference(phones, BLOCKED)


def test_the_split_agrees_with_the_plain_check_on_random_north_american_numbers() -> None:
    # Valid and invalid mixed: the regex run stops and restarts, over more than one batch.
    rng = random.Random(2026)
    phones: list[object] = [
        f"+1{rng.randint(2_000_000_000, 9_999_999_999)}" if rng.random() < 0.05
        else f"+1{rng.choice(['206', '312', '416'])}{rng.randint(2_000_000, 9_999_999)}"
        for _ in range(70_000)
    ]  # fmt: skip
    phones += rng.sample(phones, 500)
    rng.shuffle(phones)
    blocked = frozenset(rng.sample([p for p in phones if isinstance(p, str)], 2_000))
    assert split_numbers(phones, blocked, "US") == reference(phones, blocked)


_entry = st.one_of(
    st.from_regex(r"\+1[0-9]{9,11}", fullmatch=True),
    st.sampled_from(["(206) 555-0100", "+12065550100", "+14155550123", "+1 415 555 0123"]),
    st.text(max_size=12),
    st.integers(),
    st.none(),
    st.booleans(),
)


@given(st.lists(_entry, max_size=40))
def test_the_split_agrees_with_the_plain_check(phones: list[object]) -> None:
    assert split_numbers(phones, BLOCKED, "US") == reference(phones, BLOCKED)


@pytest.mark.parametrize("unhashable", [False, True], ids=["fast-path", "one-by-one"])
def test_national_numbers_are_read_in_the_callers_region(unhashable: bool) -> None:
    phones: list[object] = ["020 7946 0958", "07911 123456", "+442079460958"]
    if unhashable:
        phones.append(["a JSON list"])  # sends the whole check down the one-by-one path
    result = split_numbers(phones, frozenset({"+447911123456"}), "GB")
    assert result.sendable == ["+442079460958"]  # the national and E.164 forms merged once
    assert result.suppressed == ["+447911123456"]
    assert result.invalid == ([["a JSON list"]] if unhashable else [])


def test_the_one_by_one_path_lists_each_number_once() -> None:
    phones: list[object] = [{"x": 1}, "+12065550101", "(206) 555-0101", "+12065550100",
                            "+12065550100", "bad", "bad"]  # fmt: skip
    result = split_numbers(phones, BLOCKED, "US")
    assert result == CheckResult(["+12065550101"], ["+12065550100"], [{"x": 1}, "bad", "bad"])


REFUSED_CASES = [
    (["+12065550100", "(206) 555-0100", "+12065550101"], ["(206) 555-0100"]),
    (["+12065550100\n", "+12065550101"], ["+12065550100\n"]),  # a newline inside: one by one
    (["x", "+12065550100", "y", "+15555550100"], ["x", "y", "+15555550100"]),
    ([], []),
]


@pytest.mark.parametrize(("texts", "refused"), REFUSED_CASES)
@pytest.mark.parametrize("batch", [1, 2, 3, 65_536])
def test_the_fast_path_refuses_exactly_what_is_not_canonical(
    texts: list[str], refused: list[str], batch: int
) -> None:
    # Small batches: every batch boundary, and a newline batch before or after a plain one,
    # keep each refused text, in order, and nothing else.
    assert _refused(iter(texts), batch) == refused


def test_refused_texts_from_every_batch_are_kept() -> None:
    texts = ["a", "+12065550100", "b\nc", "+12065550101", "d", "e\n"]
    assert _refused(iter(texts), 2) == ["a", "b\nc", "d", "e\n"]
