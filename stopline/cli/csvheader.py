"""A list file's header: which separator it uses and where the phone column is.

The separator is chosen from the header line alone (csv.Sniffer guessed from a sample of
rows: one row with an extra separator made it give up, and a hostile line made it slow).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from core.columns import COLUMN_ALIASES
from stopline.cli.csvlines import Lines

SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
EXCEL_SEP = re.compile(r"sep=([^\s\"])", re.IGNORECASE)

_NOT_WORD = re.compile(r"[^0-9a-z]+")


class HeaderError(Exception):
    """The first line names no phone column (or there is no first line)."""


def canonical(header: str) -> str:
    """Fold a header cell so 'Phone Number', 'phone-number' and 'PHONE_NUMBER' read the same."""
    # 'Phone No.', 'E.164', 'Mobile #': every run of other characters is one '_'.
    return _NOT_WORD.sub("_", header.strip().lower()).strip("_")


def column_map(headers: list[str]) -> dict[str, str]:
    """Map each file header that stopline understands to the service's column name."""
    mapping: dict[str, str] = {}
    for header in headers:
        folded = canonical(header)
        for name, aliases in COLUMN_ALIASES.items():
            if folded in aliases and name not in mapping.values():
                mapping[header] = name
    return mapping


def looks_like_phone(cell: str) -> bool:
    """True for a cell that is a number rather than a header (a list without a header row)."""
    digits = sum(ch.isdigit() for ch in cell)
    return digits >= 5 and digits >= len(cell.strip()) // 2


def separators_outside_quotes(line: str) -> dict[str, int]:
    """How often each candidate separator appears outside double quotes."""
    counts = dict.fromkeys(SEPARATORS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted  # a doubled "" inside quotes toggles twice: no change
        elif not quoted and char in counts:
            counts[char] += 1
    return counts


@dataclass(frozen=True)
class Header:
    """The file's separator, and the phone (and other) columns' positions; None: a bare list."""

    delimiter: str
    columns: dict[str, int] | None
    width: int
    first_line: str

    def malformed(self, cells: list[str], start: int, end: int) -> str | None:
        """Why a row cannot be read safely, or None."""
        if any(cell.strip() for cell in cells[self.width :]):
            name = SEPARATORS.get(self.delimiter, repr(self.delimiter))
            return (
                f"{len(cells)} values where the header has {self.width} column(s) (a {name} "
                f"inside a value? put that value in double quotes)"
            )
        if end > start:
            swallowed = self._swallowed(cells)
            if swallowed:
                return (
                    f"a quote opened on line {start} closes on line {end}, taking what looks "
                    f"like other rows ({swallowed!r}) into one value: close the quote on line "
                    f"{start}"
                )
        return None

    def _swallowed(self, cells: list[str]) -> str | None:
        """A line inside a multi-line value that reads as a row of its own (a stray quote)."""
        phone_at = self.columns["phone"] if self.columns is not None else 0
        for cell in cells:
            for inner in cell.splitlines()[1:]:
                parts = next(csv.reader([inner], delimiter=self.delimiter), [])
                if len(parts) > phone_at and looks_like_phone(parts[phone_at]):
                    return inner[:60]
        return None


def choose(line: str, forced: str | None = None) -> tuple[str, list[str], dict[str, str]]:
    """The separator that gives the header line a phone column (most frequent first)."""
    counts = separators_outside_quotes(line)
    # A single column ('phone' alone) has no separator to count: read it as commas.
    ranked = sorted((s for s in SEPARATORS if counts[s]), key=lambda s: -counts[s]) or [","]
    if forced is not None:
        ranked = [forced]
    for delimiter in ranked:
        cells = next(csv.reader([line], delimiter=delimiter), [])
        mapping = column_map(cells)
        if "phone" in mapping.values():
            return delimiter, cells, mapping
    delimiter = ranked[0]
    return delimiter, next(csv.reader([line], delimiter=delimiter), []), {}


def read_header(path: Path, lines: Lines) -> Header:
    """Read the first line: the separator and the columns, or a bare list of numbers."""
    first = next(lines, None)
    while first is not None and not first.strip():
        first = next(lines, None)  # blank lines above the header
    forced = None
    directive = EXCEL_SEP.fullmatch(first.rstrip("\r\n")) if first else None
    if directive:  # Excel's "sep=;" line before the header says which separator it used
        forced, first = directive.group(1), next(lines, None)
    if first is None or not first.strip():
        raise HeaderError(f"{path} is empty (its first line should name the columns).")
    delimiter, cells, mapping = choose(first.rstrip("\n"), forced)
    while cells and not cells[-1].strip():
        cells = cells[:-1]  # 'phone;reason;': a trailing separator names no column
    if "phone" in mapping.values():
        columns = {name: cells.index(header) for header, name in mapping.items()}
        return Header(delimiter, columns, max(len(cells), 1), first)
    if len(cells) == 1 and looks_like_phone(cells[0]):
        return Header(delimiter, None, 1, first)
    accepted = ", ".join(COLUMN_ALIASES["phone"])
    raise HeaderError(
        f"{path}: no phone column in the header {cells!r}. Name it one of: {accepted} "
        "(sender, reason and opted_out_at are optional); columns may be separated by "
        "commas, semicolons, tabs or pipes."
    )
