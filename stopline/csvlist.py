"""An opt-out list file: its separator (from the header line), its rows with their lines,
the rows it refused and where it had to stop.

A malformed row (too many values, a line too long, a quote that swallows other rows) is
refused with its line and reading goes on. A bad byte or a quote left open to the end stops
the reading there; every row before it is still handed out, so the import stores them and
can say exactly how far it got.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import BinaryIO

from core.bulk import FileRow
from stopline.csvheader import Header, read_header
from stopline.csvlines import MAX_LINE_BYTES, BadBytes, Lines, LineTooLong

# A quoted value may span lines (a note with line breaks), but not without end.
MAX_RECORD_CHARS = 16 * 1024


@dataclass(frozen=True, slots=True)
class Problem:
    """A line of the file that was not imported, and why."""

    line: int
    reason: str


class ListFileError(Exception):
    """The file cannot be read as a list at all (no header, a bad first line)."""


@dataclass
class ListFile:
    """One pass over a list file: rows out, refusals and the stop kept for the summary."""

    path: Path
    refused: list[Problem] = field(default_factory=list)
    stopped: Problem | None = None
    lines_read: int = 0
    header: Header | None = None

    def check_header(self) -> Header:
        """Read the header alone (HeaderError, ListFileError), before anything is imported."""
        with self.path.open("rb") as handle:
            try:
                self.header = read_header(self.path, Lines(handle))
            except (BadBytes, LineTooLong) as error:
                raise ListFileError(f"{self.path}: {error}; is this a CSV file?") from None
        return self.header

    def rows(self, advance: Callable[[int], None] = lambda _n: None) -> Iterator[FileRow]:
        """Yield each row keyed by the service's column names, with the line it starts on."""
        with self.path.open("rb") as handle:
            yield from self._rows(handle, advance)

    def _rows(self, handle: BinaryIO, advance: Callable[[int], None]) -> Iterator[FileRow]:
        lines = Lines(handle)
        try:
            header = self.header = read_header(self.path, lines)
        except (BadBytes, LineTooLong) as error:
            raise ListFileError(f"{self.path}: {error}; is this a CSV file?") from None
        index = header.columns if header.columns is not None else {"phone": 0}
        pending: list[str] = [header.first_line] if header.columns is None else []
        while True:
            start = lines.number + 1 - len(pending)
            before = lines.number
            reader = csv.reader(_Guard(chain(pending, lines), lines), delimiter=header.delimiter)
            pending = []
            try:
                cells = next(reader)
            except StopIteration:
                break
            except BadBytes as error:
                self._stop(error.line, f"{error} (saved in another encoding?)")
                break
            except LineTooLong as error:
                self._refuse(error.line, f"{error}; a row is at most {MAX_LINE_BYTES:,}")
                advance(lines.number - before)
                continue
            except _RunawayQuote:
                self._stop(start, f"a quote opened on line {start} is still open "
                                  f"{MAX_RECORD_CHARS:,} characters later (line {lines.number})")
                break  # fmt: skip
            except csv.Error as error:
                self._refuse(start, f"not CSV: {error}")
                advance(lines.number - before)
                continue
            advance(lines.number - before)
            end = lines.number
            if not cells or not any(cell.strip() for cell in cells):
                continue  # a blank line is nothing to import, not an invalid row
            if lines.ended and end > start and _ends_open(cells):
                self._stop(start, f"a quote opened on line {start} is never closed")
                break
            why = header.malformed(cells, start, end)
            if why is not None:
                self._refuse(start, why)
                continue
            row = FileRow({name: cells[i].strip() if i < len(cells) else ""
                           for name, i in index.items()})  # fmt: skip
            row.line = start
            yield row
        self.lines_read = lines.number

    def _refuse(self, line: int, reason: str) -> None:
        self.refused.append(Problem(line, reason))

    def _stop(self, line: int, reason: str) -> None:
        self.stopped = Problem(line, reason)


class _RunawayQuote(Exception):
    """A record longer than MAX_RECORD_CHARS: a quote left open."""


class _Guard:
    """Lines for csv.reader, counting a record's characters to stop a runaway quote."""

    def __init__(self, source: Iterator[str], lines: Lines) -> None:
        self._source = source
        self._lines = lines
        self._chars = 0

    def __iter__(self) -> _Guard:
        return self

    def __next__(self) -> str:
        line = next(self._source)
        self._chars += len(line)
        if self._chars > MAX_RECORD_CHARS:
            raise _RunawayQuote
        return line


def _ends_open(cells: list[str]) -> bool:
    """True when the record that reached the end of the file was still in a quote."""
    return "\n" in cells[-1]
