"""Every carrier's inbound text as the carrier sends it, signed with test credentials.

Shared by the benchmarks (bench/carriers.py) and the drills (tests/reliability): one function
per carrier builds the path, body and headers of a genuine delivery of a contact's text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from twilio.request_validator import RequestValidator

TWILIO_TOKEN = "test-twilio-token"
TELNYX_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"stopline test key").digest())
TELNYX_PUBLIC = base64.b64encode(
    TELNYX_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
).decode()
PLIVO_TOKEN = "test-plivo-token"
BASIC_USER, BASIC_PASSWORD = "stopline-callbacks", "test-callback-password"
VONAGE_SECRET = "test-vonage-signature-secret-0123456789"

# The settings that turn every carrier's door on with the credentials above.
SETTINGS: dict[str, str] = {
    "twilio_auth_token": TWILIO_TOKEN,
    "telnyx_public_key": TELNYX_PUBLIC,
    "plivo_auth_id": "MA_TEST",
    "plivo_auth_token": PLIVO_TOKEN,
    "bandwidth_callback_username": BASIC_USER,
    "bandwidth_callback_password": BASIC_PASSWORD,
    "vonage_signature_secret": VONAGE_SECRET,
    "sinch_callback_username": BASIC_USER,
    "sinch_callback_password": BASIC_PASSWORD,
}
# The same as environment variables, for a `stopline serve` in a subprocess.
ENVIRONMENT: dict[str, str] = {name.upper(): value for name, value in SETTINGS.items()}


@dataclass(frozen=True)
class Request:
    """One HTTP request a carrier makes: where, what, and its headers."""

    path: str
    body: bytes
    headers: dict[str, str]


Build = Callable[[str, str, str, str, str], Request]  # (base, id, contact, sender, text)


def twilio(base: str, sid: str, contact: str, sender: str, text: str) -> Request:
    """Twilio's form, signed with X-Twilio-Signature."""
    form = {"From": contact, "To": sender, "Body": text, "MessageSid": sid,
            "AccountSid": "AC" + "0" * 32, "NumMedia": "0"}  # fmt: skip
    path = "/webhooks/twilio"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(base + path, form)
    return Request(path, urlencode(form).encode(), {
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})


def telnyx(base: str, sid: str, contact: str, sender: str, text: str) -> Request:
    """Telnyx's message.received event, signed with Ed25519 over timestamp|body."""
    event = {"data": {"event_type": "message.received", "id": str(uuid.uuid4()),
                      "occurred_at": "2026-12-08T10:00:00.000+00:00", "record_type": "event",
                      "payload": {"direction": "inbound", "id": sid, "type": "SMS",
                                  "from": {"phone_number": contact},
                                  "to": [{"phone_number": sender, "status": "webhook_delivered"}],
                                  "text": text, "record_type": "message"}},
             "meta": {"attempt": 1, "delivered_to": base + "/webhooks/telnyx"}}  # fmt: skip
    body = json.dumps(event).encode()
    stamp = str(int(time.time()))
    signature = base64.b64encode(TELNYX_KEY.sign(stamp.encode() + b"|" + body)).decode()
    return Request("/webhooks/telnyx", body, {"Content-Type": "application/json",
                   "telnyx-timestamp": stamp, "telnyx-signature-ed25519": signature})  # fmt: skip


def plivo(base: str, sid: str, contact: str, sender: str, text: str) -> Request:
    """Plivo's form (numbers without '+'), signed with X-Plivo-Signature-V3 and its nonce."""
    form = {"From": contact.lstrip("+"), "To": sender.lstrip("+"), "Text": text, "Type": "sms",
            "MessageUUID": sid, "Units": "1", "MessageIntent": ""}  # fmt: skip
    path = "/webhooks/plivo"
    nonce = uuid.uuid4().hex[:20]
    # As plivo-python's signature_v3 builds it: with a form and no query, the URL then "?".
    signed = base + path + "?" + "".join(k + form[k] for k in sorted(form)) + "." + nonce
    digest = hmac.new(PLIVO_TOKEN.encode(), signed.encode(), hashlib.sha256).digest()
    return Request(path, urlencode(form).encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Plivo-Signature-V3": base64.b64encode(digest).decode(),
        "X-Plivo-Signature-V3-Nonce": nonce})  # fmt: skip


def _basic() -> str:
    return "Basic " + base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()


def bandwidth(base: str, sid: str, contact: str, sender: str, text: str) -> Request:
    """Bandwidth's message-received callback (a JSON array), with the application's Basic auth."""
    event = [{"type": "message-received", "time": "2026-12-08T10:00:00.000Z", "to": sender,
              "description": "Incoming message received",
              "message": {"id": sid, "owner": sender, "applicationId": "app-1",
                          "time": "2026-12-08T10:00:00.000Z", "segmentCount": 1,
                          "direction": "in", "to": [sender], "from": contact, "text": text}}]
    return Request("/webhooks/bandwidth", json.dumps(event).encode(),
                   {"Content-Type": "application/json", "Authorization": _basic()})  # fmt: skip


def vonage(base: str, sid: str, contact: str, sender: str, text: str) -> Request:
    """Vonage's Messages API inbound SMS (MSISDNs), with a signed JWT carrying the body's hash."""
    event = {"channel": "sms", "message_uuid": sid, "to": sender.lstrip("+"),
             "from": contact.lstrip("+"), "timestamp": "2026-12-08T10:00:00Z",
             "message_type": "text", "text": text, "sms": {"num_messages": "1"}}  # fmt: skip
    body = json.dumps(event).encode()
    now = int(time.time())
    claims = {"iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), "iss": "Vonage",
              "payload_hash": hashlib.sha256(body).hexdigest(), "api_key": "test"}  # fmt: skip
    token = jwt.encode(claims, VONAGE_SECRET, algorithm="HS256")
    return Request("/webhooks/vonage", body, {"Content-Type": "application/json",
                   "Authorization": f"Bearer {token}"})  # fmt: skip


def sinch(base: str, sid: str, contact: str, sender: str, text: str) -> Request:
    """Sinch's mo_text callback (numbers without '+'), with Basic auth."""
    event = {"type": "mo_text", "id": sid, "from": contact.lstrip("+"), "to": sender.lstrip("+"),
             "body": text, "received_at": "2026-12-08T10:00:00.000Z"}  # fmt: skip
    return Request("/webhooks/sinch", json.dumps(event).encode(),
                   {"Content-Type": "application/json", "Authorization": _basic()})  # fmt: skip


CARRIERS: dict[str, Build] = {
    "twilio": twilio, "telnyx": telnyx, "plivo": plivo,
    "bandwidth": bandwidth, "vonage": vonage, "sinch": sinch,
}  # fmt: skip


def message_id(carrier: str, n: int, i: int) -> str:
    """A message id in the carrier's own format, distinct for each (n, i)."""
    if carrier == "twilio":
        return f"SM{n:016d}{i:016d}"
    if carrier in ("telnyx", "plivo", "vonage"):
        return str(uuid.UUID(int=(n << 32) | i))
    if carrier == "bandwidth":
        return f"{1700000000000 + n}{i:015d}x"  # 13 digits, then 16 lower-case letters/digits
    return f"01{n:012d}{i:012d}"  # sinch: 26 characters, Crockford base32 digits


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def fresh_id(carrier: str) -> str:
    """A new random message id in the carrier's own format."""
    random_id = uuid.uuid4()
    if carrier == "twilio":
        return "SM" + random_id.hex
    if carrier == "bandwidth":
        return f"{int(time.time() * 1000):013d}{random_id.hex[:16]}"
    if carrier == "sinch":
        bits = random_id.int
        return "01" + "".join(_CROCKFORD[(bits >> (5 * k)) & 31] for k in range(24))
    return str(random_id)
