"""core.formulas' rule made callable in SQLite's SQL, for the cells the export's SQL leaves."""

from __future__ import annotations

import sqlite3

from core.formulas import SQLITE_FUNCTION, formula_quote


def register_sqlite(connection: sqlite3.Connection) -> None:
    """Make SQLITE_FUNCTION(cell) (formula_quote) callable in the connection's SQL."""
    connection.create_function(SQLITE_FUNCTION, 1, formula_quote, deterministic=True)
