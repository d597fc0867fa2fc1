"""The consent API (/v1): status, the send check, opt-outs, export, history and reviews."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import MethodNotAllowed

from core.model import CheckResult, Source
from core.phone import normalize_phone
from core.reviews import MAX_LIST as REVIEW_LIST_MAX
from web.auth import current_actor, require_token
from web.context import state
from web.csv_export import csv_response, parse_since
from web.errors import BadInput
from web.jsonbody import json_body, known_query, optional_text, required_text
from web.limits import cap_api_body
from web.serialize import event_json, outcome_json, review_json, status_json

bp = Blueprint("api", __name__, url_prefix="/v1")
bp.before_request(require_token)
bp.before_request(cap_api_body)


bp.before_request(known_query)


def _query(name: str) -> str | None:
    value = request.args.get(name)
    return value if value else None


def _phone_query(name: str) -> str | None:
    value = _query(name)
    # An unencoded "+" in a query string arrives as a space: " 442071838750" can only have
    # been "+442071838750", so take it as meant instead of misreading it as a US number.
    if value and value[0] == " " and value[1:].isdigit():
        return "+" + value[1:]
    return value


@bp.get("/consent/<phone>")
def consent_status(phone: str) -> Response:
    """A contact's consent as seen from one sender (or the account)."""
    status = state().services.consent.status(phone, _phone_query("sender"))
    return jsonify(status_json(status))


@bp.get("/consent/check")
def consent_check_get() -> Response:
    """The send check takes its numbers in a POST body; a GET is 405, not a phone lookup."""
    raise MethodNotAllowed(valid_methods=["POST"])


@bp.post("/consent/check")
def consent_check() -> Response:
    """Split a list of numbers (up to millions) into sendable, suppressed and invalid."""
    body = json_body("CheckRequest")
    sender = required_text(body, "sender")
    phones = body.get("phones")
    if not isinstance(phones, list):
        raise BadInput('"phones" must be a list of phone numbers.')
    result = state().services.consent.check(sender, phones)
    del body, phones  # the request's copy is no longer needed while the answer streams
    return Response(_stream_check(result), mimetype="application/json")


def _stream_check(result: CheckResult, batch: int = 10_000) -> Iterator[str]:
    # Encode in slices, so no second full copy of the answer is built.
    groups: tuple[tuple[str, Sequence[object], Callable[[Sequence[Any]], str]], ...] = (
        ("sendable", result.sendable, _numbers_json),
        ("suppressed", result.suppressed, _numbers_json),
        ("invalid", result.invalid, _any_json),
    )  # fmt: skip
    for index, (key, items, encode) in enumerate(groups):
        yield ("{" if index == 0 else ",") + f'"{key}":['
        for start in range(0, len(items), batch):
            chunk = encode(items[start : start + batch])
            yield chunk if start == 0 else "," + chunk
        yield "]"
    yield "}"


def _numbers_json(numbers: Sequence[str]) -> str:
    """E.164 numbers as the inside of a JSON array: '"+1...","+1..."'."""
    # "+" and digits need no escaping, so a join is four times faster than json.dumps. The
    # checks (in C) still send anything else through json.dumps: a character outside the
    # number's alphabet, or a quote that is not one of the join's own.
    text = '","'.join(numbers)
    if (
        text.isascii()
        and not text.encode().translate(None, b'0123456789+",')
        and text.count('"') == 2 * (len(numbers) - 1)
    ):
        return f'"{text}"'
    return _any_json(numbers)


def _any_json(items: Sequence[object]) -> str:
    return json.dumps(list(items))[1:-1]


@bp.post("/optouts")
def opt_out() -> tuple[Response, int]:
    """Opt a contact out for one sender, or for the account when no sender is given."""
    body = json_body("OptOutRequest")
    app = state()
    outcome = app.services.consent.opt_out(
        required_text(body, "phone"), optional_text(body, "sender"), current_actor(),
        optional_text(body, "reason"),
    )
    app.metrics.decision(outcome, Source.API)
    return jsonify(outcome_json(outcome)), 201


@bp.delete("/optouts/<phone>")
def opt_in(phone: str) -> Response:
    """Opt a contact back in, if the opt-out was not the contact's own."""
    app = state()
    outcome = app.services.consent.opt_in(
        phone, _phone_query("sender"), current_actor(), _query("reason")
    )
    app.metrics.decision(outcome, Source.API)
    return jsonify(outcome_json(outcome))


@bp.get("/optouts")
def export() -> Response:
    """Every opted-out scope row as CSV (?since=, ?until= (exclusive), ?sender=)."""
    sender = _phone_query("sender")
    chunks = state().services.consent.export_csv(
        parse_since(_query("since")), sender, until=parse_since(_query("until"))
    )
    return csv_response(chunks, sender)


@bp.get("/contacts/<phone>/events")
def events(phone: str) -> Response:
    """A contact's history, newest first as the ledger returns it."""
    app = state()
    normalized = normalize_phone(phone, app.settings.default_region)
    limit = request.args.get("limit", "200")
    # isascii: "²" is a digit to str.isdigit() but not to int().
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= 10_000:
        raise BadInput(f"limit={limit!r} must be a whole number from 1 to 10000.")
    found = app.services.consent.events(normalized, int(limit))
    return jsonify(phone=normalized, events=[event_json(event) for event in found])


def _limit(default: int | None, most: int) -> int | None:
    """?limit= as a whole number from 1 to `most` (the default when absent)."""
    raw = request.args.get("limit")
    if raw is None:
        return default
    # isascii: "²" is a digit to str.isdigit() but not to int().
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= most:
        raise BadInput(f"limit={raw[:40]!r} must be a whole number from 1 to {most}.")
    return int(raw)


@bp.get("/reviews")
def reviews() -> Response:
    """Review items (?status=open|decided|all, open by default), optionally for one contact."""
    # A bad status is the service's 400, which names the allowed values.
    found = state().services.consent.reviews(
        _phone_query("phone"), _query("status") or "open", _limit(None, REVIEW_LIST_MAX)
    )
    return jsonify(reviews=[review_json(item) for item in found])


@bp.post("/reviews/<int:review_id>/decision")
def decide_review(review_id: int) -> Response:
    """Close a review item: {"opt_out": true} opts the contact out, false dismisses it."""
    opt_out = json_body("DecisionRequest").get("opt_out")
    if not isinstance(opt_out, bool):
        raise BadInput('"opt_out" must be true (an opt-out) or false (not an opt-out).')
    item = state().services.consent.decide_review(review_id, opt_out, current_actor())
    return jsonify(review_json(item))
