"""The service queues a reply by API in the decision's transaction (on the fake ledger)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.model import InboundMessage
from core.services import ConsentService
from tests.fakeledger import FakeLedger
from tests.fakes import FixedClock, TextDecider

AT = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)
ID = "7ee4241c-f127-47e5-9c34-3aac291f8058"


def text(body: str, *, by_api: bool = True, message_id: str = ID) -> InboundMessage:
    return InboundMessage("telnyx", message_id, "12065550100", "12065550199", body, AT,
                          reply_by_api=by_api)  # fmt: skip


@pytest.mark.parametrize(
    ("body", "by_api", "queued"),
    [("STOP", True, 1), ("STOP", False, 0), ("hello", True, 0)],
)
def test_a_reply_is_queued_only_when_sent_by_api(body: str, by_api: bool, queued: int) -> None:
    ledger = FakeLedger()
    calls: list[int] = []
    service = ConsentService(ledger, TextDecider(), clock=FixedClock(AT))
    # Called after the commit: the queued row is there to be read.
    service.replies_queued = lambda: calls.append(len(ledger.outbox))
    service.receive_message(text(body, by_api=by_api))
    service.receive_message(text(body, by_api=by_api))  # the carrier's retry: nothing more
    assert len(ledger.outbox) == queued
    assert calls == [1] * queued
    if queued:
        row = ledger.outbox[("telnyx", ID)]
        assert (row["sender"], row["contact"], row["created_at"]) == (
            "12065550199", "12065550100", AT,
        )  # fmt: skip
