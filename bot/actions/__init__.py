"""Button clicks, one module per card; register() wires them all."""

from __future__ import annotations

from slack_bolt import App

from bot.actions import card, review
from bot.context import BotContext


def register(app: App, ctx: BotContext) -> None:
    """Attach every button's listener."""
    for surface in (card, review):
        surface.register(app, ctx)
