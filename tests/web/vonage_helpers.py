"""Helpers for the Vonage door's tests: Messages API webhooks signed as Vonage signs them."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import uuid
from typing import Any

import jwt
from flask.testing import FlaskClient
from pydantic import SecretStr
from werkzeug.test import TestResponse

from core.config import Settings

SECRET = "test-vonage-signature-secret-" + "0123456789" * 4  # 64+ bytes: HS512 tests too
HOOK = "/webhooks/vonage"
STATUS_HOOK = "/webhooks/vonage/status"
CONTACT = "447911123456"  # an MSISDN: Vonage writes numbers without '+'
CONTACT_E164 = "+447911123456"
BUSINESS = "447700900001"
BUSINESS_KEY = "+447700900001"  # the ledger's key for it (phonenumbers knows no such range)
OTHER_BUSINESS_KEY = "+447700900002"

_ids = itertools.count(1)


def vonage_settings(settings: Settings) -> Settings:
    """The test settings with Vonage's door on (its secret) and its replies' credentials."""
    return settings.model_copy(
        update={
            "vonage_signature_secret": SecretStr(SECRET),
            "vonage_api_key": "abcd1234",
            "vonage_api_secret": SecretStr("test-vonage-api-secret"),
        }
    )


def new_uuid() -> str:
    """A fresh message_uuid."""
    return str(uuid.UUID(int=next(_ids) + 0xAAAA << 64))


def inbound(text: str, *, contact: str = CONTACT, sender: str = BUSINESS,
            message_uuid: str | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    """The JSON the Messages API posts for one inbound SMS (v1)."""
    return {
        "channel": "sms",
        "message_uuid": message_uuid or new_uuid(),
        "to": sender,
        "from": contact,
        "text": text,
        "timestamp": "2026-12-08T03:00:00Z",
        "message_type": "text",
        "sms": {"num_messages": "1", "keyword": text.split()[0].upper() if text.split() else ""},
        **extra,
    }


def status(state: str, *, error: int | None = None, contact: str = CONTACT,
           sender: str = BUSINESS, message_uuid: str | None = None,
           **extra: Any) -> dict[str, Any]:  # fmt: skip
    """The JSON the Messages API posts for the status of a message the business sent."""
    payload: dict[str, Any] = {
        "message_uuid": message_uuid or new_uuid(),
        "to": contact,
        "from": sender,
        "timestamp": "2026-12-08T03:00:01Z",
        "status": state,
        "channel": "sms",
        "usage": {"currency": "EUR", "price": "0.0333"},
        **extra,
    }
    if error is not None:
        payload["error"] = {
            "type": f"https://developer.vonage.com/api-errors/messages#{error}",
            "title": "Illegal Number" if error == 1240 else "Some error",
            "detail": "The message was rejected.",
            "instance": "bf0ca0bf927b3b52e3cb03217e1a1ddf",
        }
    return payload


def body_of(payload: Any) -> bytes:
    """The raw body Vonage would send for a payload."""
    return json.dumps(payload, separators=(",", ":")).encode()


def token(body: bytes | None, *, secret: str = SECRET, algorithm: str = "HS256",
          **claims: Any) -> str:  # fmt: skip
    """A JWT as Vonage signs a webhook: iat, jti, iss, and payload_hash of `body` (None: none)."""
    base: dict[str, Any] = {
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "api_key": "abcd1234",
        "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    }
    if body is not None:
        base["payload_hash"] = hashlib.sha256(body).hexdigest()
    base.update(claims)
    return jwt.encode(base, secret, algorithm=algorithm)


def post(client: FlaskClient, payload: Any, *, path: str = HOOK, raw: bytes | None = None,
         authorization: str | None = None) -> TestResponse:  # fmt: skip
    """POST a webhook, signed for its exact body unless `authorization` says otherwise."""
    body = raw if raw is not None else body_of(payload)
    header = authorization if authorization is not None else f"Bearer {token(body)}"
    headers = {"Authorization": header} if header else {}
    return client.post(path, data=body, content_type="application/json", headers=headers)
