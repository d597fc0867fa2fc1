"""The ledger's transactions: writes under a contact's lock, reads, streams, error mapping."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection

from core.errors import DatabaseUnavailable
from ledger.dberrors import first_line, translate, unavailable
from ledger.dialects import POOL_SIZE, SYNC_LEVELS, make_engine, transaction_limit
from ledger.gate import WriteGate
from ledger.pipeline import Pipelined
from ledger.tables import contacts
from ledger.watchdog import Watch

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class Database:
    """The ledger's engine; writes for a contact are serialised, reads are plain."""

    def __init__(self, url: str, *, synchronous: str = "NORMAL", busy_timeout_ms: int = 10_000):
        if synchronous.upper() not in SYNC_LEVELS:
            raise ValueError(f"sqlite synchronous must be one of {sorted(SYNC_LEVELS)}")
        self.url = url
        self.transaction_limit = transaction_limit(busy_timeout_ms)
        self.engine: Engine = make_engine(url, synchronous, busy_timeout_ms)
        self.dialect = self.engine.dialect.name
        self._dbapi: Any = self.engine.dialect.loaded_dbapi
        path = self.engine.url.database if self.dialect == "sqlite" else None
        self._gate = (
            WriteGate(os.path.abspath(path), busy_timeout_ms / 1000)
            if path and path != ":memory:" and not path.startswith("file:")
            else None
        )

    def _writer(self) -> AbstractContextManager[None]:
        return self._gate.hold() if self._gate is not None else nullcontext()

    @contextmanager
    def write(self, lock_contacts: Sequence[str] = ()) -> Iterator[Connection]:
        """A transaction that holds the write lock for these contacts until it commits.

        SQLite: BEGIN IMMEDIATE takes the database's write lock. PostgreSQL: the contacts'
        rows are created if missing and locked FOR UPDATE, in sorted order so two
        transactions never deadlock.
        """
        with self._translate(), self._writer(), self._connect(immediate=True) as conn, conn.begin():
            if lock_contacts and self.dialect == "postgresql":
                self._lock(conn, sorted(set(lock_contacts)))
            elif lock_contacts:
                self._ensure_contacts(conn, sorted(set(lock_contacts)))
            yield conn

    @contextmanager
    def raw_transaction(self, opening: Callable[[Any], _T]) -> Iterator[tuple[Any, _T]]:
        """A transaction on a pooled driver connection, begun by `opening`'s statements.

        For statements compiled once (ledger.statements): SQLAlchemy's own execution costs
        more than the SQL of a contact's text. On PostgreSQL the connection is in pipeline
        mode (Pipelined): each round trip to the server wakes a thread that then waits for a
        core, so BEGIN travels with `opening`'s statements and the last writes with COMMIT.
        There is no pre-ping either: `opening`'s answer is the first sign of life, and a
        pooled connection that turns out dead there is dropped and `opening` runs again on
        another (nothing of the caller's has run yet).

        On PostgreSQL the whole transaction, from the wait for a pooled connection to its
        return, has transaction_limit seconds: past them ledger.watchdog cuts the connection
        (a frozen server never answers) and the caller gets DatabaseUnavailable, never a
        retry past the deadline, and never a success: a COMMIT cut before its answer may
        have been stored or not, and the carrier's retry finds out (idempotent MessageSid).
        """
        with self._translate(), self._writer():
            watch = Watch(self.transaction_limit) if self.dialect == "postgresql" else None
            pooled, batch, opened = self._begin(opening, watch)
            driver: Any = pooled.driver_connection
            failure: BaseException | None = None
            try:
                yield driver, opened
                if batch is not None:
                    batch.commit()
                else:
                    driver.commit()
            except BaseException as exc:
                failure = exc
                if watch is not None and watch.fired and isinstance(exc, Exception):
                    raise self._too_slow(watch, exc) from exc
                if isinstance(exc, self._dbapi.Error):
                    self._drop_if_gone(pooled, exc)
                raise
            finally:
                self._release(pooled, batch, failure, watch)

    def _begin(
        self, opening: Callable[[Any], _T], watch: Watch | None
    ) -> tuple[PoolProxiedConnection, Pipelined | None, _T]:
        """A pooled connection with a transaction begun by `opening`, skipping dead ones."""
        for attempt in range(POOL_SIZE + 1):
            pooled = self._checkout(self.engine.raw_connection)
            driver: Any = pooled.driver_connection
            batch = Pipelined(driver) if self.dialect == "postgresql" else None
            try:
                if watch is not None:
                    if watch.expired:  # the wait for a connection (or dead ones) took it all
                        raise _Expired("no database connection answered in time")
                    watch.arm(driver.fileno())
                if batch is not None:
                    batch.begin()
                else:
                    driver.execute("BEGIN IMMEDIATE")
                return pooled, batch, opening(driver)
            except BaseException as exc:
                gone = isinstance(exc, self._dbapi.Error) and self._drop_if_gone(pooled, exc)
                self._release(pooled, batch, exc, watch)
                expired = watch is not None and (watch.fired or isinstance(exc, _Expired))
                if expired and watch is not None and isinstance(exc, Exception):
                    raise self._too_slow(watch, exc) from exc
                if not gone or attempt == POOL_SIZE:
                    raise
                log.warning("a pooled database connection was dead: %s", first_line(exc))
        raise AssertionError("unreachable")

    def _too_slow(self, watch: Watch, exc: BaseException) -> DatabaseUnavailable:
        # Not "nothing was stored": a COMMIT may have reached the server before the cut.
        return DatabaseUnavailable(
            f"the consent ledger did not answer within {watch.seconds:g} s; try again",
            detail=f"database connection cut after {watch.seconds:g} s without an answer "
            f"({first_line(exc)}); a retry of the same message is answered as stored",
            kind="timeout",
        )

    def _drop_if_gone(self, pooled: PoolProxiedConnection, exc: BaseException) -> bool:
        """Invalidate the connection if the error says it is dead; True when it was."""
        dbapi_connection = pooled.dbapi_connection
        if not self.engine.dialect.is_disconnect(exc, dbapi_connection, None):  # type: ignore[arg-type]
            return False
        if pooled.is_valid:
            pooled.invalidate(exc)
        return True

    def _release(
        self,
        pooled: PoolProxiedConnection,
        batch: Pipelined | None,
        failure: BaseException | None,
        watch: Watch | None,
    ) -> None:
        """Back to the pool with no transaction open, or invalidated when that can't be made so."""
        if watch is not None and watch.fired and pooled.is_valid:
            pooled.invalidate()  # its socket is shut down, whatever the driver thinks
        if pooled.is_valid:
            if batch is not None:
                reusable = batch.close(failure)
            else:
                reusable = True
                if failure is not None:
                    try:
                        pooled.driver_connection.rollback()  # type: ignore[union-attr]
                    except self._dbapi.Error:
                        reusable = False
            if not reusable:
                pooled.invalidate()
        if watch is not None:
            # Disarmed before the pool can hand the connection to anyone else; a cut in the
            # meantime (the rollback above waited on a frozen server) invalidates it.
            watch.disarm()
            if watch.fired and pooled.is_valid:
                pooled.invalidate()
        pooled.close()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction."""
        with self._translate(), self._connect(immediate=False) as conn, conn.begin():
            yield conn

    @contextmanager
    def stream(self) -> Iterator[Connection]:
        """A read transaction whose results are streamed (server-side cursor on PostgreSQL)."""
        with self._translate(), self._connect(immediate=False) as raw:
            conn = raw.execution_options(stream_results=True, yield_per=5000)
            with conn.begin():
                yield conn

    def ping(self) -> str:
        """'ok' when the database answers, else a short description of the failure."""
        try:
            with self.read() as conn:
                conn.execute(text("SELECT 1"))
            return "ok"
        except DatabaseUnavailable as exc:
            return exc.message

    def dispose(self) -> None:
        """Close every pooled connection and the write gate's lock file."""
        self.engine.dispose()
        if self._gate is not None:
            self._gate.close()

    def _connect(self, *, immediate: bool) -> Connection:
        conn = self._checkout(self.engine.connect)
        if immediate and self.dialect == "sqlite":
            return conn.execution_options(sqlite_begin="IMMEDIATE")
        return conn

    def _ensure_contacts(self, conn: Connection, phones: list[str]) -> None:
        now = datetime.now(UTC)
        insert = sqlite.insert(contacts).on_conflict_do_nothing(index_elements=["phone"])
        conn.execute(insert, [{"phone": p, "created_at": now} for p in phones])

    def _lock(self, conn: Connection, phones: list[str]) -> None:
        now = datetime.now(UTC)
        insert = postgresql.insert(contacts).on_conflict_do_nothing(index_elements=["phone"])
        conn.execute(insert, [{"phone": p, "created_at": now} for p in phones])
        conn.execute(
            select(contacts.c.phone)
            .where(contacts.c.phone.in_(phones))
            .order_by(contacts.c.phone)
            .with_for_update()
        ).all()

    def _translate(self) -> AbstractContextManager[None]:
        return translate(self._dbapi)

    def _checkout(self, take: Callable[[], _T]) -> _T:
        """A connection from the pool; a driver error while one is made means there is none.

        Taking one may open a connection, and on it SQLAlchemy's first look at the server
        and the SET statements of ledger.dialects. A server going away in the middle of those
        can make psycopg raise InternalError ("received 2 results from command 'BEGIN'"), not
        the OperationalError of a refused connect; it is the same failure: no connection.
        """
        try:
            return take()
        except (DBAPIError, self._dbapi.Error) as exc:
            raise unavailable(exc) from exc


class _Expired(Exception):
    """A transaction's time ran out before it could begin."""
