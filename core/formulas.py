"""Which exported cells a spreadsheet could run as a formula, in Python, SQLite and PostgreSQL.

A cell is neutralised (a `'` put before it, OWASP's CSV advice) when its first character that
is not blank or invisible is `=`, `+`, `-` or `@` (or a compatibility form of one, such as the
full-width `＝`), or when a tab or CR comes before any visible character. "Blank or invisible"
is decided by Unicode's general categories, not by a list of characters: separators (Zs, Zl,
Zp, so every white space), controls and format characters (Cc, Cf: the zero-width ones, BOM,
bidirectional marks, tags), marks that draw nothing on their own (Mn, Me), unassigned,
private-use and surrogate code points (Cn, Co, Cs), and the letters and symbols Unicode names
fillers or blanks (HANGUL FILLER, BRAILLE PATTERN BLANK). Spreadsheets and the tools in front
of them trim different sets of these, so every one of them is skipped. A number column's value
that is exactly an E.164 number (`+12065550100`) is left as it is; any other value in a number
column is treated as free text.

The three ways out agree: `neutralise()` for rows built in Python, a function registered on
SQLite's connection for the rare cell whose first character is not plain ASCII, and a regular
expression for PostgreSQL's COPY, built once from the same rule. Each SQL form starts with a
test that lets the common cell (a letter first) through without further work.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache
from itertools import compress, repeat

TRIGGERS = "=+-@"
LEADING_TRIGGERS = "\t\r"  # formula-like wherever they come in the leading blanks
BLANK_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me"})
_NAMED_BLANK = re.compile(r"\bFILLER\b|\bBLANK$")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")  # [0-9]: other scripts' digits are not E.164
SQLITE_FUNCTION = "stopline_formula_quote"
QUOTE = "'"


def is_blank(char: str) -> bool:
    """True for a character that shows nothing (or that a trimming tool may drop)."""
    category = unicodedata.category(char)
    if category in BLANK_CATEGORIES:  # Python's white space is all in Zs, Zl, Zp and Cc
        return True
    return category in ("Lo", "So") and bool(_NAMED_BLANK.search(unicodedata.name(char, "")))


def is_trigger(char: str) -> bool:
    """True for `=`, `+`, `-`, `@` and the characters NFKC folds into them (`＝`, `﹢`)."""
    if char in TRIGGERS:
        return True
    folded = unicodedata.normalize("NFKC", char)
    if folded == char:
        return False
    visible = next((c for c in folded if not is_blank(c)), None)
    return visible is not None and visible in TRIGGERS


def formula_quote(cell: str | None) -> str | None:
    """`'` when a spreadsheet could run the cell as a formula, else None."""
    for char in cell or "":
        if char in LEADING_TRIGGERS:
            return QUOTE
        if not is_blank(char):
            return QUOTE if is_trigger(char) else None
    return None


def neutralise(cell: str | None) -> str:
    """A free-text cell that a spreadsheet will not run as a formula."""
    if not cell:
        return ""
    return QUOTE + cell if formula_quote(cell) else cell


def is_e164(value: str) -> bool:
    """True when the value is exactly an E.164 number: `+`, then 2 to 15 ASCII digits."""
    return _E164.fullmatch(value) is not None


def neutralise_number(cell: str | None) -> str:
    """A number column's cell: an E.164 number as it is, anything else as free text."""
    if not cell:
        return ""
    return cell if is_e164(cell) else neutralise(cell)


# --- SQLite: a SQL fast path, this module's rule for the rest -------------------------------


def sqlite_quote(column: str) -> str:
    """SQL giving `'` or NULL for a free-text column, as formula_quote does."""
    # unicode() is the first code point: A-Z, a-z and the ASCII after '@' decide at once; the
    # rest of printable ASCII too. Only a cell opening with a blank or non-ASCII asks Python.
    first = f"unicode({column})"
    return (
        f"CASE WHEN {column} IS NULL OR {first} BETWEEN 65 AND 126 THEN NULL "
        f"WHEN {first} IN ({_codes(TRIGGERS + LEADING_TRIGGERS)}) THEN '{QUOTE * 2}' "
        f"WHEN {first} BETWEEN 33 AND 126 THEN NULL "
        f"ELSE {SQLITE_FUNCTION}({column}) END"
    )


def sqlite_number_quote(column: str) -> str:
    """SQL giving `'` or NULL for a number column, as neutralise_number does."""
    # '+' || CAST(x AS INTEGER) gives x back only for '+' and ASCII digits without a leading
    # zero (the cast stops at anything else); the range makes it 2 to 15 digits. Two casts
    # cost less than one GLOB.
    number = f"CAST({column} AS INTEGER)"
    e164 = f"'+' || {number} = {column} AND {number} BETWEEN 10 AND {10**15 - 1}"
    return f"CASE WHEN {e164} THEN NULL ELSE {sqlite_quote(column)} END"


def _codes(chars: str) -> str:
    return ", ".join(str(ord(char)) for char in chars)


# --- PostgreSQL: one regular expression built from the same rule -----------------------------


def postgres_cell(column: str) -> str:
    """A free-text column neutralised in SQL (COPY quotes it); '' goes out as NULL."""
    # ascii() is the first code point (on a UTF-8 database): a letter first needs nothing more.
    return (
        f"CASE WHEN ascii({column}) BETWEEN 65 AND 126 THEN {column} "
        f"WHEN {column} ~ '{postgres_formula_pattern()}' THEN '{QUOTE * 2}' || {column} "
        f"ELSE NULLIF({column}, '') END"
    )


def postgres_number_cell(column: str) -> str:
    """A number column neutralised in SQL: an E.164 number as it is."""
    return (
        f"CASE WHEN {column} ~ '^\\+[1-9][0-9]+$' AND length({column}) <= 16 THEN {column} "
        f"ELSE {postgres_cell(column)} END"
    )


@cache
def postgres_formula_pattern() -> str:
    """`^[blanks]*[triggers]` for PostgreSQL's regular expressions, from is_blank/is_trigger.

    Built once per process; each pass runs in C (map, compress, find). Planes 4 to 13, 15 and
    16 hold only unassigned and private-use code points (blank), so only planes 0-3 and 14 are
    walked (tests/unit/test_formulas.py checks that of the running Python's Unicode data).
    """
    kinds = bytearray([_BLANK]) * (sys.maxunicode + 1)
    for plane in SCANNED_PLANES:
        kinds[plane.start : plane.stop] = bytes(
            map(_KIND.get, map(unicodedata.category, map(chr, plane)), repeat(0))
        )
    # Letters and symbols are blank only when named fillers or blanks: few, looked at alone.
    for run in re.finditer(bytes([_MAYBE]) + b"+", kinds):
        names = "\n".join(map(unicodedata.name, map(chr, range(*run.span())), repeat("")))
        for word in ("FILLER", "BLANK"):  # str.find is fast; each rare find is checked alone
            at = names.find(word)
            while at >= 0:
                start = names.rfind("\n", 0, at) + 1
                end = names.find("\n", at)
                if _NAMED_BLANK.search(names[start : end if end >= 0 else len(names)]):
                    kinds[run.start() + names.count("\n", 0, start)] = _BLANK
                at = names.find(word, at + 1)
    # PostgreSQL text holds neither NUL nor surrogates, and its patterns refuse them.
    kinds[0] = 0
    kinds[0xD800:0xE000] = bytes(0xE000 - 0xD800)
    triggers = {ord(char) for char in TRIGGERS + LEADING_TRIGGERS}
    for plane in SCANNED_PLANES:
        folded = compress(plane, map(unicodedata.decomposition, map(chr, plane)))
        triggers.update(cp for cp in folded if kinds[cp] != _BLANK and is_trigger(chr(cp)))
    marks = bytearray(len(kinds))
    for cp in triggers:
        marks[cp] = _BLANK
    return f"^[{_ranges(kinds)}]*[{_ranges(marks)}]"


SCANNED_PLANES = (range(0, 0x40000), range(0xE0000, 0xF0000))
_BLANK, _MAYBE = 1, 2
_KIND = {**dict.fromkeys(BLANK_CATEGORIES, _BLANK), "Lo": _MAYBE, "So": _MAYBE}
_BLANK_ONLY = bytes(int(value == _BLANK) for value in range(256))  # for bytearray.translate


def _ranges(flags: bytearray) -> str:
    """The code points flagged _BLANK as a bracket expression's ranges."""
    flags = flags.translate(_BLANK_ONLY)
    parts, start = [], flags.find(_BLANK)
    while start >= 0:
        end = flags.find(0, start)
        last = (end if end >= 0 else len(flags)) - 1
        parts.append(_escape(start) if start == last else f"{_escape(start)}-{_escape(last)}")
        start = flags.find(_BLANK, last + 1)
    return "".join(parts)


def _escape(cp: int) -> str:
    return f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}"


__all__ = [
    "formula_quote", "is_blank", "is_e164", "is_trigger", "neutralise", "neutralise_number",
    "postgres_cell", "postgres_formula_pattern", "postgres_number_cell", "sqlite_number_quote",
    "sqlite_quote",
]  # fmt: skip
