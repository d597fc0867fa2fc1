"""Slash commands, one module each; register() wires them all."""

from __future__ import annotations

from slack_bolt import App

from bot.commands import consent, export, optin, optout
from bot.context import BotContext


def register(app: App, ctx: BotContext) -> None:
    """Attach every slash command's listener."""
    for command in (optout, optin, consent, export):
        command.register(app, ctx)
