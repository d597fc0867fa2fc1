"""What the doors (web, bot) are handed by the composition root: no storage, no rules engine."""

from __future__ import annotations

from typing import Protocol

from core.config import Settings
from core.ports import RulesInfo
from core.services import ConsentService


class DoorServices(Protocol):
    """The settings, the consent service and what the doors read of the rules in force.

    Read-only properties, so the composition root's richer bundle (stopline.wiring.Services,
    with the database and the rules holder) fits wherever a door asks for this.
    """

    @property
    def settings(self) -> Settings:
        """The settings every door was built with."""
        ...

    @property
    def consent(self) -> ConsentService:
        """The service layer every request goes through."""
        ...

    @property
    def rules(self) -> RulesInfo:
        """The rules in force, as /healthz and /metrics show them."""
        ...
