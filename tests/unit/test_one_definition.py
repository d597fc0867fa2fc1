"""Texts and helpers that several layers share exist once, in core."""

from __future__ import annotations

from core import planning
from core.columns import (
    COLUMN_ALIASES,
    PHONE_KEYS,
    REASON_KEYS,
    SENDER_KEYS,
    SINCE_KEYS,
)
from core.text import CONTACT_ONLY, RESUBSCRIBE_WORDS, first_line
from rules import rule_table
from stopline.cli import csvheader


def test_the_contact_only_text_is_the_cores() -> None:
    assert planning.CONTACT_ONLY is CONTACT_ONLY
    assert rule_table.CONTACT_ONLY is CONTACT_ONLY
    assert RESUBSCRIBE_WORDS in CONTACT_ONLY


def test_the_service_keys_are_names_the_cli_knows_too() -> None:
    assert csvheader.COLUMN_ALIASES is COLUMN_ALIASES
    for name, keys in [
        ("phone", PHONE_KEYS),
        ("sender", SENDER_KEYS),
        ("opted_out_at", SINCE_KEYS),
        ("reason", REASON_KEYS),
    ]:
        assert keys[0] == name
        assert set(keys) <= set(COLUMN_ALIASES[name]), name


def test_first_line_drops_what_follows_the_first_line() -> None:
    assert first_line(ValueError("  no such table: consent\n(Background on this error)")) == (
        "no such table: consent"
    )
    assert first_line(KeyError()) == "KeyError"
