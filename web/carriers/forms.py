"""Carriers that post forms and sign names and values run together (Twilio, Plivo): one reading."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from werkzeug.datastructures import MultiDict

from core.carriers import CarrierIdFormat, MissingField
from core.model import CarrierFlag, DeliveryStatus, InboundMessage
from web.carrier_door import Delivery


@dataclass(frozen=True, slots=True)
class FormFields:
    """Where a carrier's form holds what stopline reads."""

    ids: CarrierIdFormat  # the message id's field and format (core/carriers.py)
    text: tuple[str, ...]  # the contact's words: the first of these fields present
    status: tuple[str, ...]  # a sent message's state
    code: str  # its error code
    flag: str  # the carrier's own reading of a text (OptOutType, MessageIntent)
    read_flag: Callable[[str | None], CarrierFlag | None]


def read_form(fields: FormFields, form: MultiDict[str, str], statuses: bool) -> Delivery:
    """The text (or, with `statuses`, the status of a sent message) in a checked form."""
    carrier = fields.ids.carrier
    missing = [name for name in ("From", "To") if not form.get(name)]
    if missing:
        shown = ", ".join(missing)
        raise MissingField(f"Required {carrier.capitalize()} field(s) missing: {shown}.")
    # Signed, yet not what the carrier sends (an id that absorbed its neighbour, a repeated
    # field): a replay with its boundaries shifted, never a genuine delivery.
    message_id = fields.ids.message_id(form.to_dict(flat=False))
    now = datetime.now(UTC)
    if statuses:
        # Sent by the business from From to the contact at To: the reverse of a text.
        state = next((form[name] for name in fields.status if name in form), "")
        status = DeliveryStatus(
            carrier=carrier,
            message_id=message_id,
            contact=form["To"],
            sender=form["From"],
            status=state,
            code=form.get(fields.code, "").strip() or None,
            received_at=now,
        )
        return Delivery(statuses=[status])
    message = InboundMessage(
        carrier=carrier,
        message_id=message_id,
        contact=form["From"],
        sender=form["To"],
        body=next((form[name] for name in fields.text if name in form), ""),
        received_at=now,
        flag=fields.read_flag(form.get(fields.flag)),
    )
    return Delivery(messages=[message])
