"""The review card's buttons: the first agent to click Opt out or Not an opt-out decides."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import BotContext, agent, slack_user
from bot.review_cards import NOT_OPT_OUT_ACTION, OPT_OUT_ACTION, decided_card, decider
from bot.text import when
from core.errors import Conflict, StoplineError, answer_for
from core.records import ReviewItem

log = logging.getLogger(__name__)
MAX_ID_DIGITS = 18


def register(app: App, ctx: BotContext) -> None:
    """Attach the review card's two buttons."""

    @app.action(OPT_OUT_ACTION)
    def review_opt_out(ack: Any, body: dict[str, Any], client: WebClient, respond: Any) -> None:
        ack()
        decide(ctx, body, client, respond, opt_out=True)

    @app.action(NOT_OPT_OUT_ACTION)
    def review_not_opt_out(ack: Any, body: dict[str, Any], client: WebClient, respond: Any) -> None:
        ack()
        decide(ctx, body, client, respond, opt_out=False)


def decide(
    ctx: BotContext, body: dict[str, Any], client: WebClient, respond: Any, *, opt_out: bool
) -> None:
    """Record the clicking agent's decision and update the card; tell them if it was too late."""
    value = str(((body.get("actions") or [{}])[0]).get("value") or "").strip()
    if not value.isdigit() or len(value) > MAX_ID_DIGITS:
        _tell(respond, "This button does not name a review item, so nothing was decided. "
              "Open reviews are listed by GET /v1/reviews.")  # fmt: skip
        return
    review_id = int(value)
    user = body["user"]["id"]  # from the signed payload; user_name is never trusted
    team = (body.get("team") or {}).get("id") or body["user"].get("team_id")
    try:
        item = ctx.consent.decide_review(review_id, opt_out, agent(team, user))
    except Conflict as exc:
        _too_late(ctx, body, client, respond, review_id, exc)
        return
    except StoplineError as exc:
        _tell(respond, _NOT_DECIDED[answer_for(exc).slack](exc))
        return
    _update(body, client, respond, item)


def _too_late(
    ctx: BotContext,
    body: dict[str, Any],
    client: WebClient,
    respond: Any,
    review_id: int,
    conflict: Conflict,
) -> None:
    """Another agent decided first: say who, and show their decision on the card."""
    try:
        item = ctx.consent.review(review_id)
    except StoplineError:
        # The decision stands; only the card could not be refreshed.
        who = slack_user(conflict.decided_by)
        by = f" by <@{who}>" if who else ""
        _tell(respond, f"Review item {review_id} was already decided{by}. Your click changed "
              "nothing.")  # fmt: skip
        return
    verdict = "opted the contact out" if item.decision == "opt_out" else "marked it not an opt-out"
    _tell(respond, f"Review item {review_id} was already decided: {decider(item.decided_by)} "
          f"{verdict}, {when(item.decided_at)}. Your click changed nothing.")  # fmt: skip
    _update(body, client, respond, item)


def _update(body: dict[str, Any], client: WebClient, respond: Any, item: ReviewItem) -> None:
    """Replace the card with its decided form: chat.update, or the response_url if that fails."""
    text, blocks = decided_card(item)
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    if channel and ts:
        try:
            client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            return
        except SlackApiError as exc:
            log.warning("could not update review card %s: %s", item.id, exc.response.get("error"))
        except OSError as exc:
            log.warning("could not update review card %s: %s", item.id, exc)
    try:
        respond(text=text, blocks=blocks, replace_original=True)
    except Exception:  # the decision is recorded; a stale card is only cosmetic
        log.exception("could not replace review card %s", item.id)


# How core.errors.ANSWERS' Slack wordings read under a review card's button.
_NOT_DECIDED: dict[str, Callable[[StoplineError], str]] = {
    "ledger_down": lambda exc: (
        ":warning: The ledger could not be reached, so nothing was decided. "
        "Click again in a moment."
    ),
    # The rules engine or the like: the agent can simply click again.
    "ours": lambda exc: (
        ":warning: stopline could not decide this because of a problem on its side "
        f"({exc.message[:200]}); nothing was decided. Click again in a moment."
    ),
    "yours": lambda exc: f":warning: {_sentence(exc.message)} Nothing was decided.",
}


def _tell(respond: Any, text: str) -> None:
    """A message only the clicking agent sees."""
    respond(text=text, response_type="ephemeral", replace_original=False)


def _sentence(message: str) -> str:
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."
