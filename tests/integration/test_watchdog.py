"""The transaction watchdog: a connection that outlives its deadline is cut, nothing else is.

Socket pairs stand in for a database that never answers; then a throwaway PostgreSQL cluster
is frozen (SIGSTOP) under Database.raw_transaction, in each phase a transaction can wait in.
"""

from __future__ import annotations

import os
import socket
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from core.errors import DatabaseUnavailable
from ledger.db import Database
from ledger.dialects import transaction_limit
from ledger.watchdog import Watch
from tests.reliability.pgcluster import PgCluster, pg_cluster

__all__ = ["pg_cluster"]  # the fixture, imported for pytest to find
BOUND = 30.0  # a recv that would block for ever fails the test after this instead


@contextmanager
def connected() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected socket pair: the first end plays the driver's, the second the server's."""
    ours, theirs = socket.socketpair()
    ours.settimeout(BOUND)
    with ours, theirs:
        yield ours, theirs


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """connected(), for one test."""
    with connected() as ends:
        yield ends


def test_a_watch_past_its_deadline_cuts_the_blocked_read(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, _ = pair
    watch = Watch(0.1)
    watch.arm(ours.fileno())
    try:
        assert ours.recv(1) == b""  # end of stream: the driver's "server closed the connection"
    finally:
        watch.disarm()
    assert watch.fired


def test_a_disarmed_watch_never_cuts(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, theirs = pair
    early = Watch(0.05)
    early.arm(ours.fileno())
    early.disarm()
    with connected() as (other, _peer):
        later = Watch(0.1)  # deadlines are served in order: once this one fired, so had `early`
        later.arm(other.fileno())
        assert other.recv(1) == b""
        later.disarm()
    theirs.sendall(b"x")
    assert ours.recv(1) == b"x" and not early.fired


def test_a_forked_child_has_its_own_watchdog(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, theirs = pair
    parents = Watch(60)
    parents.arm(ours.fileno())  # inherited by the child, which must leave it alone
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads running
        pid = os.fork()
    if pid == 0:  # the child: exit status 0 only if its own watch cut its own socket
        try:
            with connected() as (mine, _peer):
                watch = Watch(0.05)
                watch.arm(mine.fileno())
                cut = mine.recv(1) == b""
                watch.disarm()
            os._exit(0 if cut else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    theirs.sendall(b"y")
    assert ours.recv(1) == b"y"  # not cut by the child
    parents.disarm()
    assert not parents.fired


@pytest.mark.parametrize(
    ("busy_ms", "limit"), [(10_000, 13.0), (500, 3.5), (30_000, 13.0), (0, 3.0)]
)
def test_the_limit_follows_the_busy_timeout_under_the_carriers_15_s(
    busy_ms: int, limit: float
) -> None:
    assert transaction_limit(busy_ms) == limit


def _wait_in(phase: str, raw: Any, cursor: Any) -> None:
    """What a transaction does after opening, to wait for the server in `phase`."""
    if phase == "statement":
        cursor.execute("SELECT 1").fetchall()
    elif phase == "commit":
        cursor.execute("SELECT 1")  # queued: sent with COMMIT


@pytest.mark.slow
@pytest.mark.postgres
def test_a_frozen_postgresql_ends_the_transaction_in_a_503_then_recovers(
    pg_cluster: PgCluster, databases: Callable[..., Database]
) -> None:
    database = databases(pg_cluster.url, busy_timeout_ms=500)  # a 3.5 s limit
    phases = ("opening", "statement", "commit")

    def opening(phase: str) -> Any:
        def run(raw: Any) -> Any:
            cursor = raw.cursor()
            if phase == "opening":
                cursor.execute("SELECT 1").fetchall()
            return cursor

        return run

    try:
        for phase in phases:
            with database.raw_transaction(opening("")) as (raw, cursor):
                cursor.execute("SELECT 1").fetchall()
                pid = raw.info.backend_pid
            pg_cluster.freeze()
            try:
                with (
                    pytest.raises(DatabaseUnavailable, match=r"did not answer within 3\.5 s"),
                    database.raw_transaction(opening(phase)) as (raw, cursor),
                ):
                    _wait_in(phase, raw, cursor)
            finally:
                pg_cluster.thaw()
            # The cut connection left the pool; the thawed server serves a new one.
            with database.raw_transaction(opening("")) as (raw, cursor):
                assert cursor.execute("SELECT 1").fetchall() == [(1,)]
                assert raw.info.backend_pid != pid
    finally:
        database.dispose()
