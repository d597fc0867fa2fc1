"""What every carrier's door does: on or off, authentic or refused, then the core, then an answer.

Each carrier has an adapter (web/carriers/<name>.py) that says how its requests are checked,
what they carry (texts from contacts, statuses of sent messages) and how it is answered; the
core never learns which carrier it was. The order is the same for all: a door that is off is
503 naming the variables to set; a request that fails its check is 401/403 and changes
nothing; a checked request that no carrier would send is 400; a failure on stopline's side is
503 (the carrier retries), never a 4xx, which a carrier does not retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Protocol

from flask import Blueprint, Request, Response, request

from core.carriers import NotACarrierDelivery
from core.config import Settings
from core.errors import InvalidInput
from core.model import DeliveryStatus, InboundMessage, Outcome, Source
from web.context import state
from web.errors import json_error

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is not the carrier's: the status to answer (401 or 403) and what to fix."""

    status: int
    error: str
    detail: str


@dataclass(slots=True)
class Delivery:
    """What one carrier request carries: texts from contacts, statuses of sent messages."""

    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[DeliveryStatus] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Handled:
    """What the core did with a delivery: one outcome per text, the statuses' (None: ignored)."""

    delivery: Delivery
    outcomes: list[Outcome]
    reported: list[Outcome | None]

    @property
    def replies(self) -> list[str]:
        """The texts to send back, one per text that has one (confirmation, help)."""
        return [o.reply for o in self.outcomes if o.reply]


class CarrierAdapter(Protocol):
    """One carrier: how its requests are checked, read and answered."""

    name: str  # as in core.carriers and core.carrier_settings: "twilio", "telnyx", ...
    # True for carriers that take a reply in the HTTP response (TwiML, Plivo XML); the
    # others' replies are sent by the outbox through their messaging API.
    replies_in_response: bool

    def verify(self, settings: Settings, req: Request) -> Refusal | None:
        """None when the request is the carrier's (its signature or credentials check)."""
        ...

    def parse(self, settings: Settings, req: Request) -> Delivery:
        """The texts and statuses in a checked request; NotACarrierDelivery when it has none."""
        ...

    def answer(self, handled: Handled, replies: bool) -> Response:
        """The HTTP answer; with `replies`, carriers that take a reply in it (TwiML) get it."""
        ...


def handle(adapter: CarrierAdapter) -> Response:
    """Serve one carrier request with an adapter (the door's view function calls only this)."""
    app = state()
    settings = app.settings
    carrier = settings.carrier(adapter.name)
    if not carrier.configured:
        names = " and ".join(f"{v} (or STOPLINE_{v})" for v in carrier.missing)
        return json_error(
            503,
            f"{adapter.name}_not_configured",
            f"The {adapter.name} hook is off: set {names} so stopline can check "
            f"{adapter.name}'s requests. Unchecked requests are never accepted.",
        )
    refused = adapter.verify(settings, request)
    if refused is not None:
        log.warning("refused a %s request to %s: %s", adapter.name, request.path, refused.error)
        return json_error(refused.status, refused.error, refused.detail)
    try:
        delivery = adapter.parse(settings, request)
    except (NotACarrierDelivery, InvalidInput) as exc:
        # Checked, yet not what the carrier sends: a replay with its boundaries shifted, or
        # a request made by someone holding the credentials; never a genuine delivery.
        label = adapter.name.capitalize()
        log.warning("refused a checked %s request that %s would not send: %s",
                    label, label, exc.message)  # fmt: skip
        return json_error(400, exc.code, exc.detail)
    ours = carrier.replies == "stopline"
    if ours and not adapter.replies_in_response:
        delivery.messages = [replace(m, reply_by_api=True) for m in delivery.messages]
    handled = deliver(delivery)
    return adapter.answer(handled, replies=ours)


def deliver(delivery: Delivery) -> Handled:
    """Hand a delivery's texts and statuses to the core, and count and announce what it did."""
    app = state()
    outcomes = []
    for message in delivery.messages:
        outcome = app.services.consent.receive_message(message)
        app.metrics.decision(outcome, Source.CONTACT)
        if app.notifier is not None:
            app.notifier.message_received(message, outcome)  # queued; never delays the answer
        outcomes.append(outcome)
    reported = []
    for status in delivery.statuses:
        found = app.services.consent.receive_status(status)
        if found is not None:
            app.metrics.decision(found, Source.CONTACT)
        reported.append(found)
    return Handled(delivery, outcomes, reported)


def door(bp: Blueprint, rule: str, adapter: CarrierAdapter, endpoint: str) -> None:
    """Route POST `rule` on `bp` to `handle(adapter)`."""

    def view() -> Response:
        return handle(adapter)

    view.__doc__ = f"A {adapter.name} callback: texts and delivery statuses."
    bp.add_url_rule(rule, endpoint, view, methods=["POST"])


def empty_answer(handled: Handled, replies: bool) -> Response:
    """200 with no body: for carriers whose replies go through their messaging API."""
    return Response(status=200)
