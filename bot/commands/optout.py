"""/optout PHONE [sender=PHONE] [reason…]: an agent opts a contact out."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot import changes
from bot.args import parse, sender_option
from bot.context import BotContext, agent
from bot.replies import failure, usage_problem
from core.errors import StoplineError
from core.phone import national_format

COMMAND = "/optout"


def register(app: App, ctx: BotContext) -> None:
    """Attach /optout."""

    @app.command(COMMAND)
    def optout(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        region = ctx.region
        try:
            args = parse(command.get("text"), options={"sender"}, region=region)
            sender = sender_option(args, region)
        except StoplineError as exc:
            ack(text=usage_problem(COMMAND, exc))
            return
        assert args.phone is not None
        ack(text=f"Opting out {national_format(args.phone)}…")
        actor = agent(command.get("team_id"), command["user_id"])
        try:
            note = changes.opt_out(ctx, args.phone, sender, actor, args.rest)
            respond(**changes.card_reply(ctx, args.phone, command["user_id"], note))
        except StoplineError as exc:
            respond(text=failure(exc))
