"""Bandwidth's door: a JSON array of message events, checked by the application's Basic credentials.

Bandwidth signs nothing on messaging callbacks: the only proof is the username and password set
on the Bandwidth application, sent as HTTP Basic. Every event of the array is read before any
is handed to the core, so a body this door refuses (400) stores nothing; a number the core
itself refuses (one with letters) is refused after the events before it were recorded.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Request, Response

from core.carriers import BANDWIDTH, MissingField, NotACarrierDelivery
from core.config import Settings
from core.model import DeliveryStatus, InboundMessage
from web.carrier_door import Delivery, Handled, Refusal, door, empty_answer
from web.carriers.basic import basic_ok, challenge_on_401

bp = Blueprint("bandwidth", __name__)

RECEIVED, FAILED = "message-received", "message-failed"


class BandwidthAdapter:
    """Bandwidth's message callbacks (POST /webhooks/bandwidth): texts and failed sends."""

    name = "bandwidth"
    replies_in_response = False

    def verify(self, settings: Settings, req: Request) -> Refusal | None:
        """None when the Basic credentials are the Bandwidth application's."""
        header = req.headers.get("Authorization", "")
        if basic_ok(header, settings.bandwidth_callback_username,
                    settings.bandwidth_callback_password):  # fmt: skip
            return None
        return Refusal(
            401,
            "invalid_credentials",
            "The Basic credentials are missing or wrong. Set the callback username and password "
            "of the Bandwidth application to BANDWIDTH_CALLBACK_USERNAME and "
            "BANDWIDTH_CALLBACK_PASSWORD.",
        )

    def parse(self, settings: Settings, req: Request) -> Delivery:
        """Every text and failed send in a checked array of Bandwidth events."""
        events = _events(req.get_data(cache=True))
        delivery, now = Delivery(), datetime.now(UTC)
        for index, event in enumerate(events):
            kind = event.get("type")
            if not isinstance(kind, str):
                raise MissingField(f"Bandwidth event {index} has no type.")
            if kind == RECEIVED:
                delivery.messages.append(_message(index, event, now))
            elif kind == FAILED:
                delivery.statuses.append(_failure(index, event, now))
            # Any other type (message-delivered, message-sending, ...) needs nothing stored.
        return delivery

    def answer(self, handled: Handled, replies: bool) -> Response:
        """200 with an empty body: Bandwidth's replies go through its API (the outbox)."""
        return empty_answer(handled, replies)


def _events(body: bytes) -> list[Mapping[str, Any]]:
    try:
        events = json.loads(body, object_pairs_hook=_once, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8, a repeated key, NaN
        raise NotACarrierDelivery(
            "not a JSON array of Bandwidth events",
            detail=f"The body is not valid JSON ({str(exc)[:120]}); Bandwidth sends a JSON "
            "array of message events. Nothing was stored.",
        ) from None
    if not isinstance(events, list) or not events:
        raise NotACarrierDelivery(
            "not a JSON array of Bandwidth events",
            detail="Bandwidth sends a non-empty JSON array of message events; this body is "
            f"{'an empty array' if events == [] else 'a JSON ' + type(events).__name__}. "
            "Nothing was stored.",
        )
    if not all(isinstance(event, dict) for event in events):
        raise NotACarrierDelivery(
            "a Bandwidth event that is not an object",
            detail="Every element of a Bandwidth callback is a JSON object. Nothing was stored.",
        )
    return events


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Bandwidth writes each key once: with a repeat, which value counts would be the sender's.
    found = dict(pairs)
    if len(found) != len(pairs):
        names = sorted(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)
        raise ValueError(f"repeated key(s) {', '.join(names)[:80]}")
    return found


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON a carrier sends")


def _message(index: int, event: Mapping[str, Any], now: datetime) -> InboundMessage:
    message = _object(index, event)
    return InboundMessage(
        carrier="bandwidth",
        message_id=_id(index, message),
        contact=_text(index, message, "message.from"),
        # The business number texted: the event's "to" (message.owner is the same number).
        sender=_text(index, *((event, "to") if "to" in event else (message, "message.owner"))),
        body=_text(index, message, "message.text", required=False),
        received_at=now,
    )


def _failure(index: int, event: Mapping[str, Any], now: datetime) -> DeliveryStatus:
    message = _object(index, event)
    return DeliveryStatus(
        carrier="bandwidth",
        message_id=_id(index, message),
        contact=_text(index, event, "to"),  # the recipient the send failed to
        sender=_text(index, message, "message.from"),  # the business number it was sent from
        status=FAILED,
        # Only errorCode, as Bandwidth's error docs advise: the description is free text.
        code=_code(index, event),
        received_at=now,
    )


def _object(index: int, event: Mapping[str, Any]) -> Mapping[str, Any]:
    message = event.get("message")
    if not isinstance(message, dict):
        raise MissingField(f"Bandwidth event {index} ({event['type']}) has no message object.")
    return message


def _id(index: int, message: Mapping[str, Any]) -> str:
    value = message.get("id")
    if not isinstance(value, str):
        raise MissingField(f"Bandwidth event {index} has no message.id.")
    return BANDWIDTH.check(value, f"event {index} message.id")


def _text(index: int, where: Mapping[str, Any], field: str, required: bool = True) -> str:
    value = where.get(field.rpartition(".")[2])
    if value is None and not required:
        return ""  # an MMS with media only has no text
    if not isinstance(value, str) or (required and not value.strip()):
        raise MissingField(f"Bandwidth event {index} has no {field} (a non-empty string).")
    return value


def _code(index: int, event: Mapping[str, Any]) -> str:
    value = event.get("errorCode")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    raise MissingField(f"Bandwidth event {index} (message-failed) has no errorCode (a number).")


challenge_on_401(bp)
door(bp, "/webhooks/bandwidth", BandwidthAdapter(), "inbound")
