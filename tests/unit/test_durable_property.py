"""The pure-Python evaluator is the oracle: durable-rules must decide exactly as it does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.model import Command, DecisionRequest, Scope, ScopeFacts, Source, Status
from rules import PythonEngine, RulesEngine, load_rules
from rules import durable_backend as de
from tests.evaluators import needs_durable
from tests.unit.test_rules_support import SHIPPED

pytestmark = needs_durable

COMPILED = load_rules(SHIPPED)
ORACLE = PythonEngine(COMPILED)
SCOPED = HealthCheck.function_scoped_fixture  # the module-scoped engine is meant to be shared


@pytest.fixture(scope="module")
def durable() -> Iterator[RulesEngine]:
    engine = de.DurableEngine(COMPILED)
    yield engine
    engine.close()


# Values the facts really take, plus a few they never should (the catch-all must hold).
FIELDS = {
    "kind": ["message", "command", "other"],
    "actor": ["contact", "agent", "api", "import"],
    "command": ["none", "opt_out", "opt_in"],
    "intent": ["none", "opt_out", "opt_in", "help", "review"],
    "guard": ["", "reaction", "unknown"],
    "scope": ["sender", "account"],
    "row_status": ["subscribed", "opted_out"],
    "row_by": ["none", "contact", "agent", "api", "import"],
    "reachable": ["yes", "no"],
    "sender_status": ["subscribed", "opted_out"],
    "account_status": ["subscribed", "opted_out"],
}
facts_strategy = st.fixed_dictionaries(
    {"_e": st.just("1"), **{k: st.sampled_from(v) for k, v in FIELDS.items()}}
)


@settings(max_examples=600, deadline=None, suppress_health_check=[SCOPED])
@given(facts=facts_strategy)
def test_random_facts_fire_the_same_rule(durable: RulesEngine, facts: dict[str, str]) -> None:
    assert durable.evaluate(facts) == ORACLE.evaluate(facts)


WORDS = ["STOP", "stop all", "START", "yes", "HELP", "ARRÊT", "alto", "please", "thanks",
         "remove me", "stpo", "Liked", "“Reply STOP”", "can", "we", "by", "tomorrow", "UNSUB",
         "opt-out", "🛑", "!", "?", ".", ",", "\n", "wrong number", "Aide", "désabonner"]
texts = st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join) | st.text(max_size=40)
rows = st.builds(
    lambda status, by: ScopeFacts(Status(status), Source(by) if status == "opted_out" else None),
    st.sampled_from(["subscribed", "opted_out"]), st.sampled_from(list(Source)),
)
senders = st.sampled_from([None, "+12065550199", "12345"])
messages = st.builds(
    lambda sender, s, a, text: DecisionRequest(Source.CONTACT, sender, s, a, text=text),
    senders, rows, rows, texts,
)
commands = st.builds(
    lambda actor, sender, s, a, what, scope: DecisionRequest(
        actor, sender, s, a, command=what, scope=scope),
    st.sampled_from(list(Source)), senders, rows, rows, st.sampled_from(list(Command)),
    st.sampled_from(list(Scope)),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[SCOPED])
@given(request=messages | commands)
def test_random_requests_get_the_same_decision(durable: RulesEngine,
                                               request: DecisionRequest) -> None:
    assert durable.decide(request) == ORACLE.decide(request)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_no_text_breaks_the_decision(text: str) -> None:
    decision = ORACLE.decide(DecisionRequest(Source.CONTACT, "+12065550199", ScopeFacts(),
                                             ScopeFacts(), text=text))
    assert decision.rules_version == COMPILED.version
