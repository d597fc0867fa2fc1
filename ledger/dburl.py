"""The ledger's database URL: the schemes stopline accepts, and where a SQLite file really is."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

# What Heroku, Render, docker-compose files and psql users write, mapped to the one driver
# stopline installs (psycopg 3).
POSTGRES_ALIASES = {"postgres", "postgresql", "postgresql+psycopg"}
SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}
EXAMPLES = (
    "sqlite:////absolute/path/to/stopline.db (four slashes before an absolute path) or "
    "postgresql+psycopg://user:password@host:5432/dbname"
)


class BadDatabaseUrl(ValueError):
    """STOPLINE_DATABASE_URL names no database stopline can use; the message says what to write."""


def normalize_database_url(url: str) -> str:
    """The URL as SQLAlchemy should get it: postgres:// and postgresql:// mean psycopg 3."""
    text = url.strip()
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise BadDatabaseUrl(f"{_shown(text)!r} is not a database URL; write {EXAMPLES}") from None
    driver = parsed.drivername.lower()
    if driver in SQLITE_DRIVERS:
        return text
    if driver in POSTGRES_ALIASES:
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if driver.startswith(("postgres", "postgresql+")):
        raise BadDatabaseUrl(
            f"the driver {parsed.drivername!r} is not installed with stopline; write "
            f"postgresql+psycopg://... (psycopg 3), e.g. {_example(parsed)}"
        )
    raise BadDatabaseUrl(
        f"unknown database scheme {parsed.drivername!r}: stopline keeps its ledger in SQLite "
        f"or PostgreSQL; write {EXAMPLES}"
    )


def sqlite_file(url: str) -> Path | None:
    """The absolute path of a SQLite database file, or None (PostgreSQL, in memory)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(os.path.abspath(database))


def is_relative_sqlite(url: str) -> bool:
    """True for a SQLite file named relative to the working directory (sqlite:///./x.db)."""
    try:
        database = make_url(url).database or ""
    except ArgumentError:
        return False
    return sqlite_file(url) is not None and not os.path.isabs(database)


def display_url(url: str) -> str:
    """The URL for a person: password hidden, a SQLite file's path made absolute."""
    try:
        parsed: URL = make_url(url)
    except ArgumentError:  # never echo what may be a secret
        return url.split("@")[-1]
    path = sqlite_file(url)
    if path is not None:
        parsed = parsed.set(database=str(path))
    return parsed.render_as_string(hide_password=True)


def _example(parsed: URL) -> str:
    example = parsed.set(drivername="postgresql+psycopg")
    return example.render_as_string(hide_password=True)


def _shown(text: str) -> str:
    return text.split("@")[-1]
