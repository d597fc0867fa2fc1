"""`stopline serve`: check everything, say what is configured, then run gunicorn (or Flask)."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

import click

from core.config import Settings
from core.errors import StoplineError
from stopline.cli_common import safe_url

if TYPE_CHECKING:
    from flask import Flask

    from stopline.bootstrap import Services


class NotMigrated(StoplineError):
    """The database schema is missing or older than this version of stopline."""

    code = "not_migrated"


def schema_revisions(settings: Settings) -> tuple[str | None, str]:
    """The database's alembic revision (None when never migrated) and the code's head."""
    from alembic.script import ScriptDirectory

    from stopline.bootstrap import alembic_config, current_revision

    head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    return current_revision(settings), head or ""


def ensure_migrated(settings: Settings) -> None:
    """Refuse to serve an unmigrated database (the hook would fail on every message)."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.errors import DatabaseUnavailable

    try:
        current, head = schema_revisions(settings)
    except SQLAlchemyError as error:
        raise DatabaseUnavailable(
            f"cannot reach the database {safe_url(settings.database_url)}: "
            f"{type(error).__name__}: {str(error).splitlines()[0]}"
        ) from error
    if current != head:
        found = f"at revision {current}" if current else "not migrated"
        raise NotMigrated(
            f"the database {safe_url(settings.database_url)} is {found} (this stopline needs "
            f"{head}). Run `stopline db upgrade` first."
        )


def banner(settings: Settings, services: Services) -> list[str]:
    """What a person starting the server needs to know: where, what works, what to set."""
    base = f"http://{settings.host}:{settings.port}"
    public = (settings.public_url or base).rstrip("/")
    rules = services.rules
    lines = [
        f"stopline listening on {base}  (health: {base}/healthz, metrics: {base}/metrics)",
        f"  database: {safe_url(settings.database_url)}",
        f"  rules:    {settings.rules_path} (version {rules.version[:12]}, "
        f"{getattr(rules, 'backend', '?')} engine, reloaded every "
        f"{settings.rules_reload_interval:g}s and on SIGHUP)",
    ]
    if getattr(rules, "backend", "durable") == "python":
        lines.append("  note:     durable-rules unavailable here; the Python evaluator decides")
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
        lines.append("  Slack:    tokens set (the Slack bot is not part of this release yet)")
    else:
        lines.append(
            "  Slack:    NOT configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
            "(the Slack bot comes in a later release)"
        )
    return lines


def run(settings: Settings) -> None:
    """Check rules and schema, build the app once, print the banner, then serve until stopped."""
    from stopline.bootstrap import build_services
    from web import create_app

    services = build_services(settings)  # RulesError here stops start-up with the file's problems
    ensure_migrated(settings)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(settings, services)
    for line in banner(settings, services):
        click.echo(line)
    services.database.dispose()  # no connection may be shared with the forked workers
    if sys.platform.startswith("linux"):
        serve_gunicorn(settings, services, app)
        return
    click.secho(
        "Warning: gunicorn runs on Linux only; using Flask's development server "
        "(one process, not for production).",
        fg="yellow",
        err=True,
    )
    services.rules.install_sighup()
    app.run(host=settings.host, port=settings.port, threaded=True)


def serve_gunicorn(settings: Settings, services: Services, app: Flask) -> None:
    """Run gunicorn in this process; workers are forked from the app loaded here (preload)."""
    from gunicorn.app.base import BaseApplication

    def pre_fork(server: object, worker: object) -> None:
        # The master refreshes its rules before each fork (a SIGHUP restarts the workers), so
        # a new worker starts with the newest good rules; a broken file keeps the last good.
        services.rules.check_now()

    def post_fork(server: object, worker: object) -> None:
        # Pooled connections must never cross a fork; close=False leaves the parent's alone.
        services.database.engine.dispose(close=False)

    class Server(BaseApplication):
        def __init__(self, options: dict[str, Any]) -> None:
            self.options = options
            super().__init__()

        def load_config(self) -> None:
            for key, value in self.options.items():
                if key in self.cfg.settings:  # older gunicorns lack some settings
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    Server(
        {
            "bind": f"{settings.host}:{settings.port}",
            "workers": settings.workers,
            # Threads: a send check of a million numbers must not hold up Twilio's hook,
            # and a long request does not stop a gthread worker's heartbeat.
            "worker_class": "gthread",
            "threads": 4,
            # Loaded once, before the fork: a worker that restarts (timeout, crash) while
            # rules.yml is broken still has good rules, instead of failing to boot and taking
            # the whole server down with it. The rules holder needs no thread (it checks the
            # file lazily), so nothing is lost in the fork.
            "preload_app": True,
            "pre_fork": pre_fork,
            "post_fork": post_fork,
            "loglevel": settings.log_level.lower(),
            "accesslog": "-",
            "errorlog": "-",
            # Twilio gives up after 15 s; a worker stuck longer than that is restarted.
            "timeout": 30,
            "graceful_timeout": 10,
            # gunicorn 23+ opens a control socket at one fixed path per user; two servers
            # (a dev server and the tests') would fight over it.
            "control_socket_disable": True,
        }
    ).run()
