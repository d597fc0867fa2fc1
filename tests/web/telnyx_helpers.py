"""Helpers for Telnyx tests: a test key pair, the events Telnyx posts, and signed requests."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

HOOK = "/webhooks/telnyx"
CONTACT = "+12065550123"
BUSINESS = "+12065550100"
PROFILE = "740572b6-099c-44a1-89b9-6c92163bc68d"

KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()


def public_b64(key: Ed25519PrivateKey = KEY) -> str:
    """The base64 public key, as Mission Control shows it."""
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def new_id() -> str:
    """A fresh Telnyx message id (a UUID)."""
    return str(uuid.uuid4())


def received(text: str, *, contact: Any = CONTACT, sender: Any = BUSINESS,
             message_id: str | None = None, attempt: int = 1) -> dict[str, Any]:  # fmt: skip
    """The message.received event Telnyx posts for one inbound SMS."""
    payload = {
        "record_type": "message", "direction": "inbound", "id": _id(message_id),
        "type": "SMS", "messaging_profile_id": PROFILE,
        "from": {"phone_number": contact, "carrier": "T-MOBILE USA, INC.", "line_type": "Wireless"},
        "to": [{"phone_number": sender, "status": "webhook_delivered"}],
        "text": text, "encoding": "GSM-7", "parts": 1,
    }  # fmt: skip
    return _event("message.received", payload, attempt)


def finalized(status: str, errors: list[Any] | None = None, *,
              event_type: str = "message.finalized", contact: Any = CONTACT,
              sender: Any = BUSINESS, message_id: str | None = None, attempt: int = 1,
              ) -> dict[str, Any]:  # fmt: skip
    """The status event of a message the business sent from `sender` to `contact`."""
    payload = {
        "record_type": "message", "direction": "outbound", "id": _id(message_id),
        "type": "SMS", "messaging_profile_id": PROFILE, "text": "Your order shipped",
        "from": {"phone_number": sender, "carrier": "Telnyx", "line_type": "Wireless"},
        "to": [{"phone_number": contact, "status": status}],
        "errors": errors or [],
    }  # fmt: skip
    return _event(event_type, payload, attempt)


def blocked(code: object = "40300") -> list[dict[str, Any]]:
    """The errors[] of a message Telnyx refused because the recipient texted STOP."""
    return [{"code": code, "title": "Blocked due to STOP message",
             "detail": "Messages cannot be sent due to an existing block rule."}]  # fmt: skip


def _id(message_id: str | None) -> str:
    return new_id() if message_id is None else message_id


def _event(event_type: str, payload: dict[str, Any], attempt: int) -> dict[str, Any]:
    data = {"record_type": "event", "id": str(uuid.uuid4()), "event_type": event_type,
            "occurred_at": "2026-12-08T03:00:00.000+00:00", "payload": payload}  # fmt: skip
    return {"data": data, "meta": {"attempt": attempt, "delivered_to": "https://x/hooks"}}


def sign(body: bytes, timestamp: str, key: Ed25519PrivateKey = KEY) -> str:
    """telnyx-signature-ed25519 for this body and timestamp, as Telnyx computes it."""
    return base64.b64encode(key.sign(timestamp.encode() + b"|" + body)).decode()


def post(client: FlaskClient, event: dict[str, Any] | bytes, *, timestamp: str | None = None,
         signature: str | None = None, key: Ed25519PrivateKey = KEY) -> TestResponse:  # fmt: skip
    """POST an event (or raw bytes) to the hook, signed now with `key` unless told otherwise."""
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    stamp = str(int(time.time())) if timestamp is None else timestamp
    headers = {
        "telnyx-timestamp": stamp,
        "telnyx-signature-ed25519": sign(body, stamp, key) if signature is None else signature,
    }
    return client.post(HOOK, data=body, content_type="application/json", headers=headers)
