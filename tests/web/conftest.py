"""Web fixtures: a real app over a migrated ledger (SQLite and PostgreSQL) and the shipped rules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.config import Settings
from stopline.wiring import Services, build_services
from web import create_app


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """The real services over the test's ledger."""
    built = build_services(settings)
    yield built
    built.close()


@pytest.fixture
def app(settings: Settings, services: Services) -> Flask:
    """The web app under test."""
    return create_app(settings, services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()
