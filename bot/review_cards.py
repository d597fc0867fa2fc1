"""The review card: a possible opt-out in plain words, open with its buttons or decided."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.context import slack_user
from bot.text import escape, number, quote, when
from core.records import ReviewItem

OPT_OUT_ACTION = "review_opt_out"
NOT_OPT_OUT_ACTION = "review_not_opt_out"
ACTIONS_BLOCK = "review_actions"

Blocks = list[dict[str, Any]]


def review_card(item: ReviewItem, now: datetime) -> tuple[str, Blocks]:
    """The card's fallback text and blocks: with buttons while open, with the decision after."""
    if item.status != "open":
        return decided_card(item)
    blocks = [*_facts(item, now), _explanation(), _buttons(item)]
    return f":mag: Possible opt-out to review from {number(item.contact)}", blocks


def decided_card(item: ReviewItem) -> tuple[str, Blocks]:
    """The card once an agent decided: the same facts, the decision and who made it, no buttons."""
    line = decision_text(item)
    blocks = [*_facts(item, None), _section(line)]
    return line, blocks


def decision_text(item: ReviewItem) -> str:
    """What was decided, by whom and when, e.g. ':no_entry: Opted out by @ann on …'."""
    who = decider(item.decided_by)
    at = when(item.decided_at)
    if item.decision == "opt_out":
        return (
            f":no_entry: *Opted out* by {who}, {at}. Only the contact can undo this, "
            "by texting START."
        )
    if item.decision == "not_opt_out":
        return f":white_check_mark: *Not an opt-out*, decided by {who}, {at}. Nothing changed."
    return f"Closed ({escape(item.decision or 'no decision')}) by {who}, {at}."


def decider(actor_name: str | None) -> str:
    """Who decided: a Slack mention for an agent on Slack, else the recorded name."""
    user = slack_user(actor_name)
    if user:
        return f"<@{user}>"
    return f"`{_code(actor_name or 'unknown')}`"


def days_left(deadline: datetime, now: datetime) -> str:
    """How far off the deadline is in calendar days, e.g. 'in 14 days', 'today', 'overdue'."""
    days = (deadline.date() - now.date()).days
    if deadline <= now:
        return "overdue"
    if days <= 0:
        return "today"
    return f"in {days} day{'s' if days != 1 else ''}"


def _facts(item: ReviewItem, now: datetime | None) -> Blocks:
    # Everything the contact wrote is escaped: "<!channel>" in an SMS must never ping anyone.
    title = "Possible opt-out to review" if item.status == "open" else "Possible opt-out, reviewed"
    head = f":mag: *{title}* · review {item.id}\n>{quote(item.message_text)}"
    deadline = when(item.deadline)
    if now is not None and item.status == "open":
        deadline += f" ({days_left(item.deadline, now)})"
    fields = [
        f"*Contact*\n{number(item.contact)}",
        f"*Texted*\n{number(item.sender) if item.sender else 'the account'}",
        f"*Received*\n{when(item.opened_at)}",
        f"*Deadline*\n{deadline}",
    ]
    if item.phrase:
        fields.append(f"*Matched*\n`{_code(item.phrase)}`")
    return [
        _section(head),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]


def _explanation() -> dict[str, Any]:
    text = (
        "Decide by the deadline (10 business days after receipt, the FCC's limit). "
        "*Opt out* records the contact's own opt-out; *Not an opt-out* closes the item "
        "and changes nothing. The first agent to click decides."
    )
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _buttons(item: ReviewItem) -> dict[str, Any]:
    scope = f"texts from {number(item.sender)}" if item.sender else "any texts"
    confirm = {
        "title": {"type": "plain_text", "text": "Opt this contact out?"},
        "text": {
            "type": "mrkdwn",
            "text": f"{number(item.contact)} will get no more {scope}. "
            "Only the contact can undo this, by texting START.",
        },
        "confirm": {"type": "plain_text", "text": "Opt out"},
        "deny": {"type": "plain_text", "text": "Cancel"},
        "style": "danger",
    }
    return {
        "type": "actions",
        "block_id": ACTIONS_BLOCK,
        "elements": [
            {
                "type": "button",
                "action_id": OPT_OUT_ACTION,
                "text": {"type": "plain_text", "text": "Opt out"},
                "style": "danger",
                "value": str(item.id),
                "confirm": confirm,
            },
            {
                "type": "button",
                "action_id": NOT_OPT_OUT_ACTION,
                "text": {"type": "plain_text", "text": "Not an opt-out"},
                "value": str(item.id),
            },
        ],
    }


def _code(text: str) -> str:
    # Inside `code`: escaped, and without a backtick that would end it early.
    return escape(text).replace("`", "'")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}
