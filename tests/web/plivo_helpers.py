"""Plivo test helpers: V3-signed forms, posted as Plivo posts them, and Plivo XML read back."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

PLIVO_TOKEN = "test-plivo-token"
HOOK = "/webhooks/plivo"
STATUS_HOOK = "/webhooks/plivo/status"
BASE = "http://localhost"
CONTACT = "14155550100"  # as Plivo writes numbers: no '+'
CONTACT_KEY = "+14155550100"
BUSINESS = "14155550199"
BUSINESS_KEY = "+14155550199"
NONCE = "12345678901234567890"

_uuids = itertools.count(1)
Form = Mapping[str, str] | MultiDict[str, str]


def new_uuid() -> str:
    """A fresh Plivo-like MessageUUID."""
    return f"5a1c0000-0000-11f0-8000-{next(_uuids):012x}"


def sms(text: str, intent: str = "", *, contact: str = CONTACT, sender: str = BUSINESS,
        uuid: str | None = None) -> dict[str, str]:  # fmt: skip
    """The form Plivo posts to the message URL for one inbound SMS."""
    return {
        "From": contact,
        "To": sender,
        "Text": text,
        "Type": "sms",
        "MessageUUID": uuid or new_uuid(),
        "MessageIntent": intent,
        "Units": "1",
        "TotalRate": "0.00000",
        "TotalAmount": "0.00000",
        "PowerpackUUID": "",
    }


def status(state: str, code: str = "", *, uuid: str | None = None, contact: str = CONTACT,
           sender: str = BUSINESS) -> dict[str, str]:  # fmt: skip
    """The form Plivo posts to a send's status URL (To is the recipient, From the business)."""
    message_uuid = uuid or new_uuid()
    return {
        "MessageUUID": message_uuid,
        "ParentMessageUUID": message_uuid,
        "To": contact,
        "From": sender,
        "Type": "sms",
        "Status": state,
        "ErrorCode": code,
        "Units": "1",
        "MCC": "310",
        "MNC": "260",
        "Sequence": "1",
    }


def sign(params: Form, url: str, token: str = PLIVO_TOKEN, nonce: str = NONCE) -> str:
    """X-Plivo-Signature-V3 for a POST, written out independently of the adapter's code."""
    pairs = params.items(multi=True) if isinstance(params, MultiDict) else params.items()
    path, _, query = url.partition("?")
    signed = path
    form = "".join(k + v for k, v in sorted(pairs))
    if query:
        sorted_query = "&".join(sorted(query.split("&")))
        signed += "?" + sorted_query + ("." if form else "")
    elif form:
        signed += "?"
    signed += form + "." + nonce
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def post(client: FlaskClient, params: Form, hook: str = HOOK, *, signature: str | None = None,
         nonce: str = NONCE, ma: bool = False, signed: bool = True) -> TestResponse:  # fmt: skip
    """POST a form to a Plivo door, V3-signed (or with the MA-V3 headers) unless told otherwise."""
    prefix = "X-Plivo-Signature-MA-V3" if ma else "X-Plivo-Signature-V3"
    headers = {}
    if signed or signature is not None:
        headers[prefix] = signature if signature is not None else sign(params, BASE + hook)
        headers[prefix + "-Nonce"] = nonce
    data = params if isinstance(params, MultiDict) else dict(params)
    return client.post(hook, data=data, headers=headers)


def replies(response: TestResponse) -> list[tuple[str, str, str]]:
    """The (src, dst, text) of each <Message> in a Plivo XML answer."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    return [(m.get("src", ""), m.get("dst", ""), m.text or "") for m in root.findall("Message")]


def v3_headers(params: Form, url: str) -> dict[str, str]:
    """The V3 signature and nonce headers for a form posted to `url`."""
    return {"X-Plivo-Signature-V3": sign(params, url), "X-Plivo-Signature-V3-Nonce": NONCE}
