"""Plivo's doors: a contact's text (answered in Plivo XML) and the status of a sent message."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from flask import Blueprint, Request, Response

from core.carriers import PLIVO
from core.config import Settings
from core.model import CarrierFlag
from web.carrier_door import Delivery, Handled, Refusal, door
from web.carriers.forms import FormFields, read_form
from web.carriers.urls import signed_url

bp = Blueprint("plivo", __name__)
log = logging.getLogger(__name__)

# Plivo's V3 headers, each signature with its nonce; the MA-V3 names are said (by an
# integrator) to be what messaging sends, so both pairs are read.
HEADERS = (
    ("X-Plivo-Signature-V3", "X-Plivo-Signature-V3-Nonce"),
    ("X-Plivo-Signature-MA-V3", "X-Plivo-Signature-MA-V3-Nonce"),
)
_INTENTS = {"optout": CarrierFlag.STOP, "optin": CarrierFlag.START, "help": CarrierFlag.HELP}


def signed_string(url: str, params: Iterable[tuple[str, str]], nonce: str) -> str:
    """What Plivo signs for a POST: URL with sorted query, the sorted form run together, nonce.

    As plivo-python's signature_v3 builds it: the URL without its query, then `?` and the
    query sorted by name (`a=1&b=2`), then `.` when there was a query; every POST name and
    value with nothing between them, sorted by name (a name's values sorted); `.` and the nonce.
    """
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    # Sorted by name, then a repeated name's values: plivo-python sorts both.
    pairs = sorted(parse_qsl(parts.query, keep_blank_values=True))
    query = "&".join(f"{k}={v}" for k, v in pairs)
    form = "".join(k + v for k, v in sorted(params))
    if query or form:
        base += "?" + query
    if query and form:
        base += "."
    return f"{base}{form}.{nonce}"


def signature(token: str, url: str, params: Iterable[tuple[str, str]], nonce: str,
              *, sdk_bytes: bool = False) -> str:  # fmt: skip
    """Plivo's V3 signature: base64 of HMAC-SHA256 with the auth token over the signed string.

    With `sdk_bytes`, the string as plivo-python 4.x hashes it: its UTF-8 bytes read back as
    Latin-1 and encoded again (the same bytes for ASCII; its open PR #294 fixes non-ASCII).
    """
    message = signed_string(url, params, nonce).encode("utf-8")
    if sdk_bytes:
        message = message.decode("latin-1").encode("utf-8")
    digest = hmac.new(token.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(expected: str, header: str) -> bool:
    """Whether any of the header's comma-separated signatures (one per active token) matches."""
    wanted = expected.encode("ascii")
    found = False
    for candidate in header.split(","):
        # Every candidate is compared (no early exit) in constant time.
        found |= hmac.compare_digest(wanted, candidate.strip().encode("utf-8", "replace"))
    return found


def _signature_ok(settings: Settings, req: Request) -> bool:
    if settings.plivo_auth_token is None:
        return False
    token = settings.plivo_auth_token.get_secret_value()
    url, form = signed_url(settings, req), req.form
    for signature_header, nonce_header in HEADERS:
        header, nonce = req.headers.get(signature_header, ""), req.headers.get(nonce_header, "")
        if not (header and nonce):
            continue
        pairs = list(form.items(multi=True))
        if signature_matches(signature(token, url, pairs, nonce), header):
            return True
        # A text in another script (ARRÊT, 停止): which bytes Plivo hashes is not documented,
        # and refusing a genuine STOP would lose it, so the SDK's reading is accepted too.
        if not signed_string(url, pairs, nonce).isascii() and signature_matches(
            signature(token, url, pairs, nonce, sdk_bytes=True), header
        ):
            return True
    return False


def plivo_xml(sender: str, contact: str, reply: str | None) -> str:
    """Plivo XML answering a text: <Response>, with a <Message> when there is a reply."""
    root = ET.Element("Response")
    if reply:
        # src is the business number and dst the contact, each as Plivo wrote it.
        message = ET.SubElement(root, "Message", {"src": sender, "dst": contact})
        message.text = reply
    return ET.tostring(root, encoding="unicode")


def _xml(sender: str, contact: str, reply: str | None) -> Response:
    return Response(plivo_xml(sender, contact, reply), mimetype="application/xml")


class PlivoAdapter:
    """Plivo's texts (POST /webhooks/plivo) or its status callbacks (/webhooks/plivo/status)."""

    name = "plivo"
    replies_in_response = True

    def __init__(self, statuses: bool) -> None:
        self.statuses = statuses

    def verify(self, settings: Settings, req: Request) -> Refusal | None:
        """None when X-Plivo-Signature-V3 (or -MA-V3) holds a signature of this request."""
        if _signature_ok(settings, req):
            return None
        log.warning("refused a Plivo request with a missing or wrong signature for %s",
                    signed_url(settings, req))  # fmt: skip
        return Refusal(
            403,
            "invalid_signature",
            "X-Plivo-Signature-V3 (with X-Plivo-Signature-V3-Nonce) is missing or does not "
            "match this request. Check PLIVO_AUTH_TOKEN and, behind a proxy, set "
            "STOPLINE_PUBLIC_URL to the URL Plivo calls.",
        )

    def parse(self, settings: Settings, req: Request) -> Delivery:
        """The text, or the status, in a signed Plivo form."""
        return read_form(FIELDS, req.form, self.statuses)

    def answer(self, handled: Handled, replies: bool) -> Response:
        """Plivo XML with the reply, if any; an empty <Response/> otherwise."""
        texts = handled.replies if replies else []
        messages = handled.delivery.messages
        if not texts or not messages:
            return _xml("", "", None)
        return _xml(messages[0].sender, messages[0].contact, texts[0])


def _flag(value: str | None) -> CarrierFlag | None:
    """Plivo's MessageIntent (optout, optin, help), as its DND service read the text."""
    intent = (value or "").strip().lower()
    if not intent:
        return None
    flag = _INTENTS.get(intent)
    if flag is None:
        log.warning("ignored an unknown Plivo MessageIntent %r", str(value)[:40])
    return flag


# Text for an SMS; an MMS carries its words in Body.
FIELDS = FormFields(PLIVO, ("Text", "Body"), ("Status",), "ErrorCode", "MessageIntent", _flag)

door(bp, "/webhooks/plivo", PlivoAdapter(statuses=False), "inbound")
door(bp, "/webhooks/plivo/status", PlivoAdapter(statuses=True), "status")
