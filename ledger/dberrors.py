"""What the ledger's database errors mean to a caller: DatabaseUnavailable of some kind, or not."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from core.errors import DatabaseUnavailable
from core.text import first_line
from ledger.errors import GateTimeout, GateUnavailable

log = logging.getLogger("ledger.db")

# PostgreSQL's codes for a statement cancelled by its timeout, and a lock not granted in time.
_TIMEOUT_CODES = ("57014", "55P03")


def unavailable(exc: BaseException) -> DatabaseUnavailable:
    """The ledger could not be reached (logged); `exc` says why."""
    reason = short(exc) if isinstance(exc, DBAPIError) else first_line(exc)
    log.error("database unavailable: %s", reason)
    return DatabaseUnavailable(
        "the consent ledger is unavailable; nothing was stored, try again",
        detail=f"database error: {reason}",
        kind=kind_of(exc),
    )


@contextmanager
def translate(dbapi: Any) -> Iterator[None]:
    """Errors of an unreachable, busy or lost database as DatabaseUnavailable; others as they are.

    `dbapi` is the driver's module: raw_transaction's connection raises its errors unwrapped.
    """
    try:
        yield
    except (
        OperationalError,  # SQLAlchemy's
        GateUnavailable,  # the write gate's lock file
        dbapi.OperationalError,  # the driver's own, on raw_transaction's connection
        dbapi.InterfaceError,
    ) as exc:
        raise unavailable(exc) from exc
    except GateTimeout as exc:
        log.error("the SQLite write lock stayed taken: %s", exc)
        raise DatabaseUnavailable(
            "the consent ledger is busy; nothing was stored, try again",
            detail=f"another writer held the database: {exc}",
            kind="busy",
        ) from exc
    except PoolTimeout as exc:
        log.error("no database connection free: %s", exc)
        raise DatabaseUnavailable(
            "the consent ledger is busy; nothing was stored, try again",
            detail="every database connection is in use; try again",
            kind="busy",
        ) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseUnavailable(
                "the consent ledger connection was lost; nothing was stored, try again",
                detail=f"database error: {short(exc)}",
                kind="connection_lost",
            ) from exc
        raise
    except dbapi.IntegrityError as exc:
        # The same shape as SQLAlchemy's, so callers handle one kind of IntegrityError.
        raise IntegrityError(None, None, exc) from exc


def kind_of(exc: BaseException) -> str:
    """How an operational error made the ledger unavailable (DatabaseUnavailable.KINDS)."""
    driver = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if getattr(driver, "sqlstate", None) in _TIMEOUT_CODES:
        return "timeout"
    text = str(driver).lower()
    # SQLite: "database is locked", "database table is locked" (its busy timeout ran out).
    return "busy" if "is locked" in text or "busy" in text else "unavailable"


def short(exc: DBAPIError) -> str:
    """The first line of the driver's error under SQLAlchemy's."""
    return first_line(exc.orig) if exc.orig else type(exc).__name__
