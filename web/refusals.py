"""POST /v1/carrier-refusals: what a sending system's carrier said when it refused a send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify

from core.model import DeliveryStatus, Source
from web.auth import current_actor, require_token
from web.context import state
from web.errors import BadInput
from web.jsonbody import json_value, known_fields, known_query, optional_text, required_text
from web.limits import cap_api_body
from web.openapi import request_fields
from web.serialize import status_json

bp = Blueprint("refusals", __name__, url_prefix="/v1")
bp.before_request(require_token)
bp.before_request(cap_api_body)
bp.before_request(known_query)
MAX_REFUSALS = 500  # per request (within the 64 KiB body limit): reported as sent, not in bulk


@bp.post("/carrier-refusals")
def carrier_refusals() -> Response:
    """Record each refusal as the contact's own opt-out; a code not understood is a 400."""
    body = json_value()
    items = body if isinstance(body, list) else [body]
    if not items or len(items) > MAX_REFUSALS:
        raise BadInput(f"Send one refusal object, or a list of 1 to {MAX_REFUSALS} of them.")
    statuses = [_refusal(item, i) for i, item in enumerate(items)]
    app = state()
    outcomes = app.services.consent.carrier_refusals(statuses, current_actor().name)
    for outcome in outcomes:
        app.metrics.decision(outcome, Source.CONTACT)
    results = [
        {"phone": o.status.phone, "sender": o.status.sender, "changed": o.changed,
         "duplicate": o.duplicate, "status": status_json(o.status)}
        for o in outcomes
    ]  # fmt: skip
    return jsonify(recorded=sum(o.changed for o in outcomes), results=results)


def _refusal(item: Any, index: int) -> DeliveryStatus:
    if not isinstance(item, dict):
        raise BadInput(f"Refusal {index + 1} must be a JSON object.")
    known_fields(item, request_fields("CarrierRefusal"))
    code = item.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)  # carriers' codes are numbers in their JSON: 21610, 40300
    if not isinstance(code, str) or not code:
        raise BadInput(f'Refusal {index + 1}: "code" is required (a string or an integer).')
    return DeliveryStatus(
        carrier=required_text(item, "carrier").strip().lower(),
        message_id=optional_text(item, "message_id") or "",
        contact=required_text(item, "phone"),
        sender=required_text(item, "sender"),
        status="refused",
        code=code.strip(),
        received_at=datetime.now(UTC),
    )
