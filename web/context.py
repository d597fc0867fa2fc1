"""Where a request finds the app's services, settings and metrics (set once by create_app)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

from core.config import Settings
from core.doors import DoorServices
from core.ports import Notices

if TYPE_CHECKING:
    from web.metrics import Metrics

_KEY = "stopline"


class AppState:
    """What every view needs, kept in app.extensions so many apps can live in one process."""

    def __init__(
        self,
        settings: Settings,
        services: DoorServices,
        metrics: Metrics,
        notifier: Notices | None = None,
    ) -> None:
        self.settings = settings
        self.services = services
        self.metrics = metrics
        self.notifier = notifier


def install(app: Flask, state: AppState) -> None:
    """Attach the state to an app."""
    app.extensions[_KEY] = state


def state() -> AppState:
    """The current app's state."""
    found: AppState = current_app.extensions[_KEY]
    return found
