"""Helpers for web tests: Twilio-signed requests and TwiML parsing."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

TWILIO_TOKEN = "test-twilio-token"
API_TOKEN = "test-api-token"
HOOK = "/webhooks/twilio"
HOOK_URL = "http://localhost" + HOOK
CONTACT = "+12065550123"
BUSINESS = "+12065550100"
OTHER_BUSINESS = "+14155550123"

_sids = itertools.count(1)
Form = Mapping[str, str] | MultiDict[str, str]


def new_sid() -> str:
    """A fresh Twilio-like message id."""
    return f"SM{next(_sids):032x}"


def sms(body: str, *, contact: str = CONTACT, sender: str = BUSINESS, sid: str | None = None
        ) -> dict[str, str]:  # fmt: skip
    """The form Twilio posts for one inbound SMS."""
    return {
        "From": contact,
        "To": sender,
        "Body": body,
        "MessageSid": sid or new_sid(),
        "AccountSid": "AC" + "0" * 32,
        "NumMedia": "0",
    }


def sign(params: Form, url: str = HOOK_URL, token: str = TWILIO_TOKEN) -> str:
    """X-Twilio-Signature for these params, as Twilio computes it."""
    # A MultiDict is passed as is so every value of a repeated name is signed.
    values = params if isinstance(params, MultiDict) else dict(params)
    return str(RequestValidator(token).compute_signature(url, values))


def post_sms(
    client: FlaskClient, params: Form, *, signed: bool = True, signature: str | None = None
) -> TestResponse:
    """POST a form to the hook, signed unless told otherwise."""
    headers = {}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    elif signed:
        headers["X-Twilio-Signature"] = sign(params)
    data = params if isinstance(params, MultiDict) else dict(params)
    return client.post(HOOK, data=data, headers=headers)


def messages(response: TestResponse) -> list[str]:
    """The <Message> texts of a TwiML answer."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    return [element.text or "" for element in root.findall("Message")]


def bearer(token: str = API_TOKEN) -> dict[str, str]:
    """The Authorization header for the API."""
    return {"Authorization": f"Bearer {token}"}
