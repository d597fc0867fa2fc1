"""The consent API's request bodies: strict JSON, known fields only, clear errors."""

from __future__ import annotations

import difflib
import json
import math
from typing import Any

from flask import request

from web.errors import BadInput
from web.openapi import query_fields, request_fields


def _not_json(token: str) -> float:
    raise ValueError(f"{token} is not JSON")


def _finite(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise ValueError(f"{token} is out of range")
    return value


def json_body(schema: str) -> dict[str, Any]:
    """The request's JSON object, checked against the schema's fields (BadInput otherwise)."""
    body = json_value()
    if not isinstance(body, dict):
        raise BadInput("The request body must be a JSON object.")
    known_fields(body, request_fields(schema))
    return body


def json_value() -> Any:
    """The request's body as JSON, strictly (no NaN, no Infinity); BadInput when it is not."""
    # Parsed whatever the content type: curl's default form type must not turn JSON into a 415.
    # NaN, Infinity and 1e999 (read as Infinity) are refused: the send check echoes invalid
    # entries back, and an answer carrying them is not JSON to any strict parser.
    try:
        # Not kept after parsing: a million-number check is 15 MB of JSON the handler no
        # longer needs (cap_api_body caches it only for a body sent without a length).
        body = json.loads(request.get_data(cache=False), parse_constant=_not_json,
                          parse_float=_finite)  # fmt: skip
    except RecursionError:
        raise BadInput("The request body nests JSON too deeply.") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and the refusals above
        raise BadInput(f"The request body is not valid JSON ({exc}).") from None
    return body


def known_fields(body: dict[str, Any], fields: tuple[str, ...]) -> None:
    """BadInput naming every key the endpoint does not take (and the likely meant one)."""
    unknown = [key for key in body if key not in fields]
    if unknown:
        raise BadInput(unknown_keys("field(s)", unknown, fields))


def unknown_keys(what: str, unknown: list[str], known: tuple[str, ...]) -> str:
    """Names the unknown keys (the likely meant one too) and the ones the endpoint takes."""
    hints = []
    for key in unknown[:5]:
        close = difflib.get_close_matches(key, known, n=1)
        shown = json.dumps(key[:40])
        hints.append(f'{shown} (did you mean "{close[0]}"?)' if close else shown)
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    takes = ", ".join(f'"{name}"' for name in known) or "none"
    listed = ", ".join(hints)
    return f"Unknown {what} {listed}{more}; this endpoint takes {takes}. Nothing was changed."


def optional_text(body: dict[str, Any], key: str) -> str | None:
    """A string field, or None; BadInput for another type."""
    value = body.get(key)
    if value is None or isinstance(value, str):
        return value
    raise BadInput(f'"{key}" must be a string, got {type(value).__name__}.')


def required_text(body: dict[str, Any], key: str) -> str:
    """A string field that must be present and not empty."""
    value = optional_text(body, key)
    if not value:
        raise BadInput(f'"{key}" is required.')
    return value


def known_query() -> None:
    """before_request: a query parameter the endpoint does not take is a 400, like a body key."""
    # `DELETE /v1/optouts/X?sendr=...` would otherwise lift the account-wide opt-out.
    rule = request.url_rule
    allowed = query_fields(rule.rule, request.method) if rule is not None else None
    if allowed is None or not request.args:
        return
    unknown = [key for key in request.args if key not in allowed]
    if unknown:
        raise BadInput(unknown_keys("query parameter(s)", unknown, allowed))
