"""Wiring: settings → database, rules and the consent service; and the ledger's migrations."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

from core.config import Settings
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database

if TYPE_CHECKING:
    from rules import RulesHolder

log = logging.getLogger(__name__)
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
