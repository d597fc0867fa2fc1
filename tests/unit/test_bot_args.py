"""Parsing slash-command text: phone numbers as agents paste them, options, reasons."""

from __future__ import annotations

import pytest

from bot.args import clean, parse, parse_date, sender_option
from bot.errors import UsageError
from core.errors import InvalidPhoneNumber


@pytest.mark.parametrize(
    ("text", "phone", "rest"),
    [
        ("+1 206-555-0100", "+12065550100", ""),
        ("(206) 555-0100", "+12065550100", ""),
        ("206.555.0100", "+12065550100", ""),
        ("12065550100", "+12065550100", ""),
        ("1-206-555-0100 called twice", "+12065550100", "called twice"),
        ("206 555 0100 2 complaints", "+12065550100", "2 complaints"),
        ("+44 20 7946 0958 UK customer", "+442079460958", "UK customer"),
        ("<tel:+12065550100|+1 206-555-0100> rude", "+12065550100", "rude"),
        ("\u00a0(206)\u00a0555‑0100", "+12065550100", ""),
        ("206–555–0100", "+12065550100", ""),
        ("206-555-0100, asked on a call", "+12065550100", "asked on a call"),
        ("(206) 555-0100: wrong number", "+12065550100", "wrong number"),
        ("+1 206-555-0100 said &lt;stop&gt;", "+12065550100", "said <stop>"),
    ],
)
def test_phone_and_reason(text: str, phone: str, rest: str) -> None:
    args = parse(text, options={"sender"})
    assert (args.phone, args.rest) == (phone, rest)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "needs a phone number"),
        ("please stop", "must come first"),
        ("1-800-FLOWERS", "must come first"),
        ("206-555-010", "not a valid phone number"),
        ("+1206001234", "not a valid phone number"),
        ("+12060012345", "not a valid phone number"),
        ("2065550100 sendr=+14155550123", "unknown option"),
        ("2065550100 sender=", "needs a value"),
        ("2065550100 sender=+14155550123 sender=+14155550124", "given twice"),
    ],
)
def test_refusals(text: str, error: str) -> None:
    with pytest.raises((UsageError, InvalidPhoneNumber), match=error):
        parse(text, options={"sender"})


def test_sender_with_spaces_and_reason_after() -> None:
    args = parse("2065550100 sender=+1 415-555-0123 wrong number", options={"sender"})
    assert sender_option(args, "US") == "+14155550123"
    assert args.rest == "wrong number"


def test_options_after_the_reason_still_count() -> None:
    args = parse("2065550100 wrong number sender=4155550123", options={"sender"})
    assert (sender_option(args, "US"), args.rest) == ("+14155550123", "wrong number")


def test_words_with_equals_inside_a_reason_stay_words() -> None:
    assert parse("2065550100 said x=y", options={"sender"}).rest == "said x=y"


def test_all_only_where_allowed() -> None:
    args = parse("2065550100 sender=ALL", options={"sender"})
    assert sender_option(args, "US", allow_all=True) == "all"
    with pytest.raises(UsageError, match="not one of your numbers"):
        sender_option(args, "US")


def test_short_code_sender() -> None:
    args = parse("2065550100 sender=55555", options={"sender"})
    assert sender_option(args, "US") == "55555"


def test_export_options_without_a_phone() -> None:
    args = parse("since=2026-01-01 sender=(206) 555-0100", options={"since", "sender"}, phone=False)
    assert args.phone is None
    assert parse_date(args.options["since"], "since").isoformat() == "2026-01-01"
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        parse_date("01/02/2026", "since")


def test_clean_undoes_slack_markup() -> None:
    assert clean("<mailto:a@b.c|a@b.c> &amp; <https://x.y|link>") == "a@b.c & link"
