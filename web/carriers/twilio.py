"""Twilio's doors: a contact's text (answered in TwiML) and the status of a sent message."""

from __future__ import annotations

import hashlib
import json
import logging
from functools import lru_cache
from typing import cast
from urllib.parse import urlparse

from flask import Blueprint, Request, Response
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    add_port,
    compare,
    get_signature_algorithm,
    remove_port,
)
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from core.carriers import TWILIO
from core.config import Settings
from core.errors import InvalidInput
from core.model import CarrierFlag
from web.carrier_door import Delivery, Handled, Refusal, door
from web.carriers.forms import FormFields, read_form
from web.carriers.urls import signed_url

bp = Blueprint("twilio", __name__)
log = logging.getLogger(__name__)


def _signature_ok(settings: Settings, req: Request) -> bool:
    signature = req.headers.get(SIGNATURE_HEADER, "")
    if not signature or settings.twilio_auth_token is None:
        return False
    validator = _validator(settings.twilio_auth_token.get_secret_value())
    # HMAC_SHA1 unless the request names another algorithm (HMAC_SHA256 with a SharedKey).
    algorithm = get_signature_algorithm(req.headers.get(SIGNATURE_SETTINGS_HEADER))
    # The form as a MultiDict: every parameter, including ones Twilio adds without notice,
    # and every value of a repeated one, exactly as Twilio's own validator expects.
    url, form = signed_url(settings, req), cast("MultiDict[str, str]", req.form)
    body_hash = req.args.get("bodySHA256")
    if body_hash is not None:
        # A JSON body: the signature covers the URL, whose bodySHA256 is the body's hash.
        if not compare(hashlib.sha256(req.get_data(cache=True)).hexdigest(), body_hash):
            return False
        form = MultiDict()  # and no parameters
    try:
        for candidate in _url_variants(url):
            # Lazily: a genuine request signed for the URL as received costs one HMAC, the
            # port variant two; validate() would always compute both.
            if compare(validator.compute_signature(candidate, form, algorithm), signature):
                return True
    except ValueError:  # an algorithm this twilio library does not know: not verifiable
        log.warning("refused a Twilio request signed with unsupported algorithm %r", algorithm)
    return False


def json_fields(body: bytes) -> MultiDict[str, str]:
    """A JSON body's fields as a form's (each a string); InvalidInput when it is not that."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidInput(
            "the Twilio JSON body is not JSON",
            detail=f"The body is not UTF-8 JSON ({type(exc).__name__}). Nothing was stored.",
        ) from None
    if not isinstance(payload, dict) or not all(isinstance(v, str) for v in payload.values()):
        raise InvalidInput(
            "the Twilio JSON body is not an object of strings",
            detail="A Twilio JSON body must be an object whose values are strings, as its "
            "form fields are. Nothing was stored.",
        )
    return MultiDict(payload)


def _url_variants(url: str) -> dict[str, None]:
    """The URLs Twilio may have signed, in order: as received, then without and with its port.

    The last two are what RequestValidator.validate tries (Twilio's signing is inconsistent
    about default ports); the URL as received is nearly always one of them, so it comes first.
    """
    parsed = urlparse(url)
    return dict.fromkeys((url, remove_port(parsed), add_port(parsed)))


@lru_cache(maxsize=8)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


@lru_cache(maxsize=1024)
def _twiml_text(reply: str | None) -> str:
    # Replies come from rules.yml, a few dozen texts: each is built once, not per message.
    answer = MessagingResponse()
    if reply:
        answer.message(reply)
    return str(answer)


def _twiml(reply: str | None) -> Response:
    return Response(_twiml_text(reply), mimetype="text/xml")


class TwilioAdapter:
    """Twilio's texts (POST /webhooks/twilio) or its status callbacks (/webhooks/twilio/status)."""

    name = "twilio"
    replies_in_response = True

    def __init__(self, statuses: bool) -> None:
        self.statuses = statuses

    def verify(self, settings: Settings, req: Request) -> Refusal | None:
        """None when X-Twilio-Signature matches the request."""
        if _signature_ok(settings, req):
            return None
        log.warning("refused a Twilio request with a missing or wrong signature for %s",
                    signed_url(settings, req))  # fmt: skip
        return Refusal(
            403,
            "invalid_signature",
            "X-Twilio-Signature is missing or does not match this request. Check the auth "
            "token and, behind a proxy, set STOPLINE_PUBLIC_URL to the URL Twilio calls.",
        )

    def parse(self, settings: Settings, req: Request) -> Delivery:
        """The text, or the status, in a signed Twilio form (or JSON body with bodySHA256)."""
        if req.args.get("bodySHA256") is None:
            return read_form(FIELDS, req.form, self.statuses)
        return read_form(FIELDS, json_fields(req.get_data(cache=True)), self.statuses)

    def answer(self, handled: Handled, replies: bool) -> Response:
        """TwiML with the reply, if any (an empty <Response/> for a status callback)."""
        texts = handled.replies if replies else []
        return _twiml(texts[0] if texts else None)


def _flag(value: str | None) -> CarrierFlag | None:
    """Twilio's OptOutType (STOP, START, HELP), as Advanced Opt-Out set it; None otherwise."""
    try:
        return CarrierFlag((value or "").strip().upper()) if value else None
    except ValueError:
        log.warning("ignored an unknown Twilio OptOutType %r", str(value)[:40])
        return None


FIELDS = FormFields(
    TWILIO, ("Body",), ("MessageStatus", "SmsStatus"), "ErrorCode", "OptOutType", _flag
)

door(bp, "/webhooks/twilio", TwilioAdapter(statuses=False), "inbound")
door(bp, "/webhooks/twilio/status", TwilioAdapter(statuses=True), "status")
