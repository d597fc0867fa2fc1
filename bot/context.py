"""What every listener needs, built once by create_bolt_app and passed to each register()."""

from __future__ import annotations

from dataclasses import dataclass

from bot.permissions import ExportPolicy, OptinPolicy
from core.config import Settings
from core.model import Actor, Source
from core.services import ConsentService


@dataclass
class BotContext:
    """Settings, the consent service, who may opt contacts back in and who may export."""

    settings: Settings
    consent: ConsentService
    policy: OptinPolicy
    exports: ExportPolicy | None = None  # built from the settings and `policy` when not given

    def __post_init__(self) -> None:
        if self.exports is None:
            self.exports = ExportPolicy(self.settings, self.policy)

    @property
    def region(self) -> str:
        """The region a number typed without a country code is read in (the one setting)."""
        return self.settings.default_region

    @property
    def export_policy(self) -> ExportPolicy:
        """Who may export the opted-out list."""
        assert self.exports is not None  # set by __post_init__
        return self.exports


def agent(team_id: str | None, user_id: str) -> Actor:
    """The ledger's actor for a Slack user: `slack:<team>:<user>` from the signed payload."""
    return Actor(Source.AGENT, f"slack:{team_id or '-'}:{user_id}")


def slack_user(actor_name: str | None) -> str | None:
    """The Slack user id inside an actor name written by agent(), else None."""
    if not actor_name or not actor_name.startswith("slack:"):
        return None
    user = actor_name.rsplit(":", 1)[-1]
    return user if user and user.isalnum() else None
