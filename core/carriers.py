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
            raise NotACarrierDelivery(
                f"the signed {self.carrier} form names another message id",
                detail=f"The signed fields name message id {found.group(1)} outside its own "
                f"field (the message's id is {message_id}): fields were re-split inside the "
                "signed text, so the request was refused and nothing was stored.",
            )


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
TELNYX = CarrierIdFormat(
    "telnyx", re.compile(_UUID, re.ASCII), "a UUID",
    "7ee4241c-f127-47e5-9c34-3aac291f8058", "data.payload.id",
)  # fmt: skip
PLIVO = CarrierIdFormat(
    "plivo", re.compile(_UUID, re.ASCII), "a UUID",
    "00000000-0000-0000-0000-000000000001", "MessageUUID", text_field="Text",
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
VONAGE = CarrierIdFormat(
    "vonage", re.compile(_UUID, re.ASCII), "a UUID",
    "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "message_uuid",
)  # fmt: skip
SINCH = CarrierIdFormat(
    "sinch", re.compile(r"[0-9A-Za-z]{10,64}", re.ASCII),
    "10 to 64 letters and digits", "01FC66621XXXXX119Z8PMV1QPQ", "id",
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
    "vonage": {},
    "sinch": {},
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
