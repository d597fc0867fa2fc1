"""A contact's write transaction on PostgreSQL: pipelined, no pre-ping, never a false 200.

Database.raw_transaction sends BEGIN with the first statements and the last writes with
COMMIT (psycopg's pipeline mode), and pooled connections are not pinged before use: one that
turns out dead in the opening statements is replaced and the transaction begun again.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text

from core.config import Settings
from core.errors import DatabaseUnavailable
from core.model import InboundMessage, Status
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database
from ledger.tables import contacts
from stopline.wiring import migrate
from tests.fakes import TextDecider

SENDER = "+12065550199"
_ids = itertools.count(1)


@pytest.fixture
def database(pg_schema_url: str) -> Iterator[Database]:
    """A migrated, empty ledger on PostgreSQL (skipped, with the reason, without one)."""
    migrate(Settings(database_url=pg_schema_url, _env_file=None))  # type: ignore[call-arg]
    db = Database(pg_schema_url)
    yield db
    db.dispose()


def stop_from(service: ConsentService, contact: str) -> None:
    message = InboundMessage(
        "twilio", f"SM{next(_ids):032d}", contact, SENDER, "STOP", datetime.now(UTC)
    )
    assert service.receive_message(message).changed


def pooled_pids(database: Database, count: int) -> list[int]:
    """Make the pool hold `count` connections; their server process ids."""
    with ExitStack() as stack:
        held = [database.engine.raw_connection() for _ in range(count)]
        for pooled in held:
            stack.callback(pooled.close)
        return [pooled.driver_connection.info.backend_pid for pooled in held]  # type: ignore[union-attr]


def terminate(url: str, pids: list[int]) -> None:
    """End these server processes (as a restart or an idle timeout would) and wait for it."""
    admin = create_engine(url)
    try:
        with admin.connect() as conn:
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(500):
                left = conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                    {"pids": pids},
                ).scalar_one()
                conn.commit()  # pg_stat_activity stays as first read within a transaction
                if not left:
                    return
                time.sleep(0.01)
            raise AssertionError(f"server processes {pids} still there")
    finally:
        admin.dispose()


def stored_contacts(database: Database) -> int:
    with database.read() as conn:
        return int(conn.execute(select(func.count()).select_from(contacts)).scalar_one())


@pytest.mark.parametrize("dead", [1, 4])
def test_dead_pooled_connections_are_replaced_without_an_error(
    database: Database, pg_schema_url: str, dead: int
) -> None:
    service = ConsentService(SqlLedger(database), TextDecider())
    stop_from(service, "+12065550100")
    pids = pooled_pids(database, dead)
    terminate(pg_schema_url, pids)
    stop_from(service, "+12065550101")  # no pre-ping, and still no error for the carrier
    assert service.status("+12065550101", SENDER).status is Status.OPTED_OUT
    assert not set(pooled_pids(database, dead)) & set(pids)


def test_a_commit_the_server_turned_into_a_rollback_is_not_a_success(
    database: Database,
) -> None:
    def opening(raw: Any) -> Any:
        return raw.cursor()

    with (
        pytest.raises(DatabaseUnavailable, match="unavailable"),
        database.raw_transaction(opening) as (raw, cursor),
    ):
        cursor.execute(
            "INSERT INTO contacts (phone, created_at) VALUES (%s, %s)",
            ("+12065550102", datetime.now(UTC)),
        )
        with pytest.raises(psycopg.errors.DivisionByZero):
            cursor.execute("SELECT 1 / 0").fetchall()  # swallowed: the transaction failed
        with raw.pipeline():  # a sync: the server now answers COMMIT with ROLLBACK
            pass
    assert stored_contacts(database) == 0


def test_the_connection_goes_back_to_the_pool_as_it_came(database: Database) -> None:
    service = ConsentService(SqlLedger(database), TextDecider())
    stop_from(service, "+12065550103")
    with (
        pytest.raises(psycopg.errors.DivisionByZero),
        database.raw_transaction(lambda raw: None) as (raw, _),
    ):
        raw.execute("SELECT 1 / 0").fetchall()
    (pid,) = pooled_pids(database, 1)  # one connection was ever made: this is the same one
    pooled = database.engine.raw_connection()
    driver: Any = pooled.driver_connection
    assert driver.info.backend_pid == pid
    assert not driver.autocommit and driver.info.transaction_status.name == "IDLE"
    assert driver.info.pipeline_status.name == "OFF"
    pooled.close()
    # SQLAlchemy's transactions on it are still transactions.
    with pytest.raises(RuntimeError), database.write() as conn:
        conn.execute(contacts.insert().values(phone="+12065550104", created_at=datetime.now(UTC)))
        raise RuntimeError("rolled back")
    assert stored_contacts(database) == 1


def test_a_read_on_dead_connections_fails_once_then_the_pool_is_renewed(
    database: Database, pg_schema_url: str
) -> None:
    # SQLAlchemy's own paths have no pre-ping either: the first disconnect error drops every
    # connection made before it, so a database restart costs a reader one 503 at most.
    terminate(pg_schema_url, pooled_pids(database, 3))
    with pytest.raises(DatabaseUnavailable), database.read() as conn:
        conn.execute(text("SELECT 1"))
    for _ in range(3):
        assert database.ping() == "ok"
