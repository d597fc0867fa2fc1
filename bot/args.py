"""Slash-command arguments as agents type them: a phone number in any form, options, a reason."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date

from bot.errors import UsageError
from core.errors import InvalidPhoneNumber
from core.phone import normalize_phone, normalize_sender

# Slack sends `<tel:+12065550100|+1 206-555-0100>` or `<mailto:..|..>` for auto-linked text.
_LINK = re.compile(r"<(?:tel:|mailto:|https?://)?([^<>|]*)(?:\|([^<>]*))?>")
_PHONE_PIECE = re.compile(r"^[0-9+().\-‐‑‒–—]+$")
_OPTION = re.compile(r"^([A-Za-z_-]+)=(.*)$")


@dataclass(frozen=True)
class Arguments:
    """A parsed command line: the phone number (E.164), key=value options and the free text."""

    phone: str | None
    options: dict[str, str] = field(default_factory=dict)
    rest: str = ""


def clean(text: str | None) -> str:
    """The command text with Slack's link markup and HTML escapes undone."""
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text or "")
    return html.unescape(text).replace("\u00a0", " ").strip()


def parse(
    text: str | None, *, options: set[str], phone: bool = True, region: str = "US"
) -> Arguments:
    """Split `PHONE [key=value ...] [free text]`; raise UsageError or InvalidPhoneNumber."""
    tokens = clean(text).split()
    found: str | None = None
    if phone:
        found, tokens = _take_phone(tokens, region)
    values: dict[str, str] = {}
    rest: list[str] = []
    while tokens:
        token = tokens.pop(0)
        match = _OPTION.match(token)
        name = match.group(1).lower() if match else ""
        if match is None or name not in options:
            if match is not None and not rest:  # a typo'd option, not words of a reason
                allowed = ", ".join(f"{known}=" for known in sorted(options)) or "none"
                raise UsageError(f"unknown option `{match.group(1)}=` (options: {allowed})")
            rest.append(token)
            continue
        value = match.group(2)
        # `sender=+1 206-555-0100`: a value may continue over the next phone-like pieces.
        while tokens and _PHONE_PIECE.match(tokens[0]) and _OPTION.match(tokens[0]) is None:
            value += " " + tokens.pop(0)
        if not value:
            raise UsageError(f"`{name}=` needs a value")
        if name in values:
            raise UsageError(f"`{name}=` is given twice")
        values[name] = value
    return Arguments(found, values, " ".join(rest))


def _take_phone(tokens: list[str], region: str) -> tuple[str, list[str]]:
    pieces: list[str] = []
    for token in tokens:
        piece = token.rstrip(",;:")  # "206-555-0100, asked on a call"
        if not _PHONE_PIECE.match(piece) or len(pieces) >= 5:
            break
        pieces.append(piece)
        if piece != token:
            break
    if not tokens:
        raise UsageError("the command needs a phone number")
    if not pieces:
        raise UsageError(f"a phone number must come first, not “{tokens[0][:40]}”")
    # The longest run of pieces that is a valid number: "206 555 0100 2nd complaint" works.
    error: InvalidPhoneNumber | None = None
    for size in range(len(pieces), 0, -1):
        try:
            return normalize_phone(" ".join(pieces[:size]), region), tokens[size:]
        except InvalidPhoneNumber as exc:
            error = error or exc
    assert error is not None
    raise error


def sender_option(args: Arguments, region: str, *, allow_all: bool = False) -> str | None:
    """The `sender=` option as E.164 (or "all" where allowed), None when not given."""
    value = args.options.get("sender")
    if value is None:
        return None
    if allow_all and value.strip().lower() == "all":
        return "all"
    try:
        return normalize_sender(value, region)
    except InvalidPhoneNumber as exc:
        raise UsageError(f"`sender={value}` is not one of your numbers: {exc.reason}") from None


def parse_date(value: str, name: str) -> date:
    """A YYYY-MM-DD option value."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"`{name}={value}` is not a date; write it as YYYY-MM-DD") from None
