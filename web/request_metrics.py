"""Per-request metrics: counts and latency by route, and the database failures requests hit.

Labels stay bounded whatever a client sends: the route is the url_rule ("unmatched" for every
path no route matches) and a method outside METHODS is "other".
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import time

from flask import Flask, Response, g, request
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from core.errors import DatabaseUnavailable
from web.context import state

log = logging.getLogger(__name__)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STARTED = "stopline_started"


def install(app: Flask) -> None:
    """Time every request from before its first before_request hook, count it after."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)


def _start() -> None:
    setattr(g, _STARTED, time.perf_counter())


def _finish(response: Response) -> Response:
    rule = request.url_rule
    endpoint = rule.rule if rule is not None else "unmatched"
    method = request.method if request.method in METHODS else "other"
    metrics = state().metrics
    metrics.request(endpoint, method, response.status_code)
    started = getattr(g, _STARTED, None)
    if started is None:
        return response
    if response.is_streamed:
        # A streamed export's time is until the server has sent its last chunk and closed it.
        response.call_on_close(
            lambda: metrics.duration(endpoint, method, time.perf_counter() - started)
        )
    else:
        metrics.duration(endpoint, method, time.perf_counter() - started)
    return response


def database_error_kind(exc: BaseException) -> str | None:
    """The kind of database failure behind an error (metrics.DATABASE_ERROR_KINDS), or None."""
    if isinstance(exc, DatabaseUnavailable):
        return exc.kind
    if isinstance(exc, IntegrityError):
        return "integrity"
    # Or the drivers' own errors, from the raw connection of a contact's transaction.
    psycopg = sys.modules.get("psycopg")  # only when something imported it
    if isinstance(exc, SQLAlchemyError | sqlite3.Error) or (
        psycopg is not None and isinstance(exc, psycopg.Error)
    ):
        return "other"
    return None


def count_failure(exc: BaseException) -> None:
    """The error handlers' one hook: count a request's database failure, if it was one."""
    try:
        kind = database_error_kind(exc)
        if kind is not None:
            state().metrics.database_error(kind)
    except Exception:  # counting must never turn a clean error answer into a crash
        log.exception("could not count a failure in the metrics")
