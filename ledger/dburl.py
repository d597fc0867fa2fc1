"""Where a SQLite file named by the ledger's URL really is, and the URL as a person sees it."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError


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
