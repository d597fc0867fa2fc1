"""What every listener needs, built once by create_bolt_app and passed to each register()."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.config import Settings
from core.model import Actor, Source
from core.services import ConsentService

if TYPE_CHECKING:
    from bot.permissions import OptinPolicy


@dataclass
class BotContext:
    """Settings, the consent service and who may opt contacts back in."""

    settings: Settings
    consent: ConsentService
    policy: OptinPolicy


def agent(team_id: str | None, user_id: str) -> Actor:
    """The ledger's actor for a Slack user: `slack:<team>:<user>` from the signed payload."""
    return Actor(Source.AGENT, f"slack:{team_id or '-'}:{user_id}")


def slack_user(actor_name: str | None) -> str | None:
    """The Slack user id inside an actor name written by agent(), else None."""
    if not actor_name or not actor_name.startswith("slack:"):
        return None
    user = actor_name.rsplit(":", 1)[-1]
    return user if user and user.isalnum() else None
