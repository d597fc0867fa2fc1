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

from core.bulk import MAX_ERRORS, FileRow
from stopline.cli.csvheader import Header, read_header
from stopline.cli.csvlines import MAX_LINE_BYTES, BadBytes, Lines, LineTooLong

# A quoted value may span lines (a note with line breaks), but not without end.
MAX_RECORD_CHARS = 16 * 1024
# .xlsx (a zip) and .xls (OLE2) files start with these bytes.
WORKBOOKS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
MAX_LISTED = MAX_ERRORS  # refusals kept with their line; the rest are counted


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
    refused_count: int = 0
    stopped: Problem | None = None
    lines_read: int = 0
    header: Header | None = None

    def check_header(self) -> Header:
        """Read the header alone (HeaderError, ListFileError), before anything is imported."""
        with self.path.open("rb") as handle:
            if handle.read(8).startswith(WORKBOOKS):
                raise ListFileError(
                    f"{self.path} is an Excel workbook, not a CSV file: open it and save it as "
                    "'CSV UTF-8 (comma delimited)', then import that file."
                )
            handle.seek(0)
            try:
                self.header = read_header(self.path, Lines(handle))
            except (BadBytes, LineTooLong) as error:
                raise ListFileError(unreadable(self.path, error)) from None
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
            raise ListFileError(unreadable(self.path, error)) from None
        index = header.columns if header.columns is not None else {"phone": 0}
        # A bare list's first line is its first row, already read for the header.
        guard = _Guard(chain([header.first_line] if header.columns is None else [], lines))
        unread = 1 if header.columns is None else 0
        reader = csv.reader(guard, delimiter=header.delimiter)
        while True:
            start, before = lines.number + 1 - unread, lines.number
            unread = 0
            guard.chars = 0
            try:
                cells = next(reader)
            except StopIteration:
                break
            except BadBytes as error:
                # At the row's first line: a quoted row that reached the bad byte is not stored.
                self._stop(start, f"{error} (saved in another encoding?)")
                break
            except _RunawayQuote:
                self._stop(
                    start,
                    f"a quote opened on line {start} is still open "
                    f"{MAX_RECORD_CHARS:,} characters later (line {lines.number})",
                )
                break  # fmt: skip
            except (LineTooLong, csv.Error) as error:
                if isinstance(error, LineTooLong):
                    within = f" (in the row from line {start})" if start < error.line else ""
                    self._refuse(start, f"{error}{within}; a row is at most {MAX_LINE_BYTES:,}")
                else:
                    self._refuse(start, f"not CSV: {error}")
                advance(lines.number - before)
                reader = csv.reader(guard, delimiter=header.delimiter)  # a fresh record
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
        self.refused_count += 1
        if len(self.refused) < MAX_LISTED:  # a file of a million bad lines stays small
            self.refused.append(Problem(line, reason))

    def _stop(self, line: int, reason: str) -> None:
        self.stopped = Problem(line, reason)


def unreadable(path: Path, error: Exception) -> str:
    """Why the first line cannot be read, naming UTF-16 (Excel's "Unicode Text") when it is."""
    with path.open("rb") as handle:
        start = handle.read(2)
    if start in (b"\xff\xfe", b"\xfe\xff"):
        return (
            f"{path} is UTF-16 (Excel's 'Unicode Text'); save it as 'CSV UTF-8' and import "
            "it again."
        )
    return f"{path}: {error}; is this a CSV file? Save it as 'CSV UTF-8'."


class _RunawayQuote(Exception):
    """A record longer than MAX_RECORD_CHARS: a quote left open."""


class _Guard:
    """Lines for csv.reader, counting a record's characters to stop a runaway quote."""

    def __init__(self, source: Iterator[str]) -> None:
        self._source = source
        self.chars = 0  # reset before each record

    def __iter__(self) -> _Guard:
        return self

    def __next__(self) -> str:
        line = next(self._source)
        self.chars += len(line)
        if self.chars > MAX_RECORD_CHARS:
            raise _RunawayQuote
        return line


def _ends_open(cells: list[str]) -> bool:
    """True when the record that reached the end of the file was still in a quote."""
    return "\n" in cells[-1]
