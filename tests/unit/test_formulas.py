"""core.formulas: which cells are neutralised, and the PostgreSQL pattern agreeing with Python."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.formulas import (
    BLANK_CATEGORIES,
    SCANNED_PLANES,
    formula_quote,
    is_blank,
    is_e164,
    neutralise,
    neutralise_number,
    postgres_formula_pattern,
)

# One of each kind of leading blank: white space, zero-width, BOM, bidirectional, tag, marks,
# fillers that are letters or symbols, private use and unassigned code points.
BLANKS = [
    " ", "\u00a0", "\u2007", "\u202f", "\u3000", "\u1680", "\u2028", "\u2029", "\n", "\x0b",
    "\x1f", "\x85", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "\u00ad",
    "\u061c", "\u200e", "\u202e", "\u2066", "\U000e0020", "\U000e0001", "\u034f", "\ufe0f",
    "\u0301", "\u20dd", "\u3164", "\u115f", "\u1160", "\uffa0", "\u2800", "\ue000",
    "\U000f0000", "\u0378", "\U0003fffe",
]  # fmt: skip
TRIGGERS = ["=", "+", "-", "@", "\uff1d", "\ufe66", "\uff0b", "\ufe62", "\uff0d", "\ufe63",
            "\uff20", "\ufe6b", "\u207a", "\u208c"]  # fmt: skip


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_a_formula_behind_any_blank_is_neutralised(blank: str, trigger: str) -> None:
    for cell in (f"{blank}{trigger}1+1", f"{blank}{blank}{trigger}HYPERLINK(\"x\")"):
        assert neutralise(cell) == "'" + cell, repr(cell)


@pytest.mark.parametrize(
    ("cell", "quoted"),
    [
        ("=1+1", True), ("@SUM(A1)", True), ("-2+3", True), ("+1 (555) =HYPERLINK(\"x\")", True),
        ("\t=1", True), ("\tplain", True), ("\rplain", True), (" \tplain", True),
        ("\u200b\rplain", True), ("plain", False), ("x=1+1", False), ("1+1", False),
        ("'=1", False), ("(=1)", False), ("a\u200b=1", False), ("\u200b", False), ("  ", False),
        ("", False), ("\u2212 1", False), ("\u3099=1", True), ("STOP", False),
    ],
)  # fmt: skip
def test_which_cells_are_quoted(cell: str, quoted: bool) -> None:
    assert neutralise(cell) == ("'" + cell if quoted else cell)


@pytest.mark.parametrize(
    ("cell", "out"),
    [
        ("+12065550100", "+12065550100"), ("+99912345", "+99912345"), ("22395", "22395"),
        ("+1", "'+1"), ("+0123456", "'+0123456"), ("+1234567890123456", "'+1234567890123456"),
        ("+1 206 555 0100", "'+1 206 555 0100"), ("+1206555010\u0661", "'+1206555010\u0661"),
        ("+1(555)=HYPERLINK(\"x\")", "'+1(555)=HYPERLINK(\"x\")"), ("\u00a0+12065550100",
        "'\u00a0+12065550100"), ("-12065550100", "'-12065550100"), ("", ""), (None, ""),
    ],
)  # fmt: skip
def test_only_an_exact_e164_number_is_left_alone_in_a_number_column(
    cell: str | None, out: str
) -> None:
    assert neutralise_number(cell) == out
    assert is_e164(out) == (out == cell and out.startswith("+"))


def test_every_white_space_is_blank() -> None:
    # is_blank trusts the categories to cover Python's white space: say so if Unicode changes.
    spaces = [chr(cp) for cp in range(sys.maxunicode + 1) if chr(cp).isspace()]
    assert spaces and all(is_blank(char) for char in spaces)
    assert {unicodedata.category(char) for char in spaces} <= BLANK_CATEGORIES


def python_pattern() -> re.Pattern[str]:
    """PostgreSQL's pattern compiled by Python's re (same escapes, same bracket syntax)."""
    return re.compile(postgres_formula_pattern())


_cells = st.lists(
    st.one_of(st.sampled_from(BLANKS + TRIGGERS + ["a", "1", "\t", "\r"]), st.characters()),
    max_size=6,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(cell=_cells)
def test_the_postgresql_pattern_decides_as_python_does(cell: str) -> None:
    cell = cell.replace("\x00", "")
    cell = "".join(c for c in cell if not 0xD800 <= ord(c) <= 0xDFFF)  # PostgreSQL holds none
    matched = python_pattern().match(cell) is not None
    assert matched == (formula_quote(cell) is not None), repr(cell)


def test_the_postgresql_pattern_covers_every_blank_and_trigger() -> None:
    pattern = python_pattern()
    for blank in BLANKS:
        for trigger in TRIGGERS:
            assert pattern.match(blank + trigger), repr(blank + trigger)
        assert not pattern.match(blank + "a"), repr(blank)


def test_the_planes_the_pattern_does_not_walk_hold_only_blanks() -> None:
    # postgres_formula_pattern() takes planes 4-13, 15 and 16 as blank without walking them.
    walked = set().union(*(set(plane) for plane in SCANNED_PLANES))
    for start in range(0, sys.maxunicode + 1, 0x10000):
        if start in walked:
            continue
        plane = map(chr, range(start, start + 0x10000))
        assert all(map(is_blank, plane)), f"plane {start >> 16} holds a visible character"
