"""The SQLite write gate: writers of many threads and processes queue; a stuck one ends in 503."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from core.config import Settings
from core.errors import DatabaseUnavailable
from core.model import Actor, Source
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database
from rules import RulesHolder
from stopline.wiring import migrate
from tests.conftest import RULES

AGENT = Actor(Source.API, "gate-test")


def _settings(path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{path}", rules_path=RULES, _env_file=None)  # type: ignore[call-arg]


def _opt_out_many(db_path: str, first: int, count: int) -> None:
    holder = RulesHolder(RULES, interval=0)
    database = Database(f"sqlite:///{db_path}")
    service = ConsentService(SqlLedger(database), holder)
    try:
        for i in range(first, first + count):
            service.opt_out(f"+1206555{i:04d}", None, AGENT)
    finally:
        database.dispose()
        holder.close()


def test_writers_in_several_processes_and_threads_all_commit(
    tmp_path: Path, databases: Callable[..., Database]
) -> None:
    db_path = tmp_path / "gate.db"
    migrate(_settings(db_path))
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_opt_out_many, args=(str(db_path), 1000 + 200 * p, 200))
        for p in range(3)
    ]
    for process in processes:
        process.start()
    threads = [
        threading.Thread(target=_opt_out_many, args=(str(db_path), 2000 + 100 * t, 100))
        for t in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    database = databases(f"sqlite:///{db_path}")
    with database.read() as conn:
        optouts = conn.execute(text("SELECT count(*) FROM consent")).scalar_one()
        events = conn.execute(text("SELECT count(*) FROM consent_events")).scalar_one()
    assert optouts == events == 3 * 200 + 3 * 100


def test_a_writer_held_up_past_the_busy_timeout_gets_database_unavailable(
    tmp_path: Path, databases: Callable[..., Database]
) -> None:
    db_path = tmp_path / "held.db"
    migrate(_settings(db_path))
    database = databases(f"sqlite:///{db_path}", busy_timeout_ms=300)
    service = ConsentService(SqlLedger(database), RulesHolder(RULES, interval=0))
    # Another process's writer in the middle of its transaction: it holds the gate's file lock.
    holder = os.open(f"{db_path}-writelock", os.O_RDWR | os.O_CREAT)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child only holds the lock, then exits
        fcntl.flock(holder, fcntl.LOCK_EX)
        os.write(os.open(f"{db_path}-ready", os.O_WRONLY | os.O_CREAT), b"1")
        time.sleep(3)
        os._exit(0)
    try:
        for _ in range(200):
            if os.path.exists(f"{db_path}-ready"):
                break
            threading.Event().wait(0.02)
        with pytest.raises(DatabaseUnavailable, match="busy"):
            service.opt_out("+12065550100", None, AGENT)
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)
        os.close(holder)
    # Once the other writer is gone, the same service writes again.
    assert service.opt_out("+12065550100", None, AGENT).changed
