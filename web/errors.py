"""Every error leaves as JSON {"error", "detail"} with the right status; never a stack trace.

Only the client's own mistakes are 4xx. Every failure on stopline's side (the ledger, the
rules, the watchdog's cut, a bug) is 503 with Retry-After: a carrier retries a 5xx and never
a 4xx, so a 4xx for our failure would be a STOP lost.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from core.errors import (
    Conflict,
    InvalidInput,
    InvalidPhoneNumber,
    NotAllowed,
    NotFound,
    ServiceFailure,
    StoplineError,
    answer_for,
)
from ledger.dialects import DATABASE_ERRORS
from web.request_metrics import count_failure

log = logging.getLogger(__name__)
RETRY_AFTER = "5"  # seconds: the watchdog and the busy timeouts clear within that
UNAVAILABLE = 503

# The broad kinds of domain error and their statuses, read from core.errors.ANSWERS (the one
# table): tests/web/test_error_mapping.py fails on a StoplineError subclass in none of them.
STATUS: tuple[tuple[type[StoplineError], int], ...] = tuple(
    (kind, answer_for(kind).http_status)
    for kind in (InvalidPhoneNumber, InvalidInput, NotAllowed, NotFound, Conflict, ServiceFailure)
)


class BadInput(InvalidInput):
    """A request whose body or query does not have the expected shape."""

    code = "bad_request"


def json_error(status: int, error: str, detail: str) -> Response:
    """A JSON error response."""
    response = jsonify(error=error, detail=detail)
    response.status_code = status
    return response


def status_for(exc: StoplineError) -> int:
    """The HTTP status of a domain error (core.errors.ANSWERS); one of no known kind is 503."""
    return answer_for(exc).http_status


def unavailable(error: str, detail: str) -> Response:
    """503 with Retry-After: stopline failed, nothing was stored, the caller should retry."""
    response = json_error(UNAVAILABLE, error, detail)
    response.headers["Retry-After"] = RETRY_AFTER
    return response


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _domain(exc: StoplineError) -> Response:
    count_failure(exc)
    status = status_for(exc)
    if status < 500:
        return json_error(status, exc.code, exc.detail)
    if not isinstance(exc, ServiceFailure):
        log.error("%s is mapped to no status (taken as ours): %s", type(exc).__name__, exc)
    log.error("request failed: %s", exc.message)
    return unavailable(exc.code, exc.detail)


def _http(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status >= 500:
        # Flask hands an unhandled exception here as InternalServerError (this handler is
        # found before the one for Exception): ours, so a 503 the caller retries.
        original = getattr(exc, "original_exception", None)
        if isinstance(original, Exception):
            return _unexpected(original)
        log.error("request failed with %d: %s", status, exc.description or exc.name)
        return unavailable(_snake(exc.name), exc.description or exc.name)
    detail = exc.description or exc.name
    response = json_error(status, _snake(exc.name), detail)
    # Keep the headers werkzeug chose (Allow on 405, WWW-Authenticate on 401).
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _unexpected(exc: Exception) -> Response:
    if isinstance(exc, StoplineError):
        return _domain(exc)
    count_failure(exc)
    if isinstance(exc, DATABASE_ERRORS):
        log.exception("database error while handling a request")
        return unavailable(
            "database_unavailable",
            "The consent ledger failed; nothing was stored. Try again.",
        )
    log.exception("unexpected error while handling a request")
    return unavailable(
        "internal_error", "Something went wrong on our side; it was logged. Try again."
    )


def register(app: Flask) -> None:
    """Install the error handlers on an app."""
    app.register_error_handler(StoplineError, _domain)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
