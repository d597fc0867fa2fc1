"""The outbox on SQLite and PostgreSQL: queued with the decision, sent once, never late."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.config import Settings
from core.model import InboundMessage
from core.outbox import reply_of
from core.ports import SendFailed
from ledger.db import Database
from ledger.outbox import SqlOutbox
from stopline.outbox_worker import OutboxWorker
from stopline.wiring import Services, build_services
from tests.fakes import FixedClock
from tests.outbox_fakes import FakeSender

DECIDED = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)
BUSINESS = "12065550199"  # as Telnyx might write it: no +


@pytest.fixture
def clock() -> FixedClock:
    """The time of the service and the workers, moved by the test (never a real wait)."""
    return FixedClock(DECIDED)


@pytest.fixture
def services(settings: Settings, clock: FixedClock) -> Iterator[Services]:
    """The real services over the test's ledger, on the test's clock."""
    built = build_services(settings)
    built.consent.clock = clock
    yield built
    built.close()


@pytest.fixture
def outbox(services: Services) -> SqlOutbox:
    """The outbox port over the same database."""
    return SqlOutbox(services.database)


def text(services: Services, body: str = "STOP", *, carrier: str = "telnyx",
         message_id: str | None = None, contact: str = "+12065550100",
         by_api: bool = True) -> str:  # fmt: skip
    """Deliver a contact's text as a carrier door would; returns its message id."""
    message_id = message_id or str(uuid.uuid4())
    services.consent.receive_message(
        InboundMessage(carrier, message_id, contact, BUSINESS, body, DECIDED, reply_by_api=by_api)
    )
    return message_id


def worker(outbox: SqlOutbox, sender: FakeSender, clock: FixedClock, **kw: Any) -> OutboxWorker:
    """A fresh worker, as a restarted process builds it (no thread: the test steps it)."""
    return OutboxWorker(outbox, {"telnyx": sender}, clock=clock, **kw)


def run_until_settled(w: OutboxWorker, outbox: SqlOutbox, clock: FixedClock, message_id: str,
                      limit: timedelta) -> list[datetime]:  # fmt: skip
    """Step the worker at each due time until the reply is sent or dropped; the attempt times."""
    tried: list[datetime] = []
    while clock.now - DECIDED <= limit:
        row = outbox.find("telnyx", message_id)
        assert row is not None
        if row["status"] in ("sent", "dropped"):
            break
        clock.now = max(clock.now, row["next_attempt_at"])
        if w.step():
            tried.append(clock.now)
    return tried


@pytest.mark.parametrize(
    ("body", "by_api", "queued"),
    [
        ("STOP", True, "unsubscribed"),
        ("START", True, ""),
        ("HELP", True, ""),
        ("STOP", False, None),  # Twilio, Plivo: the reply went in the HTTP answer
        ("hello", True, None),  # no reply at all
        ("please stop texting me", True, None),  # a review, no reply
    ],
)
def test_a_reply_by_api_is_queued_with_its_decision(
    services: Services, outbox: SqlOutbox, body: str, by_api: bool, queued: str | None
) -> None:
    message_id = text(services, body, by_api=by_api)
    row = outbox.find("telnyx", message_id)
    if queued is None:
        assert row is None
        return
    assert row is not None
    assert queued in row["text"]
    assert (row["status"], row["attempts"], row["created_at"]) == ("pending", 0, DECIDED)
    assert (row["sender"], row["contact"]) == (BUSINESS, "+12065550100")  # as written


def test_a_kill_between_commit_and_send_sends_once_after_restart(
    services: Services, outbox: SqlOutbox, clock: FixedClock
) -> None:
    # No worker runs: the process "dies" right after the commit.
    message_id = text(services, "STOP")
    assert outbox.find("telnyx", message_id)["status"] == "pending"  # type: ignore[index]
    clock.now += timedelta(seconds=20)  # the restart
    sender = FakeSender()
    restarted = worker(outbox, sender, clock)
    assert restarted.step() == 1
    assert restarted.step() == 0
    assert [r.text for r in sender.sent] == [outbox.find("telnyx", message_id)["text"]]  # type: ignore[index]
    row = outbox.find("telnyx", message_id)
    assert row is not None
    assert (row["status"], row["attempts"], row["finished_at"]) == ("sent", 1, clock.now)


def test_a_worker_left_sending_is_taken_over_after_the_lease_with_the_same_key(
    services: Services, outbox: SqlOutbox, clock: FixedClock
) -> None:
    message_id = text(services, "STOP")
    (killed,) = outbox.claim(clock.now, 30.0, 10)  # then the process dies mid-send
    sender = FakeSender()
    fresh = worker(outbox, sender, clock, lease_seconds=30.0)
    clock.now += timedelta(seconds=29)
    assert fresh.step() == 0  # still leased to the dead worker
    clock.now += timedelta(seconds=2)
    assert fresh.step() == 1
    assert len(sender.sent) == 1
    assert sender.sent[0].key == reply_of(killed).key
    # The dead worker's late answer changes nothing.
    assert outbox.mark_sent(killed, clock.now) is False
    assert outbox.find("telnyx", message_id)["attempts"] == 2  # type: ignore[index]


def test_a_row_left_sending_past_the_window_is_dropped_not_sent(
    services: Services, outbox: SqlOutbox, clock: FixedClock
) -> None:
    message_id = text(services, "STOP")
    outbox.claim(clock.now, 30.0, 10)
    clock.now += timedelta(minutes=6)
    sender = FakeSender()
    assert worker(outbox, sender, clock).step() == 1
    row = outbox.find("telnyx", message_id)
    assert row is not None
    assert (row["status"], sender.attempts) == ("dropped", [])
    assert "5 minutes" in row["last_error"]


def test_a_retried_delivery_queues_nothing_twice(
    services: Services, outbox: SqlOutbox, clock: FixedClock
) -> None:
    message_id = text(services, "HELP")
    text(services, "HELP", message_id=message_id)  # the carrier's retry
    text(services, "HELP", message_id=message_id, carrier="vonage")  # another carrier: another
    sender = FakeSender()
    both = OutboxWorker(outbox, {"telnyx": sender, "vonage": sender}, clock=clock)
    assert both.step() == 2
    assert sorted(r.carrier for r in sender.sent) == ["telnyx", "vonage"]


def test_one_confirmation_per_opt_out(
    services: Services, outbox: SqlOutbox, clock: FixedClock
) -> None:
    first = text(services, "STOP")
    again = text(services, "STOP")  # a new text, from a contact already opted out
    assert outbox.find("telnyx", first) is not None
    assert outbox.find("telnyx", again) is None


def test_a_failed_first_attempt_is_retried_after_a_second_with_the_same_key(
    services: Services, outbox: SqlOutbox, clock: FixedClock
) -> None:
    message_id = text(services, "STOP")
    sender = FakeSender([SendFailed("connection reset", retry=True)])
    w = worker(outbox, sender, clock)
    assert w.step() == 1
    row = outbox.find("telnyx", message_id)
    assert row is not None
    assert (row["status"], row["last_error"]) == ("pending", "connection reset")
    assert row["next_attempt_at"] == DECIDED + timedelta(seconds=1)
    assert w.step() == 0  # not due yet
    clock.now += timedelta(seconds=1)
    assert w.step() == 1
    assert [r.key for r in sender.attempts] == [sender.sent[0].key] * 2
    assert outbox.find("telnyx", message_id)["status"] == "sent"  # type: ignore[index]


def test_429_waits_for_the_carriers_retry_after(
    services: Services, outbox: SqlOutbox, clock: FixedClock
) -> None:
    message_id = text(services, "STOP")
    sender = FakeSender([SendFailed("HTTP 429", retry=True, retry_after=20.0)])
    w = worker(outbox, sender, clock)
    w.step()
    row = outbox.find("telnyx", message_id)
    assert row is not None
    assert row["next_attempt_at"] == DECIDED + timedelta(seconds=20)
    clock.now += timedelta(seconds=19)
    assert w.step() == 0
    clock.now += timedelta(seconds=1)
    assert w.step() == 1
    assert len(sender.sent) == 1


@pytest.mark.parametrize(
    ("refusal", "reason"),
    [
        (SendFailed("HTTP 422 invalid 'to'", retry=False), "422"),
        (None, "no sender for telnyx"),  # the carrier has no sender configured
    ],
    ids=["4xx", "no-sender"],
)
def test_a_refused_reply_is_dropped_at_once_with_the_reason(
    services: Services, outbox: SqlOutbox, clock: FixedClock,
    refusal: SendFailed | None, reason: str,
) -> None:  # fmt: skip
    message_id = text(services, "STOP")
    senders = {"telnyx": FakeSender([refusal])} if refusal is not None else {}
    w = OutboxWorker(outbox, senders, clock=clock)
    assert w.step() == 1
    clock.now += timedelta(minutes=1)
    assert w.step() == 0
    row = outbox.find("telnyx", message_id)
    assert row is not None
    assert (row["status"], row["attempts"], row["finished_at"]) == ("dropped", 1, DECIDED)
    assert reason in row["last_error"]


def test_a_carrier_down_for_ten_minutes_drops_the_reply_after_five(
    services: Services, outbox: SqlOutbox, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    message_id = text(services, "STOP")
    sender = FakeSender(down=SendFailed("HTTP 503", retry=True))
    w = worker(outbox, sender, clock)
    tried = run_until_settled(w, outbox, clock, message_id, timedelta(minutes=10))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(tried)]
    assert gaps[:7] == [1, 2, 4, 8, 16, 32, 60]
    assert all(t < DECIDED + timedelta(minutes=5) for t in tried)
    row = outbox.find("telnyx", message_id)
    assert row is not None
    assert row["status"] == "dropped"
    assert "5 minutes" in row["last_error"] and "HTTP 503" in row["last_error"]
    assert "dropped reply" in caplog.text
    # The carrier comes back at minute 10: nothing is sent late.
    sender.down = None
    clock.now = DECIDED + timedelta(minutes=10)
    assert w.step() == 0
    assert sender.sent == [] and len(sender.attempts) == len(tried)


def test_the_thread_sends_a_queued_reply_when_woken(
    services: Services, outbox: SqlOutbox, clock: FixedClock
) -> None:
    sender = FakeSender()
    w = worker(outbox, sender, clock, poll_seconds=30.0)  # only the wake-up can be in time
    services.consent.replies_queued = w.wake
    try:
        text(services, "STOP")
        waited = time.monotonic() + 10
        while not sender.sent and time.monotonic() < waited:
            time.sleep(0.01)
    finally:
        w.close()
    assert len(sender.sent) == 1


def test_two_workers_on_one_ledger_never_send_a_reply_twice(
    services: Services, database_url: str, databases: Callable[..., Database], clock: FixedClock
) -> None:
    ids = [text(services, "STOP", contact=f"+1206555{n:04d}") for n in range(30)]
    sender = FakeSender(delay=0.002)
    workers = [
        OutboxWorker(SqlOutbox(databases(database_url)), {"telnyx": sender}, clock=clock, batch=3)
        for _ in range(2)
    ]
    errors: list[BaseException] = []

    def drain(w: OutboxWorker) -> None:
        try:
            while w.step():
                pass
        except BaseException as exc:  # shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    sent = [r.id for r in sender.sent]
    assert sorted(sent) == sorted(set(sent)) and len(sent) == len(ids)
