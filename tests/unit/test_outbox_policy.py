"""The outbox's policy (core/outbox.py): backoff, Retry-After, drops, the 5-minute window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import outbox as policy
from core.ports import SendFailed
from core.records import OutboxItem

DECIDED = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)


def item(attempts: int, carrier: str = "telnyx", message_id: str = "m-1") -> OutboxItem:
    return OutboxItem(carrier, message_id, "+12065550199", "+12065550100", "You're unsubscribed.",
                      DECIDED, id=7, attempts=attempts)  # fmt: skip


@pytest.mark.parametrize(
    ("attempts", "wait"),
    [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 32.0), (7, 60.0), (12, 60.0), (0, 1.0)],
)
def test_backoff_doubles_from_one_second_and_stops_at_sixty(attempts: int, wait: float) -> None:
    assert policy.backoff(attempts) == wait


@pytest.mark.parametrize(
    ("attempts", "elapsed", "failure", "expected"),
    [
        # network error, 5xx: the backoff
        (1, 0.0, SendFailed("connection refused", retry=True), 1.0),
        (3, 10.0, SendFailed("HTTP 503", retry=True), 4.0),
        # 429: the carrier's Retry-After when it is longer than the backoff
        (1, 0.0, SendFailed("HTTP 429", retry=True, retry_after=20.0), 20.0),
        # ... and the backoff when Retry-After is shorter
        (5, 0.0, SendFailed("HTTP 429", retry=True, retry_after=2.0), 16.0),
    ],
)
def test_a_passing_failure_is_retried_later(
    attempts: int, elapsed: float, failure: SendFailed, expected: float
) -> None:
    now = DECIDED + timedelta(seconds=elapsed)
    step = policy.after_failure(item(attempts), failure, now)
    assert step == policy.Retry(now + timedelta(seconds=expected), failure.detail)


@pytest.mark.parametrize(
    ("elapsed", "failure", "reason"),
    [
        (0.0, SendFailed("HTTP 400 invalid number", retry=False), "refused by telnyx"),
        (0.0, SendFailed("HTTP 401", retry=False), "HTTP 401"),
        # a retry that would land past the window: dropped now, not sent late
        (299.5, SendFailed("HTTP 503", retry=True), "5 minutes"),
        (100.0, SendFailed("HTTP 429", retry=True, retry_after=600.0), "5 minutes"),
    ],
)
def test_a_refusal_or_a_retry_past_the_window_is_dropped(
    elapsed: float, failure: SendFailed, reason: str
) -> None:
    step = policy.after_failure(item(1), failure, DECIDED + timedelta(seconds=elapsed))
    assert isinstance(step, policy.Drop)
    assert reason in step.reason


@pytest.mark.parametrize(
    ("elapsed", "late"),
    [(0.0, False), (299.999, False), (300.0, True), (3600.0, True)],
)
def test_too_late_is_five_minutes_after_the_decision(elapsed: float, late: bool) -> None:
    assert policy.too_late(DECIDED, DECIDED + timedelta(seconds=elapsed)) is late


def test_a_reply_keeps_its_key_on_every_attempt_and_texts_differ() -> None:
    first, again = policy.reply_of(item(1)), policy.reply_of(item(4))
    assert first.key == again.key
    assert first.key != policy.reply_of(item(1, message_id="m-2")).key
    assert first.key != policy.reply_of(item(1, carrier="sinch")).key
    assert (first.id, first.carrier, first.sender, first.contact) == (
        7, "telnyx", "+12065550199", "+12065550100",
    )  # fmt: skip


def test_a_retry_that_would_land_on_the_deadline_itself_is_dropped() -> None:
    # attempt 1 waits 1 s: from 299 s it would go out at exactly 5 minutes, which is late.
    now = DECIDED + timedelta(seconds=299)
    step = policy.after_failure(item(1), SendFailed("HTTP 503", retry=True), now)
    assert isinstance(step, policy.Drop) and step.reason.startswith(policy.LATE)
    earlier = DECIDED + timedelta(seconds=298.5)
    assert isinstance(policy.after_failure(item(1), SendFailed("x", retry=True), earlier),
                      policy.Retry)  # fmt: skip


def test_the_reply_sent_is_the_items_text_under_a_fixed_length_key() -> None:
    reply = policy.reply_of(item(1))
    assert (reply.id, reply.carrier, reply.text) == (7, "telnyx", "You're unsubscribed.")
    assert (reply.sender, reply.contact) == ("+12065550199", "+12065550100")
    assert len(reply.key) == len("stopline-") + 32 and reply.key.startswith("stopline-")
