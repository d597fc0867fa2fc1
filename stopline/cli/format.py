"""How the CLI shows ledger values: UTC times, contacts' words on one safe line, API-shaped JSON."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

TEXT_WIDTH = 160  # a contact's text is cut to this in human output (JSON has all of it)


def when(moment: datetime | None) -> str:
    """A time as the API shows it, to the second: 2026-01-31T09:30:00Z ('-' for none)."""
    if moment is None:
        return "-"
    if moment.tzinfo is None:  # SQLite gives naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def one_line(text: str | None, width: int = TEXT_WIDTH) -> str:
    """Someone else's words, quoted on one line, with no character that drives the terminal.

    A contact's text may hold newlines, escape sequences (which could repaint or retitle the
    terminal) or invisible characters: each is shown as an escape, and long text is cut.
    """
    if text is None:
        return "-"
    shown = "".join(_visible(char) for char in text)
    if len(shown) > width:
        shown = shown[: width - 1] + "…"
    return f'"{shown}"'


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs"):
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def jsonable(value: Any) -> Any:
    """A domain value (dataclass, enum, time) as the API's JSON shows it."""
    if is_dataclass(value) and not isinstance(value, type):
        return {key: jsonable(item) for key, item in asdict(value).items()}
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.isoformat().replace("+00:00", "Z")
    return value


def dump(value: Any) -> str:
    """Pretty JSON of a domain value; non-ASCII text kept as written."""
    return json.dumps(jsonable(value), indent=2, ensure_ascii=False)
