"""Helpers for the Sinch door's tests: its callbacks as Sinch posts them, with Basic credentials."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

from flask.testing import FlaskClient
from pydantic import SecretStr
from werkzeug.test import TestResponse

from core.config import Settings

HOOK = "/webhooks/sinch"
USERNAME = "sinch-callbacks"
PASSWORD = "test-sinch-password"
# As Sinch writes them: digits, no '+'.
CONTACT = "12065550123"
BUSINESS = "12065550100"
CONTACT_E164 = "+12065550123"
BUSINESS_E164 = "+12065550100"
# Crockford base32 without I, L, O, U: any counter in it is a well-formed ULID.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ids = itertools.count(1)


def new_id() -> str:
    """A fresh Sinch-like ULID (26 characters, upper-case Crockford base32)."""
    n, out = next(_ids), []
    for _ in range(16):
        n, digit = divmod(n, 32)
        out.append(_ALPHABET[digit])
    return "01JB1J1M5B" + "".join(reversed(out))


def with_sinch(settings: Settings) -> Settings:
    """The test settings with Sinch's callback credentials."""
    return settings.model_copy(
        update={"sinch_callback_username": USERNAME, "sinch_callback_password": SecretStr(PASSWORD)}
    )


def basic(user: str = USERNAME, password: str = PASSWORD) -> dict[str, str]:
    """The Authorization header Sinch sends with these credentials."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def mo_text(body: str, *, contact: str = CONTACT, sender: str = BUSINESS,
            message_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """An inbound text, as in Sinch's docs."""
    return {
        "type": "mo_text",
        "id": message_id or new_id(),
        "from": contact,
        "to": sender,
        "body": body,
        "received_at": "2026-12-08T03:00:00.000Z",
        "operator_id": "310260",
    }


def report(code: int, status: str = "Failed", *, recipient: str = CONTACT,
           batch_id: str | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    """A recipient_delivery_report_sms, as Sinch posts it for one recipient of a batch."""
    return {
        "type": "recipient_delivery_report_sms",
        "batch_id": batch_id or new_id(),
        "recipient": recipient,
        "code": code,
        "status": status,
        "at": "2026-12-08T03:00:01.000Z",
        "client_reference": "ref-1",
        **extra,
    }


def post(client: FlaskClient, event: dict[str, Any] | bytes, *,
         headers: dict[str, str] | None = None) -> TestResponse:  # fmt: skip
    """POST a callback with the right credentials unless other headers are given."""
    data = event if isinstance(event, bytes) else json.dumps(event).encode()
    return client.post(HOOK, data=data, content_type="application/json",
                       headers=basic() if headers is None else headers)  # fmt: skip
