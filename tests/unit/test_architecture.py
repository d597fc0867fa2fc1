"""The layering rules from the style guide, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_CORE = {
    "flask",
    "werkzeug",
    "slack_bolt",
    "slack_sdk",
    "durable",
    "gunicorn",
    "rules",
    "web",
    "bot",
    # The storage adapter's libraries and the other project packages (core/config.py's
    # pydantic_settings stays allowed).
    "sqlalchemy",
    "psycopg",
    "sqlite3",
    "fcntl",
    "socket",
    "alembic",
    "ledger",
    "migrations",
    "stopline",
}
FORBIDDEN_IN_LEDGER = {
    "flask", "werkzeug", "slack_bolt", "slack_sdk", "durable", "rules", "web", "bot", "stopline",
}  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


# core/config.py still normalises the database URL with ledger.dburl (SQLAlchemy's URL
# parser), imported inside a validator: known, left to the helper moving settings out.
_CONFIG_GAP = pytest.mark.xfail(strict=True, reason="core/config.py imports ledger.dburl")


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=_CONFIG_GAP) if p.name == "config.py" else p
        for p in sorted((ROOT / "core").glob("*.py"))
    ],
    ids=lambda p: p.name,
)
def test_core_imports_no_framework(path: Path) -> None:
    assert not imported_modules(path) & FORBIDDEN_IN_CORE


def test_core_never_reads_the_environment() -> None:
    for path in (ROOT / "core").glob("*.py"):
        assert "os.environ" not in path.read_text(encoding="utf-8"), path.name


def test_only_rules_imports_durable() -> None:
    for folder in ("core", "web", "bot", "stopline"):
        for path in (ROOT / folder).rglob("*.py"):
            assert "durable" not in imported_modules(path), path


@pytest.mark.parametrize("path", sorted((ROOT / "bot").rglob("*.py")), ids=lambda p: p.name)
def test_the_bot_goes_through_the_service_layer(path: Path) -> None:
    # Listeners call core's services; they never touch the database, Flask or the rules.
    assert not imported_modules(path) & {"sqlalchemy", "flask", "werkzeug", "rules", "web"}


@pytest.mark.parametrize("path", sorted((ROOT / "ledger").glob("*.py")), ids=lambda p: p.name)
def test_ledger_imports_no_door_nor_rules(path: Path) -> None:
    assert not imported_modules(path) & FORBIDDEN_IN_LEDGER
