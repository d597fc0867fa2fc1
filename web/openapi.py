"""GET /openapi.json: an OpenAPI 3.1 description of the hook, the consent API and the schemas."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify

from core.carrier_settings import CARRIER_NAMES, DOOR_PATHS
from core.text import REASON_LIMIT

bp = Blueprint("openapi", __name__)

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_PHONE = {"type": "string", "examples": ["+12065550100"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Bad input (invalid phone number, bad JSON, an unknown field, a field too long)",
        401: "Missing or wrong bearer token",
        403: "Not allowed (e.g. opting in a contact's own opt-out)",
        404: "Not found",
        409: "Conflict (the review item was already decided)",
        413: "Body too large",
        503: "Not configured, or a failure on stopline's side (retry after Retry-After)",
    }
    return {str(code): _json(_ref("Error"), text[code]) for code in codes}


def _query(name: str, description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": _STR}  # fmt: skip


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _PHONE}


_API_ERRORS = (400, 401, 503)
_SENDER = _query("sender", "Business sender number or short code; omit for the account.")

# The JSON bodies the API takes. web.api refuses a key not named here (a misspelt "snder"
# must not silently become an account-wide opt-out), so the document and the check agree.
REQUESTS: dict[str, dict[str, Any]] = {
    "CheckRequest": {"type": "object", "required": ["sender", "phones"],
                     "additionalProperties": False, "properties": {
        "sender": _PHONE, "phones": {"type": "array", "items": _STR}}},
    "OptOutRequest": {"type": "object", "required": ["phone"], "additionalProperties": False,
                      "properties": {
        "phone": _PHONE, "sender": _NSTR,
        "reason": {"type": ["string", "null"], "maxLength": REASON_LIMIT}}},
    "CarrierRefusal": {"type": "object", "required": ["carrier", "code", "phone", "sender"],
                       "additionalProperties": False,
                       "description": "A send the carrier refused because the recipient "
                                      "opted out (Twilio 21610, Telnyx 40300, ...)",
                       "properties": {
        "carrier": {"enum": list(CARRIER_NAMES)}, "code": {"type": ["string", "integer"]},
        "phone": _PHONE, "sender": _PHONE, "message_id": _NSTR}},
    "DecisionRequest": {"type": "object", "required": ["opt_out"],
                        "additionalProperties": False,
                        "properties": {"opt_out": {"type": "boolean"}}},
}  # fmt: skip


def request_fields(name: str) -> tuple[str, ...]:
    """The keys a request body of this schema may have."""
    return tuple(REQUESTS[name]["properties"])


_SCHEMAS: dict[str, Any] = {
    **REQUESTS,
    "Error": {"type": "object", "required": ["error", "detail"],
              "properties": {"error": _STR, "detail": _STR}},
    "ConsentStatus": {"type": "object", "properties": {
        "phone": _PHONE, "sender": _NSTR,
        "status": {"enum": ["subscribed", "opted_out"]}, "can_send": {"type": "boolean"},
        "opted_out_by": {"enum": ["contact", "agent", "api", "import", None]},
        "scope": {"enum": ["sender", "account", None]},
        "since": {"type": ["string", "null"], "format": "date-time"}}},
    "Outcome": {"allOf": [_ref("ConsentStatus"), {"type": "object", "properties": {
        "changed": {"type": "boolean"}, "transition": _STR, "rule": _STR,
        "rules_version": _STR, "event_id": {"type": ["integer", "null"]}}}]},
    "CheckResult": {"type": "object", "properties": {
        key: {"type": "array", "items": _STR} for key in ("sendable", "suppressed", "invalid")}},
    "Event": {"type": "object", "properties": {
        "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
        **{key: _NSTR for key in (
            "contact", "sender", "scope", "action", "previous_status", "new_status", "source",
            "actor", "message_text", "keyword", "rule", "rules_version", "carrier",
            "carrier_message_id", "reason", "contact_received", "sender_received")}}},
    "Review": {"type": "object", "properties": {
        "id": {"type": "integer"}, **{key: _NSTR for key in (
            "contact", "sender", "message_text", "phrase", "opened_at", "deadline", "status",
            "decision", "decided_by", "decided_at", "carrier", "carrier_message_id")}}},
    # The one body that takes keys it does not name: Twilio adds parameters without notice,
    # each one signed, and refusing them would lose STOPs.
    "TwilioInbound": {"type": "object", "required": ["From", "To", "MessageSid"],
                      "description": "Twilio's form; parameters Twilio adds are signed and taken.",
                      "additionalProperties": {"type": "string"}, "properties": {
        "From": _PHONE, "To": _PHONE, "Body": _STR, "MessageSid": _STR, "SmsSid": _STR}},
}  # fmt: skip

_PATHS: dict[str, Any] = {
    "/webhooks/twilio": {"post": {
        "summary": "Twilio inbound SMS hook (signed with X-Twilio-Signature)",
        "security": [],
        "parameters": [{"name": "X-Twilio-Signature", "in": "header", "required": True,
                        "schema": _STR}],
        "requestBody": {"required": True, "content": {
            "application/x-www-form-urlencoded": {"schema": _ref("TwilioInbound")}}},
        "responses": {"200": {"description": "TwiML: the confirmation or help reply, or nothing",
                              "content": {"text/xml": {"schema": _STR}}},
                      **_errors(400, 413, 503),
                      "403": _json(_ref("Error"), "X-Twilio-Signature missing or wrong")}}},
    "/v1/carrier-refusals": {"post": {
        "summary": "Record refusals a sending system got from its carrier (recipient opted out)",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "oneOf": [_ref("CarrierRefusal"),
                      {"type": "array", "items": _ref("CarrierRefusal"), "maxItems": 500}]}}}},
        "responses": {"200": {"description": "Recorded (each as the contact's own opt-out)"},
                      **_errors(*_API_ERRORS, 413)}}},
    "/v1/consent/{phone}": {"get": {
        "summary": "A contact's consent as seen from one sender",
        "parameters": [_path("phone"), _SENDER],
        "responses": {"200": _json(_ref("ConsentStatus"), "Consent"), **_errors(*_API_ERRORS)}}},
    "/v1/consent/check": {"post": {
        "summary": "Which numbers may be texted from a sender (up to millions per call)",
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": _ref("CheckRequest")}}},
        "responses": {"200": _json(_ref("CheckResult"), "Split numbers"),
                      **_errors(*_API_ERRORS, 413)}}},
    "/v1/optouts": {
        "post": {"summary": "Opt a contact out (for one sender, or the account)",
                 "requestBody": {"required": True, "content": {
                     "application/json": {"schema": _ref("OptOutRequest")}}},
                 "responses": {"201": _json(_ref("Outcome"), "Recorded"),
                               **_errors(*_API_ERRORS, 403)}},
        "get": {"summary": "Export opted-out contacts as CSV (formula cells neutralised)",
                "parameters": [
                    _query("since", "Opted out at or after: YYYY-MM-DD (midnight UTC) or "
                                    "ISO-8601 time (UTC when no offset)"),
                    _query("until", "Opted out before (exclusive), same forms; later than "
                                    "since, or a 400"), _SENDER],
                "responses": {"200": {"description": "CSV", "content": {
                    "text/csv": {"schema": _STR}}}, **_errors(*_API_ERRORS)}}},
    "/v1/optouts/{phone}": {"delete": {
        "summary": "Opt a contact back in (refused for a contact's own opt-out)",
        "parameters": [_path("phone"), _SENDER, _query("reason", "Why, for the ledger")],
        "responses": {"200": _json(_ref("Outcome"), "Recorded"),
                      **_errors(*_API_ERRORS, 403)}}},
    "/v1/contacts/{phone}/events": {"get": {
        "summary": "A contact's consent history",
        "parameters": [_path("phone"), _query("limit", "At most this many events (1-10000)")],
        "responses": {"200": _json({"type": "object", "properties": {
            "phone": _PHONE, "events": {"type": "array", "items": _ref("Event")}}}, "History"),
            **_errors(*_API_ERRORS)}}},
    "/v1/reviews": {"get": {
        "summary": "Review items (possible opt-outs in plain words): open, decided or all",
        "parameters": [
            _query("phone", "Only this contact"),
            {"name": "status", "in": "query", "required": False,
             "description": "open (the default): waiting for an agent, oldest first; decided: "
                            "closed ones, the latest decision first (closed, the items' own "
                            "word, works too); all: open, then decided. Any other value is "
                            "a 400 naming these.",
             "schema": {"enum": ["open", "decided", "all"], "default": "open"}},
            {"name": "limit", "in": "query", "required": False,
             "description": "At most this many items (1-10000); all of them when omitted",
             "schema": {"type": "integer", "minimum": 1, "maximum": 10000}}],
        "responses": {"200": _json({"type": "object", "properties": {
            "reviews": {"type": "array", "items": _ref("Review")}}}, "Review items"),
            **_errors(*_API_ERRORS)}}},
    "/v1/reviews/{review_id}/decision": {"post": {
        "summary": "Decide a review item; the first decision wins (409 after that)",
        "parameters": [{"name": "review_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": _ref("DecisionRequest")}}},
        "responses": {"200": _json(_ref("Review"), "Closed"),
                      **_errors(*_API_ERRORS, 404, 409)}}},
    "/healthz": {"get": {"summary": "Database and rules health", "security": [],
                         "responses": {"200": {"description": "Healthy"},
                                       "503": {"description": "Degraded"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "security": [],
                         "responses": {"200": {"description": "Exposition text"}}}},
}  # fmt: skip


def _carrier_doors() -> None:
    """Every carrier door's path (the Twilio inbound hook is described in full above)."""
    for carrier, paths in DOOR_PATHS.items():
        for path in paths:
            _PATHS.setdefault(path, {"post": {
                "summary": f"{carrier}: texts from contacts and statuses of sent messages "
                           "(checked as the README's Carriers section says)",
                "security": [],
                "responses": {"200": {"description": "Taken (or a status ignored)"},
                              **_errors(400, 413, 503),
                              "401": _json(_ref("Error"), "Credentials missing or wrong"),
                              "403": _json(_ref("Error"), "Signature missing or wrong")}}})


_carrier_doors()


def query_fields(rule: str, method: str) -> tuple[str, ...] | None:
    """The query parameters documented for a Flask rule and method; None when undocumented."""
    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)
    operation = _PATHS.get(path, {}).get("get" if method == "HEAD" else method.lower())
    if operation is None:
        return None
    return tuple(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "stopline",
            "version": "1",
            "description": "SMS consent ledger: the carriers' hooks and the consent API.",
        },
        "security": [{"bearer": []}],
        "paths": _PATHS,
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI 3.1 document."""
    return jsonify(document())
