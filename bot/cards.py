"""The status card: consent per scope, who changed it and why, and what an agent can do."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.text import actor_text, escape, number, quote, when
from core.model import ConsentStatus, ScopeState, Source, Status
from core.phone import national_format
from core.records import ConsentEvent
from core.text import RESUBSCRIBE_WORDS

Block = dict[str, Any]
AGENT_MADE = frozenset({Source.AGENT, Source.API, Source.IMPORT})
SHOWN_EVENTS = 5
_ACTIONS = {
    "opt_out": "opted out",
    "opt_in": "opted in",
    "review_opened": "review opened",
    "review_closed": "review closed",
    "refused": "refused",
}


def opted_out_scopes(status: ConsentStatus) -> list[ScopeState]:
    """The scopes in which the contact is opted out, account first."""
    return [scope for scope in status.scopes if scope.status is Status.OPTED_OUT]


def agent_may_lift(status: ConsentStatus) -> bool:
    """True when some opt-out was made by an agent, the API or an import (not by the contact)."""
    return any(scope.source in AGENT_MADE for scope in opted_out_scopes(status))


def headline(status: ConsentStatus) -> str:
    """One line: the number and whether it may be texted, opt-outs standing out at a glance."""
    shown = national_format(status.phone)
    blocked = opted_out_scopes(status)
    if any(scope.sender is None for scope in blocked):
        return f"⛔ {shown} — OPTED OUT of every number. Do not text."
    if blocked:
        count = len(blocked)
        return f"⛔ {shown} — OPTED OUT of {count} sender number{'s' if count > 1 else ''}"
    return f"✅ {shown} — subscribed"


def scope_line(scope: ScopeState) -> str:
    """One scope: where, status, since when, by whom, under which rule."""
    where = "*Account-wide* (every sender number)" if scope.sender is None else (
        f"*From {escape(number(scope.sender))}*"
    )  # fmt: skip
    opted_out = scope.status is Status.OPTED_OUT
    state = ":no_entry: opted out" if opted_out else ":white_check_mark: subscribed"
    line = (
        f"{state} · {where}\nsince {when(scope.since)} by {actor_text(scope.source, scope.actor)}"
    )
    if scope.source is Source.CONTACT and scope.message_text:
        line += f", who texted {quote(scope.message_text)}"
    if scope.keyword:
        line += f" (keyword `{escape(scope.keyword)}`)"
    if scope.rule:
        line += f"\nrule `{escape(scope.rule)}`"
    if opted_out and scope.source is Source.CONTACT:
        line += f" · only the contact can undo this, by texting {RESUBSCRIBE_WORDS}"
    return line


def event_line(event: ConsentEvent) -> str:
    """One event of the history, short."""
    where = "account-wide" if event.sender is None else f"from {national_format(event.sender)}"
    what = _ACTIONS.get(event.action.value, event.action.value)
    line = f"{when(event.at)} · {what} {where} by {actor_text(event.source, event.actor)}"
    if event.message_text and event.source is Source.CONTACT:
        line += f": {quote(event.message_text, 80)}"
    elif event.reason:
        line += f": {escape(event.reason[:80])}"
    return line


def status_card(
    status: ConsentStatus, events: Sequence[ConsentEvent], *, may_opt_in: bool
) -> list[Block]:
    """The Block Kit blocks of a contact's status card."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline(status)[:150]}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Number*\n{escape(national_format(status.phone))}"},
                {"type": "mrkdwn", "text": f"*E.164*\n`{status.phone}`"},
            ],
        },
    ]
    if not status.scopes:
        blocks.append(_text("No opt-out or opt-in on record: texts may be sent."))
    blocks.extend(_text(scope_line(scope)) for scope in status.scopes)
    if events:
        lines = [event_line(event) for event in events[:SHOWN_EVENTS]]
        blocks.append(
            {"type": "context", "elements": [_mrkdwn("*Last events*\n" + "\n".join(lines))]}
        )
    buttons = _buttons(status, may_opt_in)
    if buttons:
        blocks.append({"type": "actions", "block_id": "consent_actions", "elements": buttons})
    return blocks


def card_text(status: ConsentStatus) -> str:
    """The plain-text fallback of a card (notifications, screen readers)."""
    return headline(status)


def _buttons(status: ConsentStatus, may_opt_in: bool) -> list[Block]:
    shown = national_format(status.phone)
    buttons: list[Block] = []
    if not any(s.sender is None and s.status is Status.OPTED_OUT for s in status.scopes):
        buttons.append(_button(
            "card_opt_out", "Opt out", "danger", {"phone": status.phone},
            "Opt out this contact?",
            f"{shown} will get no more texts from any of your numbers. "
            "Only an agent allowed to opt in, or the contact, can undo it.",
            "Opt out",
        ))  # fmt: skip
    if may_opt_in and agent_may_lift(status):
        buttons.append(_button(
            "card_opt_in", "Opt in", "primary", {"phone": status.phone, "sender": "all"},
            "Opt this contact back in?",
            f"Lifts the opt-outs of {shown} made by agents, the API or an import. "
            "Only do this when the contact asked to get texts again.",
            "Opt in",
        ))  # fmt: skip
    return buttons


def _button(
    action_id: str, label: str, style: str, value: dict[str, str],
    title: str, question: str, confirm: str,
) -> Block:  # fmt: skip
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "style": style,
        "value": json.dumps(value, separators=(",", ":")),
        "confirm": {
            "title": {"type": "plain_text", "text": title},
            "text": {"type": "mrkdwn", "text": question},
            "confirm": {"type": "plain_text", "text": confirm},
            "deny": {"type": "plain_text", "text": "Cancel"},
            "style": style,
        },
    }


def _text(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text[:3000])}


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text[:3000]}
