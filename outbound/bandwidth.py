"""Bandwidth's Messaging API v2: POST {BANDWIDTH_API_URL}users/{account}/messages, Basic auth."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from core.carrier_settings import CarrierSettings
from core.model import Reply
from outbound.http import field, join, new_session, post_json, secret


class BandwidthSender:
    """Sends a reply through Bandwidth (numbers in E.164; the key goes in `tag`)."""

    carrier = "bandwidth"

    def __init__(
        self, account_id: str, application_id: str, username: str, password: str, api_url: str
    ) -> None:
        self._application_id = application_id
        self._username = username
        self._password = password
        self.url = join(api_url, "users", quote(account_id, safe=""), "messages")
        self._session = new_session((username, password))

    def send(self, reply: Reply) -> None:
        """Send the text once; SendFailed when Bandwidth did not take it."""
        # Bandwidth documents no idempotency key; `tag` comes back in its callbacks, so the
        # key at least ties a status to the reply that caused it.
        body = {
            "applicationId": self._application_id,
            "to": [reply.contact],
            "from": reply.sender,
            "text": reply.text,
            "tag": reply.key,
        }
        post_json(
            self._session,
            self.carrier,
            self.url,
            body,
            error_text=error_text,
            secrets=[self._username, self._password],
        )

    def close(self) -> None:
        """Close the HTTP connections kept open."""
        self._session.close()


def error_text(payload: Any) -> str | None:
    """Bandwidth's error ({"type", "description", "fieldErrors": [...]}) as one line."""
    if not isinstance(payload, dict):
        return None
    parts = [field(payload, "type"), field(payload, "description")]
    fields = payload.get("fieldErrors")
    if isinstance(fields, list):
        parts += [field(f, "fieldName", "field_name") for f in fields[:3]]
        parts += [field(f, "description") for f in fields[:3]]
    return " ".join(p for p in parts if p) or None


def from_settings(settings: CarrierSettings) -> BandwidthSender:
    """The sender for these settings (build_senders calls it only when all four are set)."""
    return BandwidthSender(
        settings.bandwidth_account_id or "",
        settings.bandwidth_application_id or "",
        settings.bandwidth_api_username or "",
        secret(settings.bandwidth_api_password),
        settings.bandwidth_api_url,
    )
