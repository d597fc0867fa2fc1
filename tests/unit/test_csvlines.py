"""stopline.cli.csvlines: a list file's physical lines, whatever the endings and read sizes."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stopline.cli import csvlines
from stopline.cli.csvlines import BadBytes, Lines, LineTooLong


def reference(data: bytes) -> list[str]:
    """What an editor shows: lines split at CRLF, CR or LF, BOM dropped from the first."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    parts = re.split(rb"\r\n|\r|\n", data)
    if parts and parts[-1] == b"":
        parts.pop()
    return [p.decode() + "\n" for p in parts]


TEXT = st.lists(
    st.tuples(st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=20),
              st.sampled_from(["\n", "\r\n", "\r"])),
    max_size=30,
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(lines=TEXT, block=st.integers(1, 9), bom=st.booleans(), last_ending=st.booleans())
def test_lines_match_an_editors_whatever_the_read_size(
    lines: list[tuple[str, str]], block: int, bom: bool, last_ending: bool
) -> None:
    data = "".join(text + end for text, end in lines).encode()
    if lines and not last_ending:
        data = data.rstrip(b"\r\n")
    if bom:
        data = b"\xef\xbb\xbf" + data
    # Tiny reads: '\r\n' split between two reads, lines across many blocks.
    assert list(Lines(io.BytesIO(data), block=block)) == reference(data)


def test_a_long_line_is_skipped_and_numbered() -> None:
    long = b"x" * (csvlines.MAX_LINE_BYTES + 1)
    lines = Lines(io.BytesIO(b"a\n" + long + b"\r\nb\n"))
    assert next(lines) == "a\n"
    with pytest.raises(LineTooLong) as caught:
        next(lines)
    assert (caught.value.line, caught.value.size) == (2, len(long))
    assert next(lines) == "b\n" and lines.number == 3


def test_a_line_of_exactly_the_limit_is_read() -> None:
    exact = b"y" * csvlines.MAX_LINE_BYTES
    assert list(Lines(io.BytesIO(exact + b"\n"))) == [exact.decode() + "\n"]


def test_a_bad_byte_names_its_line_and_position() -> None:
    lines = Lines(io.BytesIO(b"ok\nd\xe9j\xe0\n"))
    next(lines)
    with pytest.raises(BadBytes, match="byte 0xe9 at position 2 of line 2"):
        next(lines)
