"""A psycopg transaction in pipeline mode, for the ledger's contact transactions."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import psycopg


class Pipelined:
    """A psycopg transaction in pipeline mode: a statement whose answer nobody reads yet is sent
    with the next one that is read (a fetch), and the last writes with COMMIT.

    psycopg's own BEGIN waits for its answer, and inside a pipeline its commit() trusts a
    transaction status libpq does not keep there (it can skip the COMMIT), so the connection
    goes into autocommit and BEGIN and COMMIT are sent here; close() gives psycopg its own
    transactions back before the connection returns to the pool (SQLAlchemy's users need them).
    """

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self._pipeline = ExitStack()
        self._cursor: Any = None

    def begin(self) -> None:
        """Enter pipeline mode and queue BEGIN (sent with the first statement read)."""
        self.driver.autocommit = True
        self._pipeline.enter_context(self.driver.pipeline())
        self._cursor = self.driver.cursor()
        self._cursor.execute("BEGIN", prepare=False)

    def commit(self) -> None:
        """COMMIT with the writes still queued; returns once the server says it is durable."""
        self._cursor.execute("COMMIT", prepare=False)
        self._pipeline.close()  # sends what is queued, waits, raises the first error
        if self._cursor.statusmessage != "COMMIT":
            # COMMIT of a failed transaction is answered ROLLBACK, not with an error.
            raise psycopg.OperationalError(f"COMMIT answered {self._cursor.statusmessage}")

    def close(self, failure: BaseException | None) -> bool:
        """Out of pipeline mode and autocommit, nothing left open; False if that failed."""
        try:
            if failure is not None:  # psycopg logs (and drops) errors met while leaving
                self._pipeline.__exit__(type(failure), failure, failure.__traceback__)
            if self.driver.closed:
                return False
            if self.driver.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self.driver.rollback()
            self.driver.autocommit = False
            return True
        except psycopg.Error:
            return False
