"""Operations endpoints: /healthz for load balancers, /metrics for Prometheus."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify

from core.carrier_settings import CARRIER_NAMES, CarrierState
from core.errors import StoplineError
from web.context import AppState, state
from web.serialize import iso

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)
RULES_WAIT = 1.0  # seconds /healthz waits for a check of the rules file (never for longer)


def _database(app: AppState) -> str:
    try:
        report = app.services.consent.health()
    except StoplineError as exc:
        return exc.message
    except Exception as exc:  # a health check reports every failure, it never raises one
        log.exception("health check of the database failed")
        return f"error: {type(exc).__name__}"
    return str(report.get("database", "unknown"))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _rules(app: AppState) -> dict[str, Any]:
    holder = app.services.rules
    # Have the watcher look at the file now, so /healthz shows a broken rules.yml even before
    # a message comes; a load that takes longer than RULES_WAIT shows on a later call.
    holder.refresh(RULES_WAIT)
    loaded_at = holder.loaded_at
    last_error = _text(holder.last_error)
    return {
        # "degraded": the file on disk was refused, the last good rules (this version) decide
        "state": "degraded" if last_error else "ok",
        "version": holder.version,
        "loaded_at": iso(loaded_at) if loaded_at is not None else None,
        "backend": holder.backend,
        # which evaluator decides and why: "durable-rules 2.0.28" or "python (...)"
        "evaluator": holder.evaluator,
        "last_error": last_error,
        "reloads": holder.reloads,
        "failures": holder.failures,
    }


def _carrier(carrier: CarrierState) -> dict[str, Any]:
    return {
        "configured": carrier.configured,
        "missing": list(carrier.missing),
        "replies": carrier.replies,
        "summary": carrier.banner(),
    }


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the database answers and rules are loaded, else 503 with what is wrong.

    A refused rules.yml is a "warning" with 200: the last good rules are in force and STOP is
    honoured, and every instance reads the same file, so a 503 would take them all out.
    """
    app = state()
    settings = app.settings
    database = _database(app)
    rules = _rules(app)
    healthy = database == "ok" and bool(rules["version"])
    status = "degraded" if not healthy else ("warning" if rules["last_error"] else "ok")
    body = {
        "status": status,
        "database": database,
        "rules": rules,
        "twilio": settings.twilio_configured,
        "carriers": {name: _carrier(settings.carrier(name)) for name in CARRIER_NAMES},
        "api": bool(settings.api_token_names()),
        "slack": "configured" if settings.slack_configured else "off",
    }
    return jsonify(body), 200 if healthy else 503


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text of the server's counters (all workers' under `stopline serve`)."""
    metrics = state().metrics
    return Response(metrics.render(), content_type=metrics.content_type)
