"""/consent PHONE: a contact's status card."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot import changes
from bot.args import parse
from bot.context import BotContext
from bot.errors import UsageError
from bot.replies import failure, usage_problem
from core.errors import StoplineError

COMMAND = "/consent"


def register(app: App, ctx: BotContext) -> None:
    """Attach /consent."""

    @app.command(COMMAND)
    def consent(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        try:
            args = parse(command.get("text"), options=set(), region=ctx.region)
            if args.rest:
                raise UsageError(f"unexpected words after the number: “{args.rest[:60]}”")
        except StoplineError as exc:
            ack(text=usage_problem(COMMAND, exc))
            return
        assert args.phone is not None
        ack()
        try:
            respond(**changes.card_reply(ctx, args.phone, command["user_id"]))
        except StoplineError as exc:
            respond(text=failure(exc))
