"""Hostile rules files fail fast with a clear problem and a line, on load and on hot reload."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from rules import RulesHolder
from rules.yamlsafe import MAX_BYTES, MAX_DEPTH
from stopline.cli.rules_check import check_file
from tests.unit.test_rules_support import edited, shipped_text, write

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
DEEP = shipped_text() + "zz: " + "[" * 5000 + "]" * 5000 + "\n"
JUST_DEEP = shipped_text() + "zz: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n"
SHIPPED_LINES = shipped_text().count("\n")


@pytest.mark.parametrize(("text", "line", "words"), [
    (LAUGHS, 1, "anchors (&name) and aliases (*name) are not allowed"),
    (edited("words: [STOPALL, STOP ALL]", "words: &w [STOPALL, STOP ALL]"), None,
     "anchors (&name) and aliases"),
    ("a: &x 1\nb: 2\n", 1, "anchors"),
    ("a: [1]\nb: *x\n", 2, "aliases"),
    (DEEP, SHIPPED_LINES + 1, f"nested more than {MAX_DEPTH} levels deep"),
    (JUST_DEEP, SHIPPED_LINES + 1, "nested more than"),
    (shipped_text().replace("format: 1", "format: 1\x00", 1), None, "U+0000 (a NUL byte)"),
    ("a: 1\nb: \x07\n", 2, "U+0007"),
])
def test_hostile_yaml_is_one_clear_problem(tmp_path: Path, text: str, line: int | None,
                                           words: str) -> None:
    path = write(tmp_path, text)
    started = time.monotonic()
    ok, found = check_file(path)
    assert time.monotonic() - started < 2, "must fail fast"
    assert not ok and len(found) == 1 and words in found[0], found
    if line is None:  # the line of the anchor or of the NUL byte in the shipped file
        anchor = "&w" if "&w" in text else "\x00"
        line = text[: text.index(anchor)].count("\n") + 1
    assert found[0].startswith(f"{path}:{line}: "), found


@pytest.mark.parametrize("size", [MAX_BYTES + 1, 6 * MAX_BYTES])
def test_a_file_over_one_mebibyte_is_refused_before_parsing(tmp_path: Path, size: int) -> None:
    path = write(tmp_path, shipped_text() + "#" * (size - len(shipped_text().encode())))
    ok, found = check_file(path)
    assert not ok and found == [
        f"{path}: is {size:,} bytes; a rules file may be at most {MAX_BYTES:,} bytes"]


def test_a_file_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    head = shipped_text()
    path = write(tmp_path, head + "#" * (MAX_BYTES - len(head.encode())))
    assert check_file(path)[0]


@pytest.mark.parametrize("text", [LAUGHS, DEEP, "format: 1\x00\n", "x" * (MAX_BYTES + 1)])
def test_hot_reload_keeps_the_rules_in_force(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, shipped_text())
    holder = RulesHolder(path, interval=3600, backend="python")
    version = holder.version
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    assert holder.check_now() is False
    assert holder.version == version and holder.failures == 1
    assert holder.last_error and "Traceback" not in holder.last_error
    holder.close()
