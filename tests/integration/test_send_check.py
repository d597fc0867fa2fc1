"""The send check on a real ledger (SQLite and PostgreSQL): which opt-outs count, which numbers."""

from __future__ import annotations

import pytest

from core.model import Actor, Source
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database
from tests.fakes import FixedClock, TextDecider

SENDER = "+12065550199"
OTHER_SENDER = "+12065550198"
AGENT = Actor(Source.AGENT, "U0AGENT")
# Invalid North American numbers that have the look of canonical E.164.
NEAR_MISSES = [
    ("+1206001234", "nine national digits"),
    ("+12060012345", "exchange starting with 0"),
    ("+12061012345", "exchange starting with 1"),
    ("+10065550100", "area code starting with 0"),
    ("+15555550100", "555 is no area code"),
    ("+120655501001", "eleven national digits"),
]


@pytest.fixture
def service(database: Database) -> ConsentService:
    return ConsentService(SqlLedger(database), TextDecider(), clock=FixedClock())


@pytest.mark.parametrize(("phone", "why"), NEAR_MISSES, ids=[why for _, why in NEAR_MISSES])
def test_near_misses_are_invalid(service: ConsentService, phone: str, why: str) -> None:
    result = service.check(SENDER, [phone, "+12065550100", phone])
    assert result.invalid == [phone, phone], why
    assert result.sendable == ["+12065550100"] and result.suppressed == []


def test_the_senders_own_and_the_account_opt_outs_count_and_no_others(
    service: ConsentService,
) -> None:
    own, account, elsewhere, back = "+12065550101", "+12065550102", "+12065550103", "+12065550104"
    service.opt_out(own, SENDER, AGENT)
    service.opt_out(account, None, AGENT)
    service.opt_out(elsewhere, OTHER_SENDER, AGENT)
    service.opt_out(back, SENDER, AGENT)
    service.opt_in(back, SENDER, AGENT)  # a 'subscribed' row for this sender
    phones = [back, "(206) 555-0101", elsewhere, account, "+1 206 555 0103", own, "+12060012345"]
    result = service.check(SENDER, phones)
    assert result.suppressed == [own, account]
    assert result.sendable == [back, elsewhere]
    assert result.invalid == ["+12060012345"]
    assert service.check(OTHER_SENDER, phones).suppressed == [elsewhere, account]


def test_a_large_check_matches_the_opt_outs(service: ConsentService) -> None:
    blocked = [f"+1206555{n:04d}" for n in range(0, 300, 3)]
    for phone in blocked[:10]:
        service.opt_out(phone, SENDER, AGENT)
    for phone in blocked[10:20]:
        service.opt_out(phone, None, AGENT)
    phones = [f"+1206555{n:04d}" for n in range(300)] * 2 + ["+1206001234"]
    result = service.check(SENDER, phones)
    assert result.suppressed == blocked[:20]
    assert len(result.sendable) == 280 and result.invalid == ["+1206001234"]
