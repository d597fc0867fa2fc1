"""Vonage's doors (Messages API): a contact's SMS and the status of a sent message, both JSON.

Vonage signs each webhook with `Authorization: Bearer <JWT>`, HS256 with the account's
signature secret; the JWT's `payload_hash` claim is the hex SHA-256 of the body, which is what
ties the token to these bytes. Replies go through the Messages API (the outbox), so every
answer is an empty 200: Vonage resends for 24 hours anything that is not a 200 or 204.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import jwt
from flask import Blueprint, Request, Response

from core.carriers import VONAGE, MissingField, NotACarrierDelivery
from core.config import Settings
from core.errors import InvalidInput
from core.model import DeliveryStatus, InboundMessage
from web.carrier_door import Delivery, Handled, Refusal, door, empty_answer

bp = Blueprint("vonage", __name__)
log = logging.getLogger(__name__)

_CHANNELS = ("sms", "mms")
LEEWAY = 60  # seconds of clock difference allowed between Vonage and us, for iat and exp


def verify_jwt(token: str, secret: str, now: float | None = None) -> dict[str, Any]:
    """The claims of a JWT signed by Vonage with `secret`; jwt.InvalidTokenError otherwise."""
    # HS256 only: "none" or an RS256 header (the key confusion attack) is refused by PyJWT.
    claims: dict[str, Any] = jwt.decode(
        token,
        secret,
        algorithms=["HS256"],
        leeway=LEEWAY,
        options={"verify_aud": False, "verify_iat": False, "verify_exp": False},
    )
    # exp and iat are checked here rather than by PyJWT, so one clock (`now`) decides both.
    moment = time.time() if now is None else now
    exp, iat = claims.get("exp"), claims.get("iat")
    if exp is not None and (not _is_number(exp) or exp + LEEWAY < moment):
        raise jwt.ExpiredSignatureError("the token has expired (exp)")
    if iat is not None and (not _is_number(iat) or iat - LEEWAY > moment):
        raise jwt.ImmatureSignatureError("the token was issued in the future (iat)")
    return claims


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def payload_hash_ok(claims: Mapping[str, Any], body: bytes) -> bool:
    """Whether the JWT's payload_hash is the SHA-256 of this body (required for any body)."""
    claimed = claims.get("payload_hash")
    if claimed is None:
        return not body
    if not isinstance(claimed, str):
        return False
    actual = hashlib.sha256(body).hexdigest()
    return hmac.compare_digest(claimed.strip().lower().encode(), actual.encode())


def _refusal(error: str, why: str) -> Refusal:
    return Refusal(
        401,
        error,
        f"{why} Vonage signs every Messages API webhook with a JWT (HS256, the signature "
        "secret; Dashboard → Settings) whose payload_hash is the SHA-256 of the body: check "
        "VONAGE_SIGNATURE_SECRET and that signed webhooks are on. Nothing was changed.",
    )


class VonageAdapter:
    """Vonage's inbound SMS (POST /webhooks/vonage) or its statuses (/webhooks/vonage/status)."""

    name = "vonage"
    replies_in_response = False

    def __init__(self, statuses: bool) -> None:
        self.statuses = statuses

    def verify(self, settings: Settings, req: Request) -> Refusal | None:
        """None when the Bearer JWT is Vonage's and its payload_hash matches the body."""
        scheme, _, token = req.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _refusal("missing_signature", "No Authorization: Bearer <JWT> header.")
        secret = settings.vonage_signature_secret
        if secret is None:  # handle() answers 503 before this; kept for mypy and safety
            return _refusal("missing_signature", "No signature secret is set.")
        try:
            claims = verify_jwt(token.strip(), secret.get_secret_value())
        except jwt.InvalidTokenError as exc:
            return _refusal("invalid_signature", f"The JWT does not verify ({exc}).")
        if not payload_hash_ok(claims, req.get_data(cache=True)):
            return _refusal(
                "invalid_signature", "The JWT's payload_hash is missing or is not this body's."
            )
        return None

    def parse(self, settings: Settings, req: Request) -> Delivery:
        """The text, or the status, in a signed Vonage webhook; an empty delivery for others."""
        payload = _json_object(req.get_data(cache=True))
        # stopline keeps the consent of phone numbers texted by SMS or MMS (one number, one
        # consent: Opt-Out Assist blocks both, and refuses an MMS to an opted-out number with
        # the same status); WhatsApp, RCS, Messenger… have their own opt-in rules and ids for
        # contacts, so their texts and statuses are acknowledged, not recorded.
        channel = _text(payload, "channel")
        if channel not in _CHANNELS:
            log.info("ignored a Vonage %s webhook on channel %r", self._kind, channel[:20])
            return Delivery()
        message_id = VONAGE.check(_text(payload, "message_uuid"), "message_uuid")
        contact_field, sender_field = ("to", "from") if self.statuses else ("from", "to")
        contact, sender = _number(payload, contact_field), _number(payload, sender_field)
        now = datetime.now(UTC)
        if self.statuses:
            status = DeliveryStatus(
                carrier="vonage",
                message_id=message_id,
                contact=contact,
                sender=sender,
                status=_text(payload, "status"),
                code=_error_code(payload.get("error")),
                received_at=now,
            )
            return Delivery(statuses=[status])
        # An SMS is always "text"; an image, audio or vcard has no words for the rules to read.
        if _text(payload, "message_type") != "text":
            log.info("ignored a Vonage SMS of message_type %r", str(payload["message_type"])[:20])
            return Delivery()
        message = InboundMessage(
            carrier="vonage",
            message_id=message_id,
            contact=contact,
            sender=sender,
            body=_text(payload, "text", required=False),
            received_at=now,
        )
        return Delivery(messages=[message])

    @property
    def _kind(self) -> str:
        return "status" if self.statuses else "inbound"

    def answer(self, handled: Handled, replies: bool) -> Response:
        """200 and no body: Vonage takes replies only through the Messages API."""
        return empty_answer(handled, replies)


def _json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; InvalidInput saying why when it is not one."""
    try:
        payload = json.loads(body.decode("utf-8"), object_pairs_hook=_no_repeats)
    except NotACarrierDelivery:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidInput(
            "the Vonage webhook body is not JSON",
            detail=f"The body is not UTF-8 JSON ({type(exc).__name__}); Vonage's Messages "
            "API sends a JSON object. Nothing was stored.",
        ) from None
    if not isinstance(payload, dict):
        raise InvalidInput(
            "the Vonage webhook body is not a JSON object",
            detail=f"The body is a JSON {type(payload).__name__}, not the object Vonage's "
            "Messages API sends. Nothing was stored.",
        )
    return payload


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A name given twice would let the sender choose which value counts; Vonage never does it.
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise NotACarrierDelivery(
                f"repeated field {name[:40]!r} in a Vonage webhook",
                detail=f"The JSON field {name[:40]!r} appears twice in one object; Vonage "
                "sends each once, so the request was refused and nothing was stored.",
            )
        found[name] = value
    return found


def _text(payload: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = payload.get(name)
    if isinstance(value, str):
        return value
    if value is None and not required:
        return ""
    if value is None:
        raise MissingField(f"Required Vonage field missing: {name}.")
    raise InvalidInput(
        f"Vonage field {name} is not a string",
        detail=f"The field {name} is a JSON {type(value).__name__}; Vonage sends a string. "
        "Nothing was stored.",
    )


def _number(payload: Mapping[str, Any], name: str) -> str:
    """A number as Vonage wrote it: an MSISDN string, a JSON number, or v0.1's {"number": …}."""
    value = payload.get(name)
    if isinstance(value, dict):
        value = value.get("number")
    if isinstance(value, int | float) and not isinstance(value, bool) and value % 1 == 0:
        value = str(int(value))
    if not isinstance(value, str) or not value:
        raise MissingField(f"Required Vonage field missing or empty: {name}.")
    return value


def _error_code(error: object) -> str | None:
    """The code of a status's error: the number after '#' in its type URL (…/messages#1240)."""
    if error is None:
        return None
    if not isinstance(error, dict):
        raise InvalidInput(
            "the Vonage status error is not an object",
            detail="The status's error is not a JSON object with type, title and detail, as "
            "Vonage sends it. Nothing was stored.",
        )
    kind = error.get("type")
    if isinstance(kind, str) and "#" in kind:
        return kind.rsplit("#", 1)[1].strip() or None
    code = error.get("code")  # the Messages API v0.1 shape: {"code": 1240, "reason": …}
    if isinstance(code, str | int) and not isinstance(code, bool):
        return str(code)
    return None


door(bp, "/webhooks/vonage", VonageAdapter(statuses=False), "inbound")
door(bp, "/webhooks/vonage/status", VonageAdapter(statuses=True), "status")
