"""Concurrent events for one contact are serialised: no lost update, nothing recorded twice."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import text

from core.errors import Conflict
from core.model import Action, Actor, InboundMessage, Source, Status
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database
from tests.fakes import TextDecider

CONTACTS = ["+12065550100", "+12065550101", "+12065550102"]
SENDER = "+12065550199"


def run_threads(count: int, work: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(count)

    def start(i: int) -> object:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(start, range(count)))


def message(sid: str, contact: str, body: str) -> InboundMessage:
    return InboundMessage("twilio", sid, contact, SENDER, body, datetime.now(UTC))


def test_a_race_of_stop_and_start_loses_no_update(database: Database) -> None:
    service = ConsentService(SqlLedger(database), TextDecider())
    rng = random.Random(7)
    plan = [(f"SM{i:032}", rng.choice(CONTACTS), rng.choice(["STOP", "START"])) for i in range(240)]
    chunks = [plan[i::8] for i in range(8)]

    def work(i: int) -> int:
        for sid, contact, body in chunks[i]:
            service.receive_message(message(sid, contact, body))
        return len(chunks[i])

    assert sum(run_threads(8, work)) == len(plan)  # type: ignore[arg-type]
    with database.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM inbound_messages")).scalar_one() == 240
    for contact in CONTACTS:
        events = list(reversed(service.events(contact, limit=1000)))
        # Each change starts from the state the previous change left: a lost update would
        # show two opt-outs (or two opt-ins) in a row.
        state = Status.SUBSCRIBED
        for event in events:
            assert event.previous_status is state, f"lost update for {contact} at {event.id}"
            assert event.new_status is not None
            state = event.new_status
        final = service.status(contact, SENDER).status
        assert final is state


def test_concurrent_deliveries_of_one_message_are_recorded_once(database: Database) -> None:
    service = ConsentService(SqlLedger(database), TextDecider())
    outcomes = run_threads(
        8, lambda i: service.receive_message(message("SM" + "5a" * 16, CONTACTS[0], "STOP"))
    )
    replies = {o.reply for o in outcomes}  # type: ignore[attr-defined]
    assert replies == {"Unsubscribed."}
    assert sum(1 for o in outcomes if not o.duplicate) == 1  # type: ignore[attr-defined]
    assert len(service.events(CONTACTS[0])) == 1


def test_two_agents_deciding_one_review_make_one_decision(database: Database) -> None:
    service = ConsentService(SqlLedger(database), TextDecider())
    outcome = service.receive_message(message("SM" + "7e" * 16, CONTACTS[0], "pls remove me"))
    assert outcome.review_id is not None

    def decide(i: int) -> str:
        try:
            service.decide_review(outcome.review_id, i % 2 == 0, Actor(Source.AGENT, f"U{i}"))
            return "won"
        except Conflict:
            return "lost"

    results = run_threads(6, decide)
    assert results.count("won") == 1 and results.count("lost") == 5
    closed = [e for e in service.events(CONTACTS[0]) if e.action is Action.REVIEW_CLOSED]
    assert len(closed) == 1


def test_concurrent_agent_opt_outs_of_the_account_record_one_change(database: Database) -> None:
    service = ConsentService(SqlLedger(database), TextDecider())
    outcomes = run_threads(
        6, lambda i: service.opt_out(CONTACTS[1], None, Actor(Source.AGENT, f"U{i}"))
    )
    assert sum(1 for o in outcomes if o.changed) == 1  # type: ignore[attr-defined]
    events = service.events(CONTACTS[1])
    assert [e.action for e in events] == [Action.OPT_OUT]
    assert service.status(CONTACTS[1]).scopes[0].sender is None
