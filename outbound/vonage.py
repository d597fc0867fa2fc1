"""Vonage's Messages API v1: POST {VONAGE_API_URL}messages, Basic auth with key and secret."""

from __future__ import annotations

from typing import Any

from core.carrier_settings import CarrierSettings
from core.model import Reply
from outbound.http import field, join, new_session, post_json, secret


class VonageSender:
    """Sends a reply through Vonage's Messages API (numbers without '+'; key in client_ref)."""

    carrier = "vonage"

    def __init__(self, api_key: str, api_secret: str, api_url: str) -> None:
        self._key = api_key
        self._secret = api_secret
        self.url = join(api_url, "messages")
        self._session = new_session((api_key, api_secret))

    def send(self, reply: Reply) -> None:
        """Send the text once; SendFailed when Vonage did not take it."""
        body = {
            "message_type": "text",
            "channel": "sms",
            "to": vonage_number(reply.contact),
            "from": vonage_number(reply.sender),
            "text": reply.text,
            "client_ref": reply.key,
        }
        post_json(
            self._session,
            self.carrier,
            self.url,
            body,
            error_text=error_text,
            secrets=[self._key, self._secret],
        )

    def close(self) -> None:
        """Close the HTTP connections kept open."""
        self._session.close()


def vonage_number(number: str) -> str:
    """A number as Vonage takes it: E.164 digits without the '+' (an alphanumeric id as is)."""
    rest = number[1:]
    return rest if number.startswith("+") and rest.isdigit() else number


def error_text(payload: Any) -> str | None:
    """Vonage's RFC 7807 problem ({"type", "title", "detail"}) as one line."""
    parts = [field(payload, "title"), field(payload, "detail"), field(payload, "type")]
    return " ".join(p for p in parts if p) or None


def from_settings(settings: CarrierSettings) -> VonageSender:
    """The sender for these settings (build_senders calls it only when both are set)."""
    return VonageSender(
        settings.vonage_api_key or "",
        secret(settings.vonage_api_secret),
        settings.vonage_api_url,
    )
