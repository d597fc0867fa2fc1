"""`stopline serve`: check everything, say what is configured, then run gunicorn (or Flask)."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import click

from core.carrier_settings import CARRIER_NAMES, DOOR_PATHS
from core.config import Settings
from stopline.server.portcheck import address
from stopline.wiring import ensure_migrated, safe_url, start_outbox

if TYPE_CHECKING:
    from flask import Flask

    from stopline.wiring import Services


def banner(settings: Settings, services: Services) -> list[str]:
    """What a person starting the server needs to know: where, what works, what to set."""
    base = f"http://{address(settings.host, settings.port)}"
    public = (settings.public_url or base).rstrip("/")
    rules = services.rules
    lines = [
        f"stopline listening on {base}  (health: {base}/healthz, metrics: {base}/metrics)",
        f"  database: {safe_url(settings.database_url)}",
        f"  rules:    {settings.rules_path} (version {rules.version[:12]}, reloaded every "
        f"{settings.rules_reload_interval:g}s and on SIGHUP)",
        f"  evaluator: {rules.evaluator}",
    ]
    if settings.twilio_configured:
        lines.append(
            f"  Twilio:   configured; set the number's messaging webhook to "
            f"POST {public}/webhooks/twilio (statuses: {public}/webhooks/twilio/status); "
            f"{settings.carrier('twilio').replies_summary()}"
        )
        if not settings.public_url:
            lines.append(
                "            behind a proxy or tunnel, set STOPLINE_PUBLIC_URL to the "
                "URL Twilio calls, or signatures will not match"
            )
    else:
        lines.append(
            "  Twilio:   NOT configured: set TWILIO_AUTH_TOKEN (the hook answers 503 until then)"
        )
    for name in CARRIER_NAMES[1:]:  # Twilio's lines are above
        carrier = settings.carrier(name)
        urls = ", ".join(public + path for path in DOOR_PATHS[name])
        on = f"on; POST {urls}; {carrier.replies_summary()}"
        shown = on if carrier.configured else carrier.banner()
        lines.append(f"  {name.capitalize() + ':':<9} {shown}")
    names = sorted(set(settings.api_token_names().values()))
    if names:
        lines.append(
            f"  API:      configured (tokens: {', '.join(names)}); "
            f"Authorization: Bearer <token> on {base}/v1/..."
        )
    else:
        lines.append(
            "  API:      NOT configured: set STOPLINE_API_TOKEN (the API answers 503 until then)"
        )
    if settings.slack_configured:
        lines.append(f"  Slack:    configured; commands and buttons at {base}/slack/events")
    else:
        lines.append(
            "  Slack:    NOT configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
            "(or run `stopline slack` with SLACK_APP_TOKEN for Socket Mode)"
        )
    if settings.slack_can_post:
        channel = settings.slack_channel or "none (set STOPLINE_SLACK_CHANNEL)"
        lines.append(f"  Notices:  Slack channel {channel}")
    return lines


def run(settings: Settings) -> None:
    """Check rules and schema, build the app once, print the banner, then serve until stopped."""
    from stopline.cli.common import fail
    from stopline.dbfile import empty_relative_warning
    from stopline.server.portcheck import port_problem
    from stopline.wiring import build_services

    services = build_services(settings)  # RulesError here stops start-up with the file's problems
    ensure_migrated(settings)
    warning = empty_relative_warning(settings, services.database)
    if warning is not None:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    problem = port_problem(settings.host, settings.port)
    if problem is not None:  # before the banner's "listening on": nothing would listen
        services.close()
        fail(problem)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    services.rules.log_evaluator()  # once per start, in the server's log
    if sys.platform.startswith("linux"):
        from stopline.server.gunicorn_app import serve_gunicorn, shared_metrics

        # Before the app is built: its counters must go to files every worker writes to.
        with shared_metrics():
            serve_gunicorn(settings, services, build_app(settings, services))
        return
    app = build_app(settings, services)
    click.secho(
        "Warning: gunicorn runs on Linux only; using Flask's development server "
        "(one process, not for production).",
        fg="yellow",
        err=True,
    )
    services.rules.install_sighup()
    services.rules.start_watching()
    start_outbox(app)  # one process, no fork: replies left from a previous run go out now
    app.run(host=settings.host, port=settings.port, threaded=True)


def build_app(settings: Settings, services: Services) -> Flask:
    """The app, announced by the banner; no database connection is left open to be forked."""
    from stopline.wiring import wire_app

    app = wire_app(settings, services)
    for line in banner(settings, services):
        click.echo(line)
    services.database.dispose()
    return app
