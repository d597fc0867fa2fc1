"""Shared fixtures: a fresh, migrated ledger on SQLite and on PostgreSQL for every database test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from core.config import Settings
from ledger.db import Database
from stopline.wiring import migrate
from tests.evaluators import EVALUATORS

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules.yml"
POSTGRES_URL = os.environ.get(
    "STOPLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_pg_reason: list[str] = []

# Under `make mutate`, Hypothesis tries the same examples for every mutant and keeps no
# database: a verdict never depends on luck, and a mutant's failing example is never stored
# in .hypothesis/ to be replayed later against the real code.
hypothesis_settings.register_profile("mutation", database=None, derandomize=True, deadline=None)
if os.environ.get("STOPLINE_MUTATION"):
    hypothesis_settings.load_profile("mutation")


def postgres_available() -> str | None:
    """None when the test PostgreSQL answers, else why not (cached for the session)."""
    if not _pg_reason:
        try:
            engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            _pg_reason.append("")
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            _pg_reason.append(f"PostgreSQL not reachable at {POSTGRES_URL}: {first}")
    return _pg_reason[0] or None


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty ledger: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("pg_schema_url")
    migrate(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a test: its own ledger, the shipped rules, known secrets."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database_url,
        rules_path=RULES,
        twilio_auth_token="test-twilio-token",
        api_token="test-api-token",
        api_token_name="tests",
    )


@pytest.fixture(params=EVALUATORS)
def evaluator(request: pytest.FixtureRequest) -> str:
    """A rules backend name: "durable" (skipped where it cannot load) and "python"."""
    return str(request.param)


@pytest.fixture
def databases() -> Iterator[Callable[..., Database]]:
    """Database(url, ...) for one test: each is disposed when the test ends, pass or fail."""
    made: list[Database] = []

    def make(url: str, **options: Any) -> Database:
        made.append(Database(url, **options))
        return made[-1]

    yield make
    for database in made:
        database.dispose()
