"""SQLite is set up for a ledger: WAL, the chosen sync level, a busy timeout, foreign keys."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.db import Database


@pytest.mark.parametrize(("level", "number"), [("NORMAL", 1), ("FULL", 2)])
def test_pragmas(
    tmp_path: Path, level: str, number: int, databases: Callable[..., Database]
) -> None:
    database = databases(f"sqlite:///{tmp_path / 'x.db'}", synchronous=level, busy_timeout_ms=1234)
    with database.read() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar_one() == number
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 1234
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    database.dispose()


def test_an_unknown_sync_level_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        Database(f"sqlite:///{tmp_path / 'x.db'}", synchronous="SOMETIMES")
