"""A SQLite connection for tests that must touch a ledger file as another program would."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path


@contextmanager
def raw_sqlite(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A connection committed on success and always closed.

    sqlite3's own `with connect(...)` commits but never closes: the connection lives until
    the garbage collector takes it, and Python 3.13 warns then, in whatever test runs.
    """
    with closing(sqlite3.connect(path)) as conn, conn:
        yield conn
