"""Channel notices: a contact's opt-out or opt-in by text, and review cards (helper C owns this)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from core.config import Settings
from core.model import InboundMessage, Outcome

if TYPE_CHECKING:
    from stopline.bootstrap import Services


class Notifier(Protocol):
    """Posts to STOPLINE_SLACK_CHANNEL after a text was recorded; never blocks, never raises."""

    def message_received(self, message: InboundMessage, outcome: Outcome) -> None:
        """Queue the notice or review card this outcome calls for, if any."""
        ...

    def close(self) -> None:
        """Send what is queued (bounded wait) and stop."""
        ...


def build_notifier(settings: Settings, services: Services) -> Notifier | None:
    """The channel notifier, or None (TO BE WRITTEN by the notices/reviews work)."""
    return None
