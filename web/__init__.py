"""stopline's HTTP face: the Twilio hook, the consent API and the operations endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from web.app import create_app


def __getattr__(name: str) -> Any:
    # Flask is imported with the app, not with the package: the CLI prints the API's JSON
    # (web.serialize) and starts without it.
    if name == "create_app":
        from web.app import create_app

        return create_app
    raise AttributeError(f"module 'web' has no attribute {name!r}")


__all__ = ["create_app"]
