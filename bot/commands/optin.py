"""/optin PHONE [sender=PHONE|all] [reason…]: an allowed agent opts a contact back in."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot import changes
from bot.args import parse, sender_option
from bot.context import BotContext, agent
from bot.replies import failure, usage_problem
from core.errors import StoplineError
from core.phone import national_format

COMMAND = "/optin"
log = logging.getLogger(__name__)


def register(app: App, ctx: BotContext) -> None:
    """Attach /optin."""

    @app.command(COMMAND)
    def optin(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        region = ctx.region
        try:
            args = parse(command.get("text"), options={"sender"}, region=region)
            sender = sender_option(args, region, allow_all=True)
        except StoplineError as exc:
            ack(text=usage_problem(COMMAND, exc))
            return
        assert args.phone is not None
        ack(text=f"Opting {national_format(args.phone)} back in…")
        user = command["user_id"]
        # Checked after ack(): a user group lookup may take longer than Slack's 3 seconds.
        if not ctx.policy.allows(user):
            log.warning("refused /optin of %s by Slack user %s: not allowed", args.phone, user)
            respond(text=f":lock: Nothing was changed. {ctx.policy.explain()}")
            return
        actor = agent(command.get("team_id"), user)
        try:
            note = changes.opt_in(ctx, args.phone, sender, actor, args.rest)
            respond(**changes.card_reply(ctx, args.phone, user, note))
        except StoplineError as exc:
            respond(text=failure(exc))
