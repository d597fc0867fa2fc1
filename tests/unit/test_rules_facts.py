"""The flat facts the transition rules test: every key, for texts and for commands."""

from __future__ import annotations

import pytest

from core.model import Command, DecisionRequest, Scope, ScopeFacts, Source, Status
from rules import load_rules
from rules.compile import CompiledRules
from rules.facts import build_facts, reply_text
from rules.matching import Match
from tests.unit.test_rules_support import SENDER, SHIPPED, out

S = ScopeFacts()


@pytest.fixture(scope="module")
def compiled() -> CompiledRules:
    return load_rules(SHIPPED)


def facts(**changes: str) -> dict[str, str]:
    """The facts of a plain text from a subscribed contact, with some changed."""
    base = {
        "_e": "1", "kind": "message", "actor": "contact", "command": "none", "intent": "none",
        "guard": "", "scope": "sender", "row_status": "subscribed", "row_by": "none",
        "reachable": "yes", "sender_status": "subscribed", "account_status": "subscribed",
    }  # fmt: skip
    return {**base, **changes}


def text(body: str, sender_state: ScopeFacts = S, account_state: ScopeFacts = S,
         sender: str | None = SENDER) -> DecisionRequest:  # fmt: skip
    return DecisionRequest(Source.CONTACT, sender, sender_state, account_state, text=body)


def order(what: Command, scope: Scope | None, sender: str | None,
          sender_state: ScopeFacts = S, account_state: ScopeFacts = S) -> DecisionRequest:
    return DecisionRequest(Source.AGENT, sender, sender_state, account_state, command=what,
                           scope=scope)


CASES = [
    (text("see you soon"), facts()),
    (text("STOP"), facts(intent="opt_out")),
    (text("STOP ALL"), facts(intent="opt_out", scope="account")),
    (text("STOP", sender=None), facts(intent="opt_out", scope="account")),
    (text("STOP", out("agent")),
     facts(intent="opt_out", row_status="opted_out", row_by="agent", reachable="no",
           sender_status="opted_out")),
    (text("STOP ALL", out("contact"), out("api")),
     facts(intent="opt_out", scope="account", row_status="opted_out", row_by="api",
           reachable="no", sender_status="opted_out", account_status="opted_out")),
    (text("HELP", S, out("import")),
     facts(intent="help", reachable="no", account_status="opted_out")),
    (text("Liked “Your order shipped”"), facts(guard="reaction")),
    # a review keeps the sender's scope, even when its hit is an account-wide keyword's typo
    (text("stopal"), facts(intent="review")),
    (text("please take me off your list"), facts(intent="review")),
    # who opted a row out is only a fact while the row is opted out
    (text("hello", ScopeFacts(Status.SUBSCRIBED, Source.AGENT)), facts()),
    (order(Command.OPT_OUT, Scope.SENDER, SENDER),
     facts(kind="command", actor="agent", command="opt_out")),
    (order(Command.OPT_IN, Scope.ACCOUNT, SENDER, S, out("contact")),
     facts(kind="command", actor="agent", command="opt_in", scope="account",
           row_status="opted_out", row_by="contact", reachable="no",
           account_status="opted_out")),
    # a command without a scope: the sender's when there is one, else the account's
    (order(Command.OPT_OUT, None, SENDER), facts(kind="command", actor="agent",
                                                  command="opt_out")),
    (order(Command.OPT_OUT, None, None),
     facts(kind="command", actor="agent", command="opt_out", scope="account")),
    (order(Command.OPT_IN, Scope.SENDER, None),
     facts(kind="command", actor="agent", command="opt_in", scope="account")),
]  # fmt: skip


@pytest.mark.parametrize(("request_", "expected"), CASES)
def test_the_facts_of_a_request(
    compiled: CompiledRules, request_: DecisionRequest, expected: dict[str, str]
) -> None:
    found, match = build_facts(compiled, request_)
    assert found == expected
    assert match.intent == expected["intent"] and match.guard == expected["guard"]


def test_a_text_matched_beforehand_is_not_matched_again(compiled: CompiledRules) -> None:
    # The service matches a text outside the contact's lock and hands the match in.
    given = Match("help")
    found, match = build_facts(compiled, text("STOP"), given)
    assert match is given and found["intent"] == "help"


def test_a_message_without_text_matches_nothing(compiled: CompiledRules) -> None:
    request = DecisionRequest(Source.CONTACT, SENDER, S, S, text=None)
    assert build_facts(compiled, request) == (facts(), Match())


def test_a_reply_in_the_language_then_the_default(compiled: CompiledRules) -> None:
    assert reply_text(compiled, "opt_out", "es", None).startswith("Has cancelado")
    assert reply_text(compiled, "already_subscribed", "de", None).startswith("You are already")
    assert reply_text(compiled, "opt_out", None, SENDER).startswith("You are unsubscribed")
    assert reply_text(compiled, "no_such_reply", "en", None) == ""
