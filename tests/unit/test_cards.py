"""The status card's blocks, from plain values: what it shows and Block Kit's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.cards import headline, status_card
from core.model import (
    Action,
    ConsentStatus,
    Scope,
    ScopeState,
    Source,
    Status,
)
from core.records import ConsentEvent

AT = datetime(2026, 11, 20, 14, 3, tzinfo=UTC)
PHONE = "+12065550123"


def scope(sender: str | None, status: Status, source: Source, actor: str, **kw) -> ScopeState:
    kind = Scope.ACCOUNT if sender is None else Scope.SENDER
    return ScopeState(kind, sender, status, source, actor, AT, **kw)


def consent(*scopes: ScopeState) -> ConsentStatus:
    blocked = [s for s in scopes if s.status is Status.OPTED_OUT and s.sender is None]
    return ConsentStatus(
        PHONE,
        None,
        Status.OPTED_OUT if blocked else Status.SUBSCRIBED,
        not blocked,
        None,
        None,
        None,
        scopes,
    )


def text_of(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def buttons(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        ((), "✅ (206) 555-0123 — subscribed"),
        (
            (scope(None, Status.OPTED_OUT, Source.AGENT, "slack:T1:U1"),),
            "⛔ (206) 555-0123 — OPTED OUT of every number. Do not text.",
        ),
        (
            (
                scope("+14155550123", Status.OPTED_OUT, Source.CONTACT, "twilio"),
                scope("+12065550100", Status.OPTED_OUT, Source.CONTACT, "twilio"),
            ),
            "⛔ (206) 555-0123 — OPTED OUT of 2 sender numbers",
        ),
        (
            (scope("+14155550123", Status.SUBSCRIBED, Source.CONTACT, "twilio"),),
            "✅ (206) 555-0123 — subscribed",
        ),
    ],
)
def test_headline(scopes: tuple[ScopeState, ...], expected: str) -> None:
    assert headline(consent(*scopes)) == expected


def test_who_and_why_per_scope() -> None:
    card = status_card(
        consent(
            scope(None, Status.OPTED_OUT, Source.AGENT, "slack:T1:U0AGENT", rule="agent-opt-out"),
            scope(
                "+14155550123",
                Status.OPTED_OUT,
                Source.CONTACT,
                "twilio",
                message_text="Stop texting me <!here>",
                keyword="STOP",
                rule="stop-words",
            ),
            scope("+12065550100", Status.OPTED_OUT, Source.API, "crm"),
            scope("+13125550100", Status.OPTED_OUT, Source.IMPORT, "file old.csv by cli:root"),
        ),
        [],
        may_opt_in=True,
    )
    shown = text_of(card)
    assert "by <@U0AGENT>" in shown and "rule `agent-opt-out`" in shown
    assert "who texted “Stop texting me &lt;!here&gt;”" in shown and "`STOP`" in shown
    assert "the API (token `crm`)" in shown and "an import (file old.csv by cli:root)" in shown
    assert "<!date^1795183380^{date_short_pretty} {time}|2026-11-20 14:03 UTC>" in shown
    assert buttons(card) == ["card_opt_in"]


def test_opt_in_button_needs_the_right_and_an_agent_made_optout() -> None:
    agents = consent(scope(None, Status.OPTED_OUT, Source.AGENT, "slack:T1:U1"))
    own = consent(scope("+14155550123", Status.OPTED_OUT, Source.CONTACT, "twilio"))
    assert buttons(status_card(agents, [], may_opt_in=False)) == []
    assert buttons(status_card(own, [], may_opt_in=True)) == ["card_opt_out"]


def test_limits_hold_with_long_texts_and_many_events() -> None:
    long_text = "stop " * 2000
    state = consent(
        scope(None, Status.OPTED_OUT, Source.CONTACT, "x" * 200, message_text=long_text)
    )
    events = [
        ConsentEvent(
            AT,
            PHONE,
            None,
            Scope.ACCOUNT,
            Action.OPT_OUT,
            Status.SUBSCRIBED,
            Status.OPTED_OUT,
            Source.CONTACT,
            "twilio",
            long_text,
            "STOP",
            "r",
            "v",
            "twilio",
            f"SM{n}",
            None,
            id=n,
        )
        for n in range(50)
    ]
    card = status_card(state, events, may_opt_in=True)
    assert len(card) <= 50
    for block in card:
        assert len(json.dumps(block.get("text", ""))) < 3100
        for element in block.get("elements", []) + block.get("fields", []):
            assert len(element.get("text", "")) <= 3000
    assert card[0]["type"] == "header" and len(card[0]["text"]["text"]) <= 150
