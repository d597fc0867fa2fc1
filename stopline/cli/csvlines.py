"""A list file's physical lines, numbered and decoded one at a time, each of bounded length.

Reading line by line (not csv over a text stream) is what lets an import say exactly where a
bad byte or a runaway line is, refuse that line alone, and keep every row before it.
"""

from __future__ import annotations

import re
from typing import BinaryIO, NoReturn

# An opt-out row is well under 1 KiB; 16 KiB leaves room for long notes and bounds the work
# (and memory) a hostile line can cost.
MAX_LINE_BYTES = 16 * 1024
_BLOCK = 64 * 1024
_EOL = re.compile(rb"\r\n|\r|\n")  # Windows, Unix and old Mac ("CSV (Macintosh)") endings
_BOM = b"\xef\xbb\xbf"


class LineTooLong(Exception):
    """A physical line longer than MAX_LINE_BYTES (already skipped to its end)."""

    def __init__(self, line: int, size: int) -> None:
        super().__init__(f"line {line} is {size:,} bytes long")
        self.line = line
        self.size = size


class BadBytes(Exception):
    """A line that is not UTF-8."""

    def __init__(self, line: int, error: UnicodeDecodeError) -> None:
        byte = error.object[error.start : error.start + 1].hex()
        super().__init__(f"byte 0x{byte} at position {error.start + 1} of line {line} is not UTF-8")
        self.line = line


class Lines:
    """Iterate over decoded lines ending in '\\n'; `number` is the last line handed out."""

    def __init__(self, handle: BinaryIO, block: int = _BLOCK) -> None:
        self._handle = handle
        self._block = block
        self._buffer = b""
        self._pos = 0
        self._eof = False
        self.number = 0
        self.ended = False  # True once the end of the file was reached

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> str:
        raw = self._raw()
        if raw is None:
            self.ended = True
            raise StopIteration
        self.number += 1
        if self.number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]  # spreadsheets' "CSV UTF-8" starts with a byte-order mark
            if not raw:  # the mark and nothing else
                self.ended = True
                raise StopIteration
        body = raw.rstrip(b"\r\n")
        try:
            return body.decode("utf-8") + "\n"
        except UnicodeDecodeError as error:
            raise BadBytes(self.number, error) from None

    def _raw(self) -> bytes | None:
        """The next line with its ending; LineTooLong (after skipping it) past the limit."""
        while True:
            found = _EOL.search(self._buffer, self._pos)
            # A '\r' last in the buffer may be the first half of '\r\n': read on to know.
            pending_crlf = (
                found is not None and found.group() == b"\r" and found.end() == len(self._buffer)
            )
            if found is not None and not (pending_crlf and not self._eof):
                if found.start() - self._pos > MAX_LINE_BYTES:
                    break
                line = self._buffer[self._pos : found.end()]
                self._pos = found.end()
                return line
            if found is None and len(self._buffer) - self._pos > MAX_LINE_BYTES:
                break
            if self._eof:
                line = self._buffer[self._pos :]
                self._buffer, self._pos = b"", 0
                return line or None
            self._fill()
        return self._skip_long_line()

    def _fill(self) -> None:
        chunk = self._handle.read(self._block)
        self._buffer = self._buffer[self._pos :] + chunk
        self._pos = 0
        self._eof = not chunk

    def _skip_long_line(self) -> NoReturn:
        """Drop the rest of an over-long line, counting its size, then report it."""
        size = 0
        while True:
            found = _EOL.search(self._buffer, self._pos)
            if found is not None:
                size += found.start() - self._pos
                self._pos = found.end()
                if found.group() == b"\r" and self._pos == len(self._buffer) and not self._eof:
                    self._fill()  # a '\r\n' split between two reads is one ending
                    if self._buffer.startswith(b"\n"):
                        self._pos = 1
                break
            size += len(self._buffer) - self._pos
            self._buffer, self._pos = b"", 0
            if self._eof:
                break
            self._fill()
        self.number += 1
        raise LineTooLong(self.number, size)
