"""Every error leaves as JSON {"error", "detail"} with the right status; never a stack trace."""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from core.errors import (
    Conflict,
    DatabaseUnavailable,
    InvalidPhoneNumber,
    NotAllowed,
    NotFound,
    RulesError,
    StoplineError,
)
from web.request_metrics import count_failure

log = logging.getLogger(__name__)

_STATUS: list[tuple[type[StoplineError], int]] = [
    (InvalidPhoneNumber, 400),
    (NotAllowed, 403),
    (NotFound, 404),
    (Conflict, 409),
    # Nothing was stored: 503 tells a carrier to retry instead of losing an opt-out.
    (DatabaseUnavailable, 503),
    (RulesError, 503),
]


class BadInput(StoplineError):
    """A request whose body or query does not have the expected shape."""

    code = "bad_request"


def json_error(status: int, error: str, detail: str) -> Response:
    """A JSON error response."""
    response = jsonify(error=error, detail=detail)
    response.status_code = status
    return response


def status_for(exc: StoplineError) -> int:
    """The HTTP status of a domain error."""
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _domain(exc: StoplineError) -> Response:
    count_failure(exc)
    status = status_for(exc)
    if status >= 500:
        log.error("request failed: %s", exc.message)
    response = json_error(status, exc.code, exc.detail)
    if isinstance(exc, DatabaseUnavailable):
        response.headers["Retry-After"] = "5"
    return response


def _http(exc: HTTPException) -> Response:
    status = exc.code or 500
    detail = exc.description or exc.name
    response = json_error(status, _snake(exc.name), detail)
    # Keep the headers werkzeug chose (Allow on 405, WWW-Authenticate on 401).
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _unexpected(exc: Exception) -> Response:
    count_failure(exc)
    log.exception("unexpected error while handling a request")
    return json_error(500, "internal_error", "Something went wrong on our side; it was logged.")


def register(app: Flask) -> None:
    """Install the error handlers on an app."""
    app.register_error_handler(StoplineError, _domain)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
