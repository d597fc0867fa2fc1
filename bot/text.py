"""Slack text pieces: escaping, mentions of actors, dates agents see in their own time zone."""

from __future__ import annotations

from datetime import datetime

from bot.context import slack_user
from core.model import Source
from core.phone import national_format

QUOTE_LIMIT = 280  # characters of a contact's message shown on a card


def escape(text: str) -> str:
    """Text safe inside mrkdwn: no <!channel>, <@U…> or links smuggled in by a contact."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str | None, limit: int = QUOTE_LIMIT) -> str:
    """A contact's words, escaped, shortened and in quotes."""
    if not text:
        return "“”"
    flat = " ".join(text.split())
    shown = flat if len(flat) <= limit else flat[: limit - 1] + "…"
    return f"“{escape(shown)}”"


def when(moment: datetime | None) -> str:
    """A moment agents see in their own time zone (UTC in the fallback text)."""
    if moment is None:
        return "unknown time"
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def number(phone: str) -> str:
    """A number as agents read it: national form and E.164, e.g. `(206) 555-0100 (+12065550100)`."""
    national = national_format(phone)
    return phone if national == phone else f"{national} ({phone})"


def actor_text(source: Source | None, actor: str | None) -> str:
    """Who made a change, as a card says it: a Slack mention for an agent on Slack."""
    user = slack_user(actor)
    if source is Source.CONTACT:
        return "the contact" + (f" (confirmed by <@{user}>)" if user else "")
    if user:
        return f"<@{user}>"
    name = escape(actor or "unknown")
    if source is Source.API:
        return f"the API (token `{name}`)"
    if source is Source.IMPORT:
        return f"an import ({name})"
    return f"agent `{name}`"
