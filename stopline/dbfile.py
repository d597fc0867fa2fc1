"""Where the ledger is: a missing SQLite file is reported, never created, by commands that read."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from core.errors import ServiceFailure
from ledger.dburl import display_url, is_relative_sqlite, sqlite_file

if TYPE_CHECKING:
    from core.config import Settings
    from ledger.db import Database


class NoLedger(ServiceFailure):
    """STOPLINE_DATABASE_URL names a SQLite file that does not exist (ours to fix: a 503)."""

    code = "no_ledger"


def relative_note(settings: Settings) -> str:
    """' (relative to the current directory /x)' for a relative SQLite path, else ''."""
    if not is_relative_sqlite(settings.database_url):
        return ""
    return (
        f" (STOPLINE_DATABASE_URL={settings.database_url} is relative to the current "
        f"directory {os.getcwd()})"
    )


def how_to_point() -> str:
    """How to name the ledger wherever stopline runs from."""
    return (
        "Run stopline from the project's directory (where .env is), or set "
        "STOPLINE_DATABASE_URL=sqlite:////absolute/path/to/stopline.db"
    )


def require_file(settings: Settings) -> None:
    """Refuse a SQLite ledger that does not exist instead of creating an empty one."""
    path = sqlite_file(settings.database_url)
    if path is None or path.exists():
        return
    raise NoLedger(
        f"no consent ledger: the database file {path} does not exist{relative_note(settings)}. "
        f"{how_to_point()}; `stopline db upgrade` creates a new, empty ledger."
    )


def is_empty(database: Database) -> bool:
    """True when the ledger holds no consent rows and no events (nobody has opted out yet)."""
    from sqlalchemy import select

    from ledger.tables import consent, consent_events

    with database.read() as conn:
        return (
            conn.execute(select(consent.c.contact).limit(1)).first() is None
            and conn.execute(select(consent_events.c.id).limit(1)).first() is None
        )


def empty_relative_warning(settings: Settings, database: Database) -> str | None:
    """A warning for serve: an empty ledger named relative to the working directory."""
    if not is_relative_sqlite(settings.database_url) or not is_empty(database):
        return None
    return (
        f"the ledger {display_url(settings.database_url)} is empty (no opt-outs) and its path "
        f"is relative to the current directory {os.getcwd()}: if your ledger is elsewhere, "
        f"every contact reads as 'may be texted'. {how_to_point()}."
    )
