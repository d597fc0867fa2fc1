"""Sinch SMS (XMS): one door for a contact's text and a sent message's delivery report.

Sinch signs no SMS callback; the account manager sets up HTTP Basic credentials on them,
which is what is checked here. Replies go through Sinch's batches API (the outbox), so every
callback is answered 200 with an empty body.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Request, Response

from core.carriers import SINCH, SINCH_ULID, MissingField, NotACarrierDelivery
from core.config import Settings
from core.errors import InvalidInput, InvalidPhoneNumber
from core.model import ACCOUNT, DeliveryStatus, InboundMessage
from core.phone import carrier_number
from web.carrier_door import Delivery, Handled, Refusal, door, empty_answer
from web.carriers.basic import basic_ok, challenge_on_401

bp = Blueprint("sinch", __name__)
log = logging.getLogger(__name__)

# Callbacks Sinch sends that carry no contact's text and no per-recipient status: a binary or
# media text, and a batch's summary (no recipient, or a list under one id).
IGNORED = frozenset({"mo_binary", "mo_media", "delivery_report_sms", "delivery_report_mms",
                     "recipient_delivery_report_mms"})  # fmt: skip


class SinchAdapter:
    """Sinch's texts (mo_text) and per-recipient delivery reports, at POST /webhooks/sinch."""

    name = "sinch"
    replies_in_response = False

    def verify(self, settings: Settings, req: Request) -> Refusal | None:
        """None when the Basic credentials are SINCH_CALLBACK_USERNAME and _PASSWORD."""
        header = req.headers.get("Authorization", "")
        if basic_ok(header, settings.sinch_callback_username, settings.sinch_callback_password):
            return None
        return Refusal(
            401,
            "invalid_credentials",
            "The Basic credentials are missing or wrong. Give Sinch (through its support or "
            "account manager) SINCH_CALLBACK_USERNAME and SINCH_CALLBACK_PASSWORD for this "
            "callback URL.",
        )

    def parse(self, settings: Settings, req: Request) -> Delivery:
        """The text, or the delivery report, in a checked Sinch callback."""
        event = _json_object(req.get_data())
        kind = event.get("type")
        if not isinstance(kind, str) or not kind:
            raise MissingField("Required Sinch field missing: type.")
        if kind == "mo_text":
            return Delivery(messages=[_text(event)])
        if kind == "recipient_delivery_report_sms":
            return Delivery(statuses=[_report(event)])
        if kind in IGNORED:
            log.info("acknowledged a Sinch %s callback (not stored)", kind)
            return Delivery()
        shown = kind if len(kind) <= 40 else kind[:40] + "…"
        raise NotACarrierDelivery(
            f"unknown Sinch callback type {shown!r}",
            detail=f"type {shown!r} is not a Sinch SMS callback stopline reads (mo_text, "
            "recipient_delivery_report_sms, or the ignored mo_binary, mo_media, "
            "delivery_report_sms); nothing was stored.",
        )

    def answer(self, handled: Handled, replies: bool) -> Response:
        """200 with no body: Sinch takes no reply in the answer."""
        return empty_answer(handled, replies)


def _json_object(raw: bytes) -> dict[str, Any]:
    """The callback's JSON object; InvalidInput for anything else (bad JSON, repeated keys)."""
    try:
        event = json.loads(raw, object_pairs_hook=_no_repeats)
    except _Repeated as exc:
        raise NotACarrierDelivery(
            f"repeated key {exc.args[0]!r} in a Sinch callback",
            detail=f"The key {exc.args[0]!r} appears more than once; Sinch sends each once, "
            "so which one counts would be the sender's choice. Nothing was stored.",
        ) from None
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError among them
        raise InvalidInput(
            "the Sinch callback is not JSON",
            detail="The body is not a JSON object in UTF-8; Sinch sends one. Nothing was stored.",
        ) from None
    if not isinstance(event, dict):
        raise InvalidInput(
            "the Sinch callback is not a JSON object",
            detail="The body is JSON but not an object; Sinch sends one. Nothing was stored.",
        )
    return event


class _Repeated(Exception):
    pass


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Repeated(key[:40])
        found[key] = value
    return found


def _text(event: dict[str, Any]) -> InboundMessage:
    """An mo_text: from the contact to the business's number, numbers as Sinch wrote them."""
    _require(event, "id", "from", "to")
    if "body" not in event:  # an empty text is still a text; no body at all is no mo_text
        raise MissingField("Required Sinch field missing: body.")
    return InboundMessage(
        carrier="sinch",
        message_id=_ulid(event, "id"),
        contact=_number(event, "from"),
        sender=_number(event, "to"),
        body=_string(event, "body"),
        received_at=datetime.now(UTC),
    )


def _report(event: dict[str, Any]) -> DeliveryStatus:
    """A recipient_delivery_report_sms, keyed by batch and recipient (a batch has many)."""
    _require(event, "batch_id", "recipient", "status")
    batch, recipient = _ulid(event, "batch_id"), _number(event, "recipient")
    digits = re.sub(r"[^0-9]", "", recipient)[:37]  # the ledger's ids hold 64 characters
    code = event.get("code")
    return DeliveryStatus(
        carrier="sinch",
        message_id=f"{batch}-{digits}" if digits else batch,
        contact=recipient,
        sender=_originator(event),
        status=_string(event, "status"),
        code=None if code is None or isinstance(code, bool) else str(code)[:20],
        received_at=datetime.now(UTC),
    )


def _originator(event: dict[str, Any]) -> str:
    """The number the report names as the sender, else ACCOUNT: its opt-out covers them all.

    Sinch names it (applied_originator) only when it picked one from a default originator
    pool. An alphanumeric originator is no number the ledger keys, and refusing the report
    would lose the opt-out (Sinch does not retry a 4xx), so it too is taken as the account.
    """
    if not event.get("applied_originator"):
        return ACCOUNT
    originator = _number(event, "applied_originator")
    try:
        carrier_number(originator)
    except InvalidPhoneNumber:
        return ACCOUNT
    return originator


def _require(event: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if event.get(name) in (None, "")]
    if missing:
        raise MissingField(f"Required Sinch field(s) missing: {', '.join(missing)}.")


def _string(event: dict[str, Any], name: str) -> str:
    value = event[name]
    if not isinstance(value, str):
        raise InvalidInput(
            f"Sinch field {name} is not text",
            detail=f"Field {name} is {type(value).__name__}, not text; nothing was stored.",
        )
    return value


def _number(event: dict[str, Any], name: str) -> str:
    # As Sinch wrote it (digits without '+'); a number given as a JSON number is its digits.
    value = event[name]
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return _string(event, name)


def _ulid(event: dict[str, Any], name: str) -> str:
    value = _string(event, name)
    if SINCH_ULID.fullmatch(value) is None:
        shown = value if len(value) <= 80 else value[:80] + "…"
        raise NotACarrierDelivery(
            f"{name} is not a Sinch id",
            detail=f"{name} {shown!r} is not a Sinch id (26 characters of Crockford base32 in "
            f"upper case, e.g. {SINCH.example}); the request was refused and nothing was stored.",
        )
    return value


challenge_on_401(bp)
door(bp, "/webhooks/sinch", SinchAdapter(), "inbound")
