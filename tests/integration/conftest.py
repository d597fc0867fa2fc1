"""Fixtures for the ledger's integration tests (the database URL comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.db import Database


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """The ledger's database, migrated and empty, closed after the test."""
    db = Database(database_url)
    yield db
    db.dispose()
