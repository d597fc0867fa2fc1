"""What a genuine delivery from each carrier looks like: the format of its message ids.

A carrier's signature proves who sent the bytes, not where one field ends: Twilio signs the
URL followed by every name and value with nothing in between, so a captured request can be
re-sent with `MessageSid=SM…b` and `NumMedia=0` merged into `MessageSid=SM…bNumMedia0`, the
signature unchanged and the id new (a captured START would then undo a later STOP). An id in
exactly the carrier's own format cannot absorb a neighbour, and a replay with the original id is
a retry that gets the first answer. So every carrier declares its format here, and the service
refuses a message whose carrier has none: an adapter cannot forget the check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.errors import InvalidInput

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class NotACarrierDelivery(InvalidInput):
    """A signed request that no carrier would send: an id of the wrong shape, a repeated field."""

    code = "not_a_carrier_delivery"


class MissingField(InvalidInput):
    """A checked carrier request without a field every delivery of its kind has."""

    code = "missing_field"


@dataclass(frozen=True, slots=True)
class CarrierIdFormat:
    """A carrier's message-id format, and the form fields that carry the id."""

    carrier: str
    pattern: re.Pattern[str]
    shape: str  # the format in words, for the error
    example: str
    id_field: str  # the field of a form-encoded delivery that holds the id
    twins: tuple[str, ...] = ()  # older names of the same id: when present, equal to it
    text_field: str | None = None  # the field with the contact's own words
    # Fields whose name ends with the id field's and whose value is an id (Plivo's
    # ParentMessageUUID): run together they read as the id field, and are not a re-split.
    suffixed: tuple[str, ...] = ()

    def check(self, message_id: str, field: str | None = None) -> str:
        """The id, if it is in this carrier's format; NotACarrierDelivery saying why otherwise."""
        if self.pattern.fullmatch(message_id) is None:
            shown = message_id if len(message_id) <= 80 else message_id[:80] + "…"
            raise NotACarrierDelivery(
                f"{field or self.id_field} is not a {self.carrier} message id",
                detail=f"{field or self.id_field} {shown!r} is not a {self.carrier} message id "
                f"({self.shape}, e.g. {self.example}); the request was refused and nothing "
                "was stored. A genuine delivery always has one.",
            )
        return message_id

    def message_id(self, fields: Mapping[str, Sequence[str]]) -> str:
        """The id of a form-encoded delivery, after refusing what no carrier sends.

        `fields` maps each name to all its values. A repeated name is refused: signatures
        cover the set of values, not their order, so which one counts would be the sender's
        choice. Twins (Twilio's SmsSid, SmsMessageSid) must equal the id.
        """
        repeated = sorted(name for name, values in fields.items() if len(values) > 1)
        if repeated:
            names = ", ".join(repeated[:5])
            raise NotACarrierDelivery(
                f"repeated field(s) {names} in a {self.carrier} delivery",
                detail=f"The field(s) {names} appear more than once; {self.carrier} sends each "
                "field once, so the request was refused and nothing was stored.",
            )
        given = {name: fields[name][0] for name in (self.id_field, *self.twins) if name in fields}
        if not given:
            raise NotACarrierDelivery(
                f"no {self.carrier} message id",
                detail=f"Required {self.carrier} field missing: {self.id_field}.",
            )
        for name, value in given.items():
            self.check(value, name)
        if len(set(given.values())) > 1:
            shown = ", ".join(f"{name}={value}" for name, value in given.items())
            raise NotACarrierDelivery(
                f"the {self.carrier} message ids disagree",
                detail=f"{shown}: {self.carrier} gives one message one id, so the request was "
                "refused and nothing was stored.",
            )
        message_id = next(iter(given.values()))
        self._check_signed_string(fields, message_id)
        return message_id

    def _check_signed_string(self, fields: Mapping[str, Sequence[str]], message_id: str) -> None:
        # What was signed is every name and value run together, sorted by name; a re-split
        # leaves it as it was, so the original's "MessageSid" + id is still in it. A re-split
        # that made a new id must have put that original inside another field (or across two);
        # only the contact's own text (Body) may hold such words, where a genuine request has
        # them when a contact typed them.
        signed, spans, position = [], {}, 0
        for name in sorted(fields):
            value = fields[name][0] if fields[name] else ""
            spans[name] = (position, position + len(name), position + len(name) + len(value))
            signed.append(name + value)
            position += len(name) + len(value)
        text = spans.get(self.text_field) if self.text_field else None
        names = "|".join(re.escape(n) for n in sorted((self.id_field, *self.twins), key=len)[::-1])
        for found in re.finditer(f"(?:{names})({self.pattern.pattern})", "".join(signed)):
            start, end = found.span()
            name = found.group(0)[: -len(found.group(1))]
            if spans.get(name) == (start, start + len(name), end) and found.group(1) == message_id:
                continue  # the id field itself
            if text is not None and text[1] <= start and end <= text[2]:
                continue  # words in the contact's text
            if any(self._is_suffixed(spans.get(other), other, name, start, end)
                   for other in self.suffixed):  # fmt: skip
                continue  # e.g. ParentMessageUUID<id>: its whole value, behind its own name
            raise NotACarrierDelivery(
                f"the signed {self.carrier} form names another message id",
                detail=f"The signed fields name message id {found.group(1)} outside its own "
                f"field (the message's id is {message_id}): fields were re-split inside the "
                "signed text, so the request was refused and nothing was stored.",
            )

    @staticmethod
    def _is_suffixed(
        span: tuple[int, int, int] | None, field: str, name: str, start: int, end: int
    ) -> bool:
        # Exactly the tail of that field: its name's last letters, then its entire value.
        if span is None or not field.endswith(name):
            return False
        return span[1] - len(name) == start and span[2] == end


TWILIO = CarrierIdFormat(
    # Twilio's API definitions (twilio-oai) give Message sids as ^(SM|MM)[0-9a-fA-F]{32}$;
    # deliveries carry lowercase hex, e.g. SMe287d7109a5a925f182f0e07fe5b223b.
    carrier="twilio",
    pattern=re.compile(r"(?:SM|MM)[0-9a-fA-F]{32}", re.ASCII),
    shape="SM or MM and 32 hexadecimal digits",
    example="SMe287d7109a5a925f182f0e07fe5b223b",
    id_field="MessageSid",
    twins=("SmsSid", "SmsMessageSid"),
    text_field="Body",
)
# From the carriers' documented payloads (reference/carriers-2026.md); each adapter's tests
# hold real examples.
# Telnyx: data.payload.id is a UUID in every documented event (message.received, .sent,
# .finalized) and in the send API's response, written in lower-case hex.
TELNYX = CarrierIdFormat(
    "telnyx", re.compile(_UUID, re.ASCII), "a UUID",
    "7ee4241c-f127-47e5-9c34-3aac291f8058", "data.payload.id",
)  # fmt: skip
# Plivo's MessageUUIDs are UUIDs (time-based, e.g. db3ce55a-7f1d-11e1-8ea7-1231380bc196);
# its status callbacks also carry ParentMessageUUID ("same as the MessageUUID", its docs say).
PLIVO = CarrierIdFormat(
    "plivo", re.compile(_UUID, re.ASCII), "a UUID",
    "db3ce55a-7f1d-11e1-8ea7-1231380bc196", "MessageUUID", text_field="Text",
    suffixed=("ParentMessageUUID",),
)  # fmt: skip
# Bandwidth's messaging docs (Bandwidth/api-docs, messaging/webhooks) give v2 message ids as a
# 13-digit millisecond timestamp and 16 lowercase letters or digits, e.g.
# 14762070468292kw2fuqty55yp2b2, 1593110555875xo7watq5px6rbe5d; integrators' captured
# callbacks also show UUIDs. Nothing looser, so no id can absorb a neighbouring field.
BANDWIDTH = CarrierIdFormat(
    "bandwidth", re.compile(rf"[0-9]{{13}}[0-9a-z]{{16}}|{_UUID}", re.ASCII),
    "13 digits and 16 lowercase letters or digits, or a UUID",
    "1593110555875xo7watq5px6rbe5d", "message.id",
)  # fmt: skip
# Vonage's Messages API names each message by message_uuid, a UUID (its API reference and the
# Opt-Out Assist guide's example, aaaaaaaa-bbbb-cccc-dddd-0123456789ab).
VONAGE = CarrierIdFormat(
    "vonage", re.compile(_UUID, re.ASCII), "a UUID",
    "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "message_uuid",
)  # fmt: skip
# Sinch's inbound ids and batch ids are ULIDs: 26 characters of Crockford base32 in upper
# case (no I, L, O, U), the first 0-7 (the docs' 01FC66621XXXXX119Z8PMV1QPQ; the SDK tutorials
# print 01JB1J1M5BM5XQ8Q0ZWBM44E14). A batch goes to many recipients under one id, so an
# opted-out report is keyed by the batch id, "-" and the recipient's digits (web/carriers/sinch.py).
SINCH_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}", re.ASCII)
# The ledger's id columns hold 64 characters: 26, "-" and at most 37 digits (E.164 has 15).
SINCH = CarrierIdFormat(
    "sinch", re.compile(SINCH_ULID.pattern + r"(?:-[0-9]{1,37})?", re.ASCII),
    "a 26-character ULID in upper case, a report's followed by '-' and the recipient's digits",
    "01FC66621XXXXX119Z8PMV1QPQ", "id",
)  # fmt: skip

FORMATS: dict[str, CarrierIdFormat] = {
    f.carrier: f for f in (TWILIO, TELNYX, PLIVO, BANDWIDTH, VONAGE, SINCH)
}
CARRIERS: tuple[str, ...] = tuple(FORMATS)

# The error codes by which each carrier says a send was refused because the recipient opted
# out (of this sender, its messaging service, profile or campaign): the contact's own opt-out.
OPTED_OUT_CODES: dict[str, dict[str, str]] = {
    "twilio": {"21610": "Attempt to send to unsubscribed recipient"},
    "telnyx": {"40300": "Blocked due to STOP message"},
    "plivo": {"200": "Destination number has opted out"},
    "bandwidth": {"4775": "Carrier rejected due to user opt out"},
    # The Messages API's status webhook: error.type ends "#1240", "Illegal Number": the recipient
    # sent STOP (Nexmo's Messages API error table). Not the SMS API's DLR err-code 9: as a
    # send's status, 9 means "Partner Quota Violation", so "9" alone would mislead.
    "vonage": {"1240": "Illegal Number: the recipient opted out (sent STOP)"},
    # Sinch's toll-free code (its own support article "How does STOP work on a Toll-Free
    # number?"); the REST API's delivery-report codes include the SMPP ones. Its 4xx codes
    # name no opt-out.
    "sinch": {"257": "User opted out (STOP)"},
}


def id_format(carrier: str) -> CarrierIdFormat:
    """The declared id format of a carrier; a carrier without one cannot deliver."""
    found = FORMATS.get(carrier)
    if found is None:
        raise NotACarrierDelivery(
            f"no message-id format is declared for carrier {carrier!r}",
            detail=f"Carrier {carrier!r} has no message-id format in core/carriers.py; "
            "declare one before its adapter delivers messages.",
        )
    return found


def opted_out_meaning(carrier: str, code: str | None) -> str | None:
    """What the carrier means by this error code when it says the recipient opted out, or None."""
    return OPTED_OUT_CODES.get(carrier, {}).get(code or "")
