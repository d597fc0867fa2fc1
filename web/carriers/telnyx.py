"""Telnyx's door: one URL for its JSON events (texts received, statuses of sent messages)."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Blueprint, Request, Response

from core.carriers import OPTED_OUT_CODES, TELNYX, MissingField, NotACarrierDelivery
from core.config import Settings
from core.errors import InvalidInput
from core.model import DeliveryStatus, InboundMessage
from web.carrier_door import Delivery, Handled, Refusal, door, empty_answer

bp = Blueprint("telnyx", __name__)
log = logging.getLogger(__name__)

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"
TOLERANCE = 300  # seconds either way, as telnyx-python's TIMESTAMP_TOLERANCE_SECONDS
MAX_TIMESTAMP_DIGITS = 12  # Unix seconds have 10 digits until the year 2286
MAX_SIGNATURE_CHARS = 128  # base64 of 64 bytes is 88 characters
STATUS_EVENTS = ("message.sent", "message.finalized")
# Third-party code warns that an asynchronous refusal may carry the title without the code.
OPTED_OUT_TITLES = {title.casefold(): code for code, title in OPTED_OUT_CODES["telnyx"].items()}

_BAD_SIGNATURE = Refusal(
    403,
    "invalid_signature",
    f"{SIGNATURE_HEADER} is missing or does not match this request's {TIMESTAMP_HEADER} and "
    "body. Check TELNYX_PUBLIC_KEY (Mission Control, Keys & Credentials, Public Key).",
)
_STALE = Refusal(
    403,
    "stale_timestamp",
    f"{TIMESTAMP_HEADER} is missing, not Unix seconds, or more than {TOLERANCE} s from "
    "stopline's clock: a replayed or delayed request. Check the server's clock.",
)


@lru_cache(maxsize=8)
def public_key(value: str) -> Ed25519PublicKey:
    """TELNYX_PUBLIC_KEY as a key, built once per value; ValueError saying what is wrong."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not base64 (copy it from Keys & Credentials)") from None
    if len(raw) != 32:
        raise ValueError(f"decodes to {len(raw)} bytes, not the 32 of an Ed25519 public key")
    return Ed25519PublicKey.from_public_bytes(raw)


def fresh(timestamp: str, now: float) -> bool:
    """True for Unix seconds within TOLERANCE of now (never raises, whatever the header holds)."""
    # Bounded before int(): a 5,000-digit header would raise in int(), a 500 to anyone.
    if not 0 < len(timestamp) <= MAX_TIMESTAMP_DIGITS:
        return False
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    return abs(int(now) - int(timestamp)) <= TOLERANCE


def signature_refusal(
    key: Ed25519PublicKey, body: bytes, timestamp: str, signature: str, now: float
) -> Refusal | None:
    """None when `signature` is Telnyx's Ed25519 over "timestamp|body" and the timestamp fresh."""
    if not fresh(timestamp, now):
        return _STALE
    if not 0 < len(signature) <= MAX_SIGNATURE_CHARS:
        return _BAD_SIGNATURE
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, timestamp.encode() + b"|" + body)
    except (binascii.Error, ValueError, InvalidSignature):
        return _BAD_SIGNATURE
    return None


class TelnyxAdapter:
    """Telnyx's events at POST /webhooks/telnyx: message.received, .sent and .finalized."""

    name = "telnyx"
    replies_in_response = False  # Telnyx reads no reply in the answer: the outbox sends it

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.now = now

    def verify(self, settings: Settings, req: Request) -> Refusal | None:
        """None when the request carries Telnyx's fresh Ed25519 signature of its body."""
        try:
            key = public_key(settings.telnyx_public_key or "")
        except ValueError as exc:
            return Refusal(
                503,
                "telnyx_public_key_unusable",
                f"TELNYX_PUBLIC_KEY {exc}; set it to the base64 Public Key from Telnyx Mission "
                "Control (Keys & Credentials). Nothing was accepted or changed.",
            )
        return signature_refusal(
            key,
            req.get_data(cache=True),
            req.headers.get(TIMESTAMP_HEADER, ""),
            req.headers.get(SIGNATURE_HEADER, ""),
            self.now(),
        )

    def parse(self, settings: Settings, req: Request) -> Delivery:
        """The text or the status in a signed Telnyx event; nothing for other event types."""
        data = _object(_load(req.get_data(cache=True)), "data")
        event_type = data.get("event_type")
        if not isinstance(event_type, str):
            raise MissingField("Required Telnyx field missing: data.event_type.")
        if event_type != "message.received" and event_type not in STATUS_EVENTS:
            return Delivery()  # other events (calls, numbers...) are acknowledged and ignored
        payload = _object(data, "payload", "data.")
        message_id = payload.get("id")
        if not isinstance(message_id, str):
            raise MissingField("Required Telnyx field missing: data.payload.id.")
        TELNYX.check(message_id)
        their = _number(_object(payload, "from", "data.payload."), "data.payload.from")
        first = _first_to(payload)
        ours = _number(first, "data.payload.to[0]")
        now = datetime.now(UTC)
        if event_type == "message.received":
            text = payload.get("text")
            if text is not None and not isinstance(text, str):
                raise InvalidInput("data.payload.text is not a string")
            message = InboundMessage("telnyx", message_id, their, ours, text or "", now)
            return Delivery(messages=[message])
        # Sent by the business from `from` to the contact at to[0]: the reverse of a text.
        status = first.get("status")
        code = _code(payload.get("errors"), message_id)
        sent = DeliveryStatus("telnyx", message_id, ours, their,
                              status if isinstance(status, str) else "", code, now)  # fmt: skip
        return Delivery(statuses=[sent])

    def answer(self, handled: Handled, replies: bool) -> Response:
        """200 with an empty body: Telnyx takes replies through its API, never in the answer."""
        return empty_answer(handled, replies)


def _load(body: bytes) -> dict[str, Any]:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        # A repeated key is signed too; which value counts would be the sender's choice.
        counts = Counter(name for name, _ in items)  # linear: 64 KiB can hold 10,000 keys
        repeated = sorted({name[:40] for name, n in counts.items() if n > 1})
        if repeated:
            raise NotACarrierDelivery(
                "repeated JSON key(s) in a telnyx delivery",
                detail=f"The JSON key(s) {', '.join(repeated[:5])} appear more than once "
                "in one object; Telnyx sends each once, so the request was refused and nothing "
                "was stored.",
            )
        return dict(items)

    try:
        found = json.loads(body, object_pairs_hook=pairs)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise InvalidInput(
            "the Telnyx body is not JSON",
            detail="The signed body is not a JSON object (Telnyx posts JSON events), so the "
            "request was refused and nothing was stored.",
        ) from None
    if not isinstance(found, dict):
        raise InvalidInput("the Telnyx body is not a JSON object")
    return found


def _object(parent: dict[str, Any], name: str, prefix: str = "") -> dict[str, Any]:
    found = parent.get(name)
    if not isinstance(found, dict):
        raise MissingField(f"Required Telnyx field missing: {prefix}{name} (an object).")
    return found


def _first_to(payload: dict[str, Any]) -> dict[str, Any]:
    to = payload.get("to")
    if not isinstance(to, list) or not to or not isinstance(to[0], dict):
        raise MissingField("Required Telnyx field missing: data.payload.to[0].")
    first: dict[str, Any] = to[0]
    return first


def _number(holder: dict[str, Any], where: str) -> str:
    # Kept as Telnyx wrote it (no "+", national, alphanumeric): the core normalises it.
    number = holder.get("phone_number")
    if isinstance(number, int) and not isinstance(number, bool):
        return str(number)
    if not isinstance(number, str):
        raise MissingField(f"Required Telnyx field missing: {where}.phone_number.")
    return number


def _code(errors: object, message_id: str) -> str | None:
    """The first opted-out code in errors[] (by code or title), else the first code, else None."""
    codes: list[str] = []
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        raw, title = error.get("code"), error.get("title")
        code = str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
        if code in OPTED_OUT_CODES["telnyx"]:
            return code
        by_title = OPTED_OUT_TITLES.get(title.strip().casefold() if isinstance(title, str) else "")
        if by_title is not None and isinstance(title, str):
            log.warning("telnyx error %r on message %s is titled %r: taken as %s",
                        code[:20], message_id, title[:80], by_title)  # fmt: skip
            return by_title
        if code:
            codes.append(code)
    return codes[0] if codes else None


door(bp, "/webhooks/telnyx", TelnyxAdapter(), "inbound")
