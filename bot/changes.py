"""An agent's opt-out and opt-in from Slack, shared by the slash commands and the card's buttons."""

from __future__ import annotations

from typing import Any

from bot.cards import card_text, opted_out_scopes, status_card
from bot.context import BotContext
from bot.text import escape, number
from core.errors import NotAllowed
from core.model import Actor
from core.phone import national_format

ALL = "all"


def opt_out(ctx: BotContext, phone: str, sender: str | None, actor: Actor, reason: str) -> str:
    """Opt a contact out (account-wide without a sender) and say what happened."""
    outcome = ctx.consent.opt_out(phone, sender, actor, reason or None)
    where = "every number of the account" if sender is None else escape(number(sender))
    if not outcome.changed:
        return f"{national_format(phone)} was already opted out of {where}; nothing changed."
    return f":no_entry: Opted out {national_format(phone)} from {where}."


def opt_in(ctx: BotContext, phone: str, sender: str | None, actor: Actor, reason: str) -> str:
    """Opt a contact back in (one scope, the account, or `all`) and say what happened."""
    if sender == ALL:
        return _opt_in_all(ctx, phone, actor, reason)
    try:
        outcome = ctx.consent.opt_in(phone, sender, actor, reason or None)
    except NotAllowed as exc:
        return f":lock: {_refused(phone, exc)}"
    where = "every number of the account" if sender is None else escape(number(sender))
    if outcome.changed:
        return f":white_check_mark: Opted {national_format(phone)} back in for {where}."
    others = [s.sender for s in opted_out_scopes(outcome.status) if s.sender is not None]
    hint = ""
    if sender is None and others:
        shown = ", ".join(escape(number(other)) for other in others)
        hint = f" It is opted out of {shown}: use `sender=` with that number, or `sender=all`."
    return f"{national_format(phone)} was not opted out of {where}; nothing changed.{hint}"


def _opt_in_all(ctx: BotContext, phone: str, actor: Actor, reason: str) -> str:
    scopes = opted_out_scopes(ctx.consent.status(phone))
    if not scopes:
        return f"{national_format(phone)} is not opted out anywhere; nothing changed."
    lines = []
    for scope in scopes:
        where = "every number (account-wide)" if scope.sender is None else number(scope.sender)
        try:
            ctx.consent.opt_in(phone, scope.sender, actor, reason or None)
        except NotAllowed as exc:
            lines.append(f":lock: {escape(where)}: {_refused(phone, exc)}")
            continue
        lines.append(f":white_check_mark: {escape(where)}: opted back in.")
    return "\n".join(lines)


def _refused(phone: str, exc: NotAllowed) -> str:
    return (
        f"{national_format(phone)} opted out by text, so an agent cannot opt them back in. "
        f"{exc.message} Your attempt was recorded in the ledger."
    )


def card_reply(ctx: BotContext, phone: str, user_id: str, note: str = "") -> dict[str, Any]:
    """respond() arguments for the status card of a contact, with a note on top."""
    status = ctx.consent.status(phone)
    events = ctx.consent.events(phone, limit=10)
    # Ask Slack about the user group only when there is something this agent could lift.
    may_opt_in = bool(opted_out_scopes(status)) and ctx.policy.allows(user_id)
    blocks = status_card(status, events, may_opt_in=may_opt_in)
    if note:
        blocks.insert(0, {"type": "section", "text": {"type": "mrkdwn", "text": note[:3000]}})
    return {"text": note or card_text(status), "blocks": blocks, "response_type": "ephemeral"}
