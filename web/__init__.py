"""stopline's HTTP face: the Twilio hook, the consent API and the operations endpoints."""

from web.app import create_app

__all__ = ["create_app"]
