"""The composition root: settings → ledger, rules, services, notifier, Slack handler → the doors."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

from core.config import Settings
from core.services import ConsentService
from core.text import first_line
from ledger.adapter import SqlLedger
from ledger.db import Database
from stopline.errors import NotMigrated

if TYPE_CHECKING:
    from flask import Flask

    from core.ports import ReplySender
    from rules import RulesHolder
    from stopline.outbox_worker import OutboxWorker

log = logging.getLogger(__name__)
DRAIN_SECONDS = 10.0
_LISTENERS = "stopline.slack_listeners"
_OUTBOX = "stopline.outbox"
# The carriers that take no reply in the HTTP answer: stopline sends theirs (the outbox).
API_REPLY_CARRIERS = ("telnyx", "bandwidth", "vonage", "sinch")
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@dataclass
class Services:
    """Everything a door (web, bot, CLI) needs, built once from settings."""

    settings: Settings
    database: Database
    rules: RulesHolder
    consent: ConsentService

    def close(self) -> None:
        """Release the database's connections and the rules engine."""
        self.rules.close()
        self.database.dispose()


def build_database(settings: Settings) -> Database:
    """The ledger's database, configured from settings."""
    return Database(
        settings.database_url,
        synchronous=settings.sqlite_synchronous,
        busy_timeout_ms=settings.db_busy_timeout_ms,
    )


def build_services(settings: Settings) -> Services:
    """Load the rules (RulesError when broken) and connect the ledger."""
    from rules import RulesHolder  # the rules engine is loaded only by those who decide

    holder = RulesHolder(settings.rules_path, interval=settings.rules_reload_interval)
    database = build_database(settings)
    consent = ConsentService(SqlLedger(database), holder, region=settings.default_region)
    return Services(settings=settings, database=database, rules=holder, consent=consent)


def wire_app(
    settings: Settings,
    services: Services,
    senders: Mapping[str, ReplySender] | None = None,
) -> Flask:
    """The web app with the notifier, Slack handler and outbox worker the settings call for.

    `senders` (one ReplySender per carrier) defaults to outbound.build_senders(settings).
    """
    from web import create_app

    notifier, slack_handler = None, None
    if settings.slack_can_post and settings.slack_channel:
        from bot.notify import build_notifier  # Slack's libraries load only when Slack is set up

        notifier = build_notifier(settings, services)
    if settings.slack_configured:
        from bot import create_bolt_app  # Slack's libraries load only when Slack is configured
        from stopline.slack_http import build_slack_handler

        bolt = create_bolt_app(settings, services)
        slack_handler = build_slack_handler(settings, bolt, services.database)
    app = create_app(settings, services, notifier=notifier, slack_handler=slack_handler)
    if slack_handler is not None:
        # Bolt runs listeners on its own threads after the ack: close_app lets them finish.
        app.extensions[_LISTENERS] = bolt.listener_runner.listener_executor
    if any(settings.carrier(name).replies == "stopline" for name in API_REPLY_CARRIERS):
        worker = build_outbox_worker(settings, services, app, senders)
        app.extensions[_OUTBOX] = worker
        # Not started here: its thread would not survive gunicorn's fork (post_fork starts
        # it; under the dev server, the first reply queued does).
        services.consent.replies_queued = worker.wake
    return app


def build_outbox_worker(
    settings: Settings,
    services: Services,
    app: Flask,
    senders: Mapping[str, ReplySender] | None,
) -> OutboxWorker:
    """The outbox's sending worker over the ledger, counting in the app's metrics."""
    from ledger.outbox import SqlOutbox
    from stopline.outbox_worker import OutboxWorker
    from web.context import AppState

    state: AppState = app.extensions["stopline"]
    chosen = senders if senders is not None else default_senders(settings)
    return OutboxWorker(SqlOutbox(services.database), chosen, counted=state.metrics.outbox)


def default_senders(settings: Settings) -> Mapping[str, ReplySender]:
    """The carriers' HTTP senders (package outbound), for the carriers that can send."""
    try:
        from outbound import build_senders  # type: ignore[import-not-found, unused-ignore]
    except ModuleNotFoundError as error:
        if error.name != "outbound":
            raise
        raise RuntimeError(
            "replies through a carrier's messaging API need stopline's senders (the outbound "
            "package), which this build lacks; set TELNYX_REPLIES, BANDWIDTH_REPLIES, "
            "VONAGE_REPLIES and SINCH_REPLIES to carrier or none until it is installed"
        ) from error
    built: Mapping[str, ReplySender] = build_senders(settings)
    return built


def start_outbox(app: Flask) -> None:
    """Start this process's outbox worker, if the app has one (gunicorn's post_fork)."""
    worker = app.extensions.get(_OUTBOX)
    if worker is not None:
        worker.start()


def close_app(app: Flask, services: Services) -> None:
    """Let running Slack listeners finish, then close the notifier, the outbox and services."""
    executor = app.extensions.get(_LISTENERS)
    if executor is not None:
        drain(executor)
    state = app.extensions.get("stopline")
    if state is not None and state.notifier is not None:
        state.notifier.close()
    worker = app.extensions.get(_OUTBOX)
    if worker is not None:
        worker.close()  # before the database: a send in progress records its result
    services.close()


def drain(executor: Executor) -> None:
    """Let running listeners finish, for a bounded time (a stuck one must not block exit)."""
    # A listener cut by services.close() would lose its write, and its connection would come
    # back to a disposed pool, never closed.
    waiter = threading.Thread(target=executor.shutdown, kwargs={"wait": True}, daemon=True)
    waiter.start()
    waiter.join(DRAIN_SECONDS)
    if waiter.is_alive():
        log.warning("stopline: Slack listeners still running after %gs; stopping", DRAIN_SECONDS)


def build_app(settings: Settings | None = None) -> Flask:
    """The fully wired WSGI app `stopline serve` serves (settings from the environment if None)."""
    settings = settings if settings is not None else Settings()
    return wire_app(settings, build_services(settings))


def safe_url(url: str) -> str:
    """A database URL fit for a terminal or a log: password hidden, a SQLite path absolute."""
    from ledger.dburl import display_url

    return display_url(url)


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for stopline's migrations, needing no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate(settings: Settings, revision: str = "head") -> None:
    """Bring the ledger's schema up to date (`stopline db upgrade`)."""
    database = build_database(settings)
    try:
        with database.engine.connect() as conn:
            if database.dialect == "postgresql":
                # A migration may rewrite a large table: no statement limit for it.
                conn.exec_driver_sql("SET statement_timeout = 0")
            config = alembic_config(settings.database_url)
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            conn.commit()
    finally:
        database.dispose()


def current_revision(settings: Settings) -> str | None:
    """The ledger's schema revision, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    database = build_database(settings)
    try:
        with database.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        database.dispose()


def schema_revisions(settings: Settings) -> tuple[str | None, str]:
    """The database's alembic revision (None when never migrated) and the code's head."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    return current_revision(settings), head or ""


def pending_revisions(settings: Settings, current: str | None) -> list[str]:
    """The migrations between the database's revision and the head, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(settings.database_url))
    steps = script.iterate_revisions("heads", current or "base")
    return [step.revision for step in reversed(list(steps)) if step.revision != current]


def ensure_migrated(settings: Settings) -> None:
    """Refuse to serve an unmigrated database (the hook would fail on every message)."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.errors import DatabaseUnavailable
    from stopline.dbfile import relative_note, require_file

    require_file(settings)  # connecting would create an empty SQLite file in the wrong place
    try:
        current, head = schema_revisions(settings)
    except SQLAlchemyError as error:
        raise DatabaseUnavailable(
            f"cannot reach the database {safe_url(settings.database_url)}: "
            f"{type(error).__name__}: {first_line(error)}"
        ) from error
    if current != head:
        found = f"at revision {current}" if current else "not migrated"
        raise NotMigrated(
            f"the database {safe_url(settings.database_url)} is {found}"
            f"{relative_note(settings)} (this stopline needs {head}). "
            "Run `stopline db upgrade` first.",
            current=current,
            head=head,
        )
