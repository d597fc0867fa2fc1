"""The app factory: settings and services in, a Flask app out; nothing is built at import."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Request, request
from flask.typing import ResponseReturnValue

from core.config import Settings
from core.doors import DoorServices
from core.phone import canonical_nanp, canonical_nanp_lines
from core.ports import Notices
from web import api, errors, openapi, ops, refusals, request_metrics
from web.carriers import BLUEPRINTS
from web.context import AppState, install
from web.limits import cap_small_bodies
from web.metrics import Metrics

# Slack's signed requests, checked and answered by the composition root (stopline.slack_http):
# web/ only routes them, so it loads no Slack library.
SlackHandler = Callable[[Request], ResponseReturnValue]


def create_app(
    settings: Settings,
    services: DoorServices,
    *,
    notifier: Notices | None = None,
    slack_handler: SlackHandler | None = None,
) -> Flask:
    """Build the web app from what the composition root built (stopline.wiring.build_app)."""
    # The number patterns are compiled now (a fraction of a second), before gunicorn forks,
    # not while a contact's STOP or a send check waits.
    canonical_nanp(), canonical_nanp_lines()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_webhook_body
    app.json.sort_keys = False  # type: ignore[attr-defined]
    install(app, AppState(settings, services, Metrics(services.rules), notifier))
    errors.register(app)
    app.before_request(cap_small_bodies)
    request_metrics.install(app)
    for blueprint in (*BLUEPRINTS, api.bp, refusals.bp, ops.bp, openapi.bp):
        app.register_blueprint(blueprint)
    if slack_handler is not None:
        _route_slack(app, slack_handler)
    return app


def _route_slack(app: Flask, handler: SlackHandler) -> None:
    def slack_events() -> ResponseReturnValue:
        return handler(request)

    app.add_url_rule("/slack/events", "slack_events", slack_events, methods=["POST"])
