"""The status card's Opt out / Opt in buttons: rights re-checked on every click."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot import changes
from bot.context import BotContext, agent
from bot.replies import failure
from core.errors import InvalidInput, StoplineError
from core.phone import normalize_phone

log = logging.getLogger(__name__)


def register(app: App, ctx: BotContext) -> None:
    """Attach the card's buttons."""

    @app.action("card_opt_out")
    def card_opt_out(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        user, team = body["user"]["id"], (body.get("team") or {}).get("id")
        try:
            phone = _phone(ctx, action)
            note = changes.opt_out(ctx, phone, None, agent(team, user), "status card")
            respond(replace_original=True, **changes.card_reply(ctx, phone, user, note))
        except StoplineError as exc:
            respond(text=failure(exc), replace_original=False)

    @app.action("card_opt_in")
    def card_opt_in(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        user, team = body["user"]["id"], (body.get("team") or {}).get("id")
        # The button is shown only to allowed agents, but a click is checked again all the same.
        if not ctx.policy.allows(user):
            log.warning("refused a card opt-in by Slack user %s: not allowed", user)
            respond(
                text=f":lock: Nothing was changed. {ctx.policy.explain()}", replace_original=False
            )
            return
        try:
            phone = _phone(ctx, action)
            note = changes.opt_in(ctx, phone, changes.ALL, agent(team, user), "status card")
            respond(replace_original=True, **changes.card_reply(ctx, phone, user, note))
        except StoplineError as exc:
            respond(text=failure(exc), replace_original=False)


def _phone(ctx: BotContext, action: dict[str, Any]) -> str:
    try:
        value = json.loads(action.get("value") or "")
        return normalize_phone(value["phone"], ctx.region)
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("this button is out of date; run /consent again") from None
