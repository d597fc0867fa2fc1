"""Twilio's JSON bodies: the signature covers the URL, whose bodySHA256 is the body's SHA-256."""

from __future__ import annotations

import hashlib
import json

import pytest
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from stopline.wiring import Services
from tests.web.helpers import BUSINESS, CONTACT, TWILIO_TOKEN, messages, new_sid

# twilio-python's own test vector (tests/unit/test_request_validator.py).
VECTOR_BODY = '{"property": "value", "boolean": true}'
VECTOR_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"


def test_the_published_body_hash_vector() -> None:
    assert hashlib.sha256(VECTOR_BODY.encode()).hexdigest() == VECTOR_HASH
    url = f"https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256={VECTOR_HASH}"
    assert RequestValidator("12345").compute_signature(url, {}) == "a9nBmqA0ju/hNViExpshrM61xv4="


def post_json(client: FlaskClient, fields: dict[str, str], *, body: bytes | None = None,
              hash_of: bytes | None = None, path: str = "/webhooks/twilio"):  # type: ignore[no-untyped-def]  # fmt: skip
    raw = body if body is not None else json.dumps(fields).encode()
    digest = hashlib.sha256(hash_of if hash_of is not None else raw).hexdigest()
    url = f"http://localhost{path}?bodySHA256={digest}"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, {})
    return client.post(f"{path}?bodySHA256={digest}", data=raw, content_type="application/json",
                       headers={"X-Twilio-Signature": signature})  # fmt: skip


def stop_fields(text: str = "STOP") -> dict[str, str]:
    return {"From": CONTACT, "To": BUSINESS, "Body": text, "MessageSid": new_sid()}


def test_a_signed_json_stop_opts_out(client: FlaskClient, services: Services) -> None:
    replies = messages(post_json(client, stop_fields()))
    assert replies and "unsubscribed" in replies[0]
    assert not services.consent.status(CONTACT, BUSINESS).can_send


def test_a_body_changed_after_signing_is_refused(client: FlaskClient, services: Services) -> None:
    signed = json.dumps(stop_fields("hello")).encode()
    tampered = json.dumps(stop_fields()).encode()
    assert post_json(client, {}, body=tampered, hash_of=signed).status_code == 403
    assert services.consent.events(CONTACT) == []


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"From": 1}', b"\xff"])
def test_a_signed_body_that_is_no_twilio_json_is_a_400(client: FlaskClient, body: bytes) -> None:
    response = post_json(client, {}, body=body)
    assert response.status_code == 400, response.get_data(as_text=True)


def test_a_json_status_callback_with_21610_is_recorded(
    client: FlaskClient, services: Services
) -> None:
    fields = {"MessageSid": new_sid(), "MessageStatus": "failed", "ErrorCode": "21610",
              "To": CONTACT, "From": BUSINESS}  # fmt: skip
    assert post_json(client, fields, path="/webhooks/twilio/status").status_code == 200
    assert not services.consent.status(CONTACT, BUSINESS).can_send
