"""The app factory: settings and services in, a Flask app out; nothing is built at import."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask

from core.config import Settings
from core.phone import canonical_nanp, canonical_nanp_lines
from web import api, errors, openapi, ops, request_metrics, twilio
from web.context import AppState, install
from web.limits import cap_small_bodies
from web.metrics import Metrics

if TYPE_CHECKING:
    from stopline.wiring import Services


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """Build the web app; services default to build_services(settings)."""
    if settings is None:
        settings = services.settings if services is not None else Settings()
    if services is None:
        from stopline.wiring import build_services  # the heavy wiring happens only here

        services = build_services(settings)
    # The number patterns are compiled now (a fraction of a second), before gunicorn forks,
    # not while a contact's STOP or a send check waits.
    canonical_nanp(), canonical_nanp_lines()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_webhook_body
    app.json.sort_keys = False  # type: ignore[attr-defined]
    notifier = None
    if settings.slack_can_post and settings.slack_channel:
        from bot.notify import build_notifier  # Slack's libraries load only when Slack is set up

        notifier = build_notifier(settings, services)
    install(app, AppState(settings, services, Metrics(services.rules), notifier))
    errors.register(app)
    app.before_request(cap_small_bodies)
    request_metrics.install(app)
    for blueprint in (twilio.bp, api.bp, ops.bp, openapi.bp):
        app.register_blueprint(blueprint)
    if settings.slack_configured:
        from web.slack import mount  # Slack's libraries load only when Slack is configured

        mount(app, settings, services)
    return app
