"""The ledger's engine per dialect: SQLite's pragmas, PostgreSQL's pool and bounded waits."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from core.dburl import normalize_database_url


def _database_errors() -> tuple[type[Exception], ...]:
    kinds: list[type[Exception]] = [SQLAlchemyError, sqlite3.Error]
    try:
        import psycopg
    except ImportError:  # pragma: no cover - only PostgreSQL needs psycopg
        pass
    else:
        kinds.append(psycopg.Error)
    return tuple(kinds)


# What SQLAlchemy and the drivers raise: the doors take one that escapes ledger.db's
# translation (a file that is no database, a dropped table) as a failure of ours.
DATABASE_ERRORS = _database_errors()

SYNC_LEVELS = {"OFF", "NORMAL", "FULL", "EXTRA"}
# Connections kept per process; also how many dead ones a transaction may meet in a row.
POOL_SIZE = 10
# Carriers give up on a web hook after 15 s; a 503 before that makes them retry.
_CARRIER_LIMIT_S = 13.0


def transaction_limit(busy_timeout_ms: int) -> float:
    """Seconds a raw_transaction may take on PostgreSQL before its connection is cut.

    Past the lock and statement timeouts (busy + 2 s), which a live server enforces with a
    clean error, and under the carrier's 15 s: 13 s with the default 10 s busy timeout.
    """
    return min(busy_timeout_ms / 1000 + 3.0, _CARRIER_LIMIT_S)


def make_engine(url: str, synchronous: str, busy_timeout_ms: int) -> Engine:
    """An engine for a SQLite file or a PostgreSQL server, configured for the ledger."""
    url = normalize_database_url(url)  # postgres://... from callers that bypass Settings
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine, synchronous, busy_timeout_ms)
        return engine
    args: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
                            "keepalives_count": 3}  # fmt: skip
    if "connect_timeout" not in url:
        args["connect_timeout"] = 5
    # No pool_pre_ping: its SELECT 1 was one more round trip per transaction. raw_transaction
    # replaces a dead connection itself, and on SQLAlchemy's paths the first disconnect error
    # drops every connection made before it (a reader gets one 503 after a restart, at most).
    engine = create_engine(
        url, pool_size=POOL_SIZE, max_overflow=20,
        pool_timeout=busy_timeout_ms / 1000, connect_args=args,
    )  # fmt: skip
    _configure_postgresql(engine, busy_timeout_ms)
    return engine


def _configure_postgresql(engine: Engine, busy_timeout_ms: int) -> None:
    """Bounded waits: a lock held elsewhere or a stuck query ends in an error, not a hang.

    Carriers wait about 15 s for an answer; a 503 before that makes them retry, while a hang
    past it loses the answer. Migrations lift the statement limit for themselves.
    """
    lock_ms = int(busy_timeout_ms)
    statement_ms = lock_ms + 2000

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(f"SET SESSION lock_timeout = {lock_ms}")
        cursor.execute(f"SET SESSION statement_timeout = {statement_ms}")
        cursor.close()
        dbapi_conn.commit()


def _configure_sqlite(engine: Engine, synchronous: str, busy_timeout_ms: int) -> None:
    """WAL, the chosen sync level, a busy timeout and foreign keys on every connection.

    pysqlite's own transaction handling is switched off so that BEGIN (DEFERRED or
    IMMEDIATE) is issued by us, as SQLAlchemy's documentation recommends.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
