"""The ledger's database URL as stopline accepts it: SQLite, or PostgreSQL through psycopg 3.

Plain string work (no SQLAlchemy), so the settings check it as they are read; ledger.dburl
parses it further where the ledger is built.
"""

from __future__ import annotations

import re

# What Heroku, Render, docker-compose files and psql users write, mapped to the one driver
# stopline installs (psycopg 3).
POSTGRES_ALIASES = {"postgres", "postgresql", "postgresql+psycopg"}
SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}
PSYCOPG = "postgresql+psycopg"
EXAMPLES = (
    "sqlite:////absolute/path/to/stopline.db (four slashes before an absolute path) or "
    "postgresql+psycopg://user:password@host:5432/dbname"
)
# SQLAlchemy's own pattern for the scheme (sqlalchemy.engine.url._parse_url): name://rest.
_SCHEME = re.compile(r"^(?P<name>[\w+]+)://(?P<rest>.*)$", re.DOTALL)
_PASSWORD = re.compile(r"^(?P<user>[^:/@]*):[^/@]*@")


class BadDatabaseUrl(ValueError):
    """STOPLINE_DATABASE_URL names no database stopline can use; the message says what to write."""


def normalize_database_url(url: str) -> str:
    """The URL as SQLAlchemy should get it: postgres:// and postgresql:// mean psycopg 3."""
    text = url.strip()
    found = _SCHEME.match(text)
    if found is None:
        raise BadDatabaseUrl(f"{_shown(text)!r} is not a database URL; write {EXAMPLES}")
    name, rest = found["name"], found["rest"]
    driver = name.lower()
    if driver in SQLITE_DRIVERS:
        return text
    if driver in POSTGRES_ALIASES:
        return f"{PSYCOPG}://{rest}"
    if driver.startswith(("postgres", "postgresql+")):
        raise BadDatabaseUrl(
            f"the driver {name!r} is not installed with stopline; write "
            f"{PSYCOPG}://... (psycopg 3), e.g. {PSYCOPG}://{hide_password(rest)}"
        )
    raise BadDatabaseUrl(
        f"unknown database scheme {name!r}: stopline keeps its ledger in SQLite "
        f"or PostgreSQL; write {EXAMPLES}"
    )


def hide_password(rest: str) -> str:
    """The part after "scheme://" with its password, if any, shown as ***."""
    return _PASSWORD.sub(lambda m: f"{m['user']}:***@", rest, count=1)


def _shown(text: str) -> str:
    return text.split("@")[-1]  # never echo what may be a password
