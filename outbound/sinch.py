"""Sinch's XMS API v1: POST {SINCH_API_URL}{service plan id}/batches with a Bearer token."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from core.carrier_settings import CarrierSettings
from core.model import Reply
from outbound.http import field, join, new_session, post_json, secret


class SinchSender:
    """Sends a reply through Sinch XMS (numbers as Sinch wrote them; key in client_reference)."""

    carrier = "sinch"

    def __init__(self, service_plan_id: str, api_token: str, api_url: str) -> None:
        self._token = api_token
        self.url = join(api_url, quote(service_plan_id, safe=""), "batches")
        self._session = new_session()

    def send(self, reply: Reply) -> None:
        """Send the text once; SendFailed when Sinch did not take it."""
        body = {
            "from": reply.sender,
            "to": [reply.contact],
            "body": reply.text,
            "client_reference": reply.key,
        }
        post_json(
            self._session,
            self.carrier,
            self.url,
            body,
            headers={"Authorization": f"Bearer {self._token}"},
            error_text=error_text,
            secrets=[self._token],
        )

    def close(self) -> None:
        """Close the HTTP connections kept open."""
        self._session.close()


def error_text(payload: Any) -> str | None:
    """Sinch's error ({"code", "text"}) as one line."""
    parts = [field(payload, "code"), field(payload, "text")]
    return " ".join(p for p in parts if p) or None


def from_settings(settings: CarrierSettings) -> SinchSender:
    """The sender for these settings (build_senders calls it only when both are set)."""
    return SinchSender(
        settings.sinch_service_plan_id or "",
        secret(settings.sinch_api_token),
        settings.sinch_api_url,
    )
