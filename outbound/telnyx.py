"""Telnyx's Messaging API v2: POST {TELNYX_API_URL}messages with a Bearer API key."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from core.carrier_settings import CarrierSettings
from core.model import Reply
from outbound.http import field, join, new_session, post_json, secret

# Telnyx's documented Idempotency-Key format; any other key is sent as its sha256, which is
# as stable across attempts and fits it.
_KEY = re.compile(r"[A-Za-z0-9_:-]{1,255}")


class TelnyxSender:
    """Sends a reply through Telnyx (numbers in E.164, as Telnyx wrote them inbound)."""

    carrier = "telnyx"

    def __init__(self, api_key: str, api_url: str) -> None:
        self._key = api_key
        self.url = join(api_url, "messages")
        self._session = new_session()

    def send(self, reply: Reply) -> None:
        """Send the text once; SendFailed when Telnyx did not take it."""
        headers = {
            "Authorization": f"Bearer {self._key}",
            "Idempotency-Key": idempotency_key(reply.key),
        }
        body = {"from": reply.sender, "to": reply.contact, "text": reply.text}
        post_json(
            self._session,
            self.carrier,
            self.url,
            body,
            headers=headers,
            error_text=error_text,
            secrets=[self._key],
        )

    def close(self) -> None:
        """Close the HTTP connections kept open."""
        self._session.close()


def idempotency_key(key: str) -> str:
    """The reply's key as a valid Telnyx Idempotency-Key (its sha256 when it is not one)."""
    if _KEY.fullmatch(key):
        return key
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def error_text(payload: Any) -> str | None:
    """Telnyx's first error ({"errors": [{"code", "title", "detail"}]}) as one line."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list) or not errors:
        return None
    first = errors[0]
    parts = [field(first, "code"), field(first, "title"), field(first, "detail")]
    return " ".join(p for p in parts if p) or None


def from_settings(settings: CarrierSettings) -> TelnyxSender:
    """The sender for these settings (build_senders calls it only when the key is set)."""
    return TelnyxSender(secret(settings.telnyx_api_key), settings.telnyx_api_url)
