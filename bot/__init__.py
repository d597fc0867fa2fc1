"""The Slack bot for support agents: slash commands, status cards, review cards, exports."""

from bot.app import create_bolt_app

__all__ = ["create_bolt_app"]
