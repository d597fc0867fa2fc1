"""A race of STOP and START for one contact, decided by the shipped rules, loses no update."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from core.model import Action, InboundMessage, Status
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database
from rules import RulesHolder
from tests.conftest import RULES

CONTACT = "+12065550123"
SENDER = "+12065550199"


@pytest.fixture
def service(database_url: str) -> Iterator[ConsentService]:
    database = Database(database_url)
    holder = RulesHolder(RULES)
    yield ConsentService(SqlLedger(database), holder)
    holder.close()
    database.dispose()


def test_stop_and_start_from_many_threads(service: ConsentService) -> None:
    rng = random.Random(11)
    words = [rng.choice(["STOP", "Stop please", "START", "unstop", "STOPALL"]) for _ in range(200)]
    barrier = threading.Barrier(8)

    def work(worker: int) -> None:
        barrier.wait()
        for i in range(worker, len(words), 8):
            message = InboundMessage(
                "twilio", f"SM{i:032x}", CONTACT, SENDER, words[i], datetime.now(UTC)
            )
            service.receive_message(message)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))

    events = list(reversed(service.events(CONTACT, limit=1000)))
    assert events, "the race recorded nothing"
    states: dict[str, Status] = {}
    for event in events:
        assert event.action in (Action.OPT_OUT, Action.OPT_IN)
        key = event.scope.value
        before = states.get(key, Status.SUBSCRIBED)
        assert event.previous_status is before, f"lost update at event {event.id}"
        assert event.new_status is not None
        states[key] = event.new_status
    blocked = Status.OPTED_OUT in states.values()
    assert service.can_send(CONTACT, SENDER) is (not blocked)
