"""`stopline serve`: check everything, say what is configured, then run gunicorn (or Flask)."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import click

from core.config import Settings
from core.text import first_line
from stopline.cli.common import safe_url
from stopline.errors import NotMigrated
from stopline.server.portcheck import address

if TYPE_CHECKING:
    from flask import Flask

    from stopline.wiring import Services


def schema_revisions(settings: Settings) -> tuple[str | None, str]:
    """The database's alembic revision (None when never migrated) and the code's head."""
    from alembic.script import ScriptDirectory

    from stopline.wiring import alembic_config, current_revision

    head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    return current_revision(settings), head or ""


def pending_revisions(settings: Settings, current: str | None) -> list[str]:
    """The migrations between the database's revision and the head, oldest first."""
    from alembic.script import ScriptDirectory

    from stopline.wiring import alembic_config

    script = ScriptDirectory.from_config(alembic_config(settings.database_url))
    steps = script.iterate_revisions("heads", current or "base")
    return [step.revision for step in reversed(list(steps)) if step.revision != current]


def ensure_migrated(settings: Settings) -> None:
    """Refuse to serve an unmigrated database (the hook would fail on every message)."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.errors import DatabaseUnavailable
    from stopline.dbfile import require_file

    require_file(settings)  # connecting would create an empty SQLite file in the wrong place
    try:
        current, head = schema_revisions(settings)
    except SQLAlchemyError as error:
        raise DatabaseUnavailable(
            f"cannot reach the database {safe_url(settings.database_url)}: "
            f"{type(error).__name__}: {first_line(error)}"
        ) from error
    if current != head:
        from stopline.dbfile import relative_note

        found = f"at revision {current}" if current else "not migrated"
        raise NotMigrated(
            f"the database {safe_url(settings.database_url)} is {found}"
            f"{relative_note(settings)} (this stopline needs {head}). "
            "Run `stopline db upgrade` first.",
            current=current,
            head=head,
        )


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
            f"POST {public}/webhooks/twilio"
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
    app.run(host=settings.host, port=settings.port, threaded=True)


def build_app(settings: Settings, services: Services) -> Flask:
    """The app, announced by the banner; no database connection is left open to be forked."""
    from web import create_app

    app = create_app(settings, services)
    for line in banner(settings, services):
        click.echo(line)
    services.database.dispose()
    return app
