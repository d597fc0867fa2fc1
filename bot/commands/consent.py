"""(being written)"""

from __future__ import annotations

from slack_bolt import App

from bot.context import BotContext


def register(app: App, ctx: BotContext) -> None:
    """Attach this module's listeners."""
