"""Transition semantics: contacts' messages and agents' commands, on both backends."""

from __future__ import annotations

import pytest

from core.model import Command, Scope, ScopeFacts, Source, Transition
from rules import RulesEngine, build_engine, load_rules, try_text
from rules.rule_table import CONTACT_ONLY
from tests.evaluators import EVALUATORS
from tests.unit.test_rules_support import SHIPPED, SUBSCRIBED, command, message, out


@pytest.fixture(scope="module", params=EVALUATORS)
def engine(request: pytest.FixtureRequest) -> RulesEngine:
    built = build_engine(load_rules(SHIPPED), request.param)
    yield built
    built.close()


S, A = SUBSCRIBED, SUBSCRIBED
MESSAGES = [
    # text, sender_state, account_state -> transition, scope, rule, has reply
    ("STOP", S, A, Transition.OPT_OUT, Scope.SENDER, "opt_out", True),
    ("STOP", out("contact"), A, Transition.NONE, Scope.SENDER, "already_opted_out_by_contact",
     False),
    # an agent's opt-out is upgraded to the contact's own, with no second confirmation
    ("STOP", out("agent"), A, Transition.OPT_OUT, Scope.SENDER, "opt_out_no_reply", False),
    ("STOP", out("import"), A, Transition.OPT_OUT, Scope.SENDER, "opt_out_no_reply", False),
    # opted out account-wide: the sender row still takes the contact's own opt-out, silently
    ("STOP", S, out("contact"), Transition.OPT_OUT, Scope.SENDER, "opt_out_no_reply", False),
    ("STOP ALL", S, A, Transition.OPT_OUT, Scope.ACCOUNT, "opt_out", True),
    ("STOP ALL", out("contact"), A, Transition.OPT_OUT, Scope.ACCOUNT, "opt_out_no_reply", False),
    ("STOPALL", S, out("contact"), Transition.NONE, Scope.ACCOUNT,
     "already_opted_out_by_contact", False),
    ("START", out("contact"), A, Transition.OPT_IN, Scope.SENDER, "opt_in", True),
    ("START", out("agent"), A, Transition.OPT_IN, Scope.SENDER, "opt_in", True),
    ("YES", S, out("contact"), Transition.OPT_IN, Scope.ACCOUNT, "opt_in_account", True),
    ("UNSTOP", out("contact"), out("api"), Transition.OPT_IN, Scope.ACCOUNT, "opt_in_account",
     True),
    ("START", S, A, Transition.NONE, Scope.SENDER, "opt_in_not_needed", True),
    ("YES", S, A, Transition.NONE, Scope.SENDER, "opt_in_not_needed", True),
    ("HELP", S, A, Transition.HELP, Scope.SENDER, "help", True),
    ("HELP", out("contact"), out("contact"), Transition.HELP, Scope.SENDER, "help", True),
    ("remove me", S, A, Transition.REVIEW, Scope.SENDER, "review", False),
    ("remove me", out("contact"), A, Transition.NONE, Scope.SENDER, "review_not_reachable",
     False),
    ("STPO", S, A, Transition.REVIEW, Scope.SENDER, "review", False),
    ("See you at 3", S, A, Transition.NONE, Scope.SENDER, "no_keyword", False),
    ('Liked "Reply STOP to opt out"', S, A, Transition.NONE, Scope.SENDER, "guard:reaction",
     False),
]


@pytest.mark.parametrize(("text", "sender_state", "account_state", "transition", "scope",
                          "rule", "reply"), MESSAGES)
def test_contact_messages(engine: RulesEngine, text: str, sender_state: ScopeFacts,
                          account_state: ScopeFacts, transition: Transition, scope: Scope,
                          rule: str, reply: bool) -> None:
    decision = engine.decide(message(text, sender_state, account_state))
    assert (decision.transition, decision.scope, decision.rule) == (transition, scope, rule)
    assert (decision.reply is not None) is reply
    assert decision.rules_version == engine.version


def test_a_message_without_sender_uses_the_account_scope(engine: RulesEngine) -> None:
    decision = engine.decide(message("STOP", sender=None))
    assert (decision.transition, decision.scope) == (Transition.OPT_OUT, Scope.ACCOUNT)


COMMANDS = [
    # command, actor, scope, sender_state, account_state -> transition, rule
    (Command.OPT_OUT, Source.AGENT, Scope.SENDER, S, A, Transition.OPT_OUT, "command_opt_out"),
    (Command.OPT_OUT, Source.API, Scope.ACCOUNT, S, A, Transition.OPT_OUT, "command_opt_out"),
    (Command.OPT_OUT, Source.IMPORT, Scope.SENDER, S, A, Transition.OPT_OUT, "command_opt_out"),
    (Command.OPT_OUT, Source.AGENT, Scope.SENDER, out("contact"), A, Transition.NONE,
     "already_opted_out"),
    (Command.OPT_OUT, Source.AGENT, Scope.ACCOUNT, out("agent"), A, Transition.OPT_OUT,
     "command_opt_out"),
    (Command.OPT_IN, Source.AGENT, Scope.SENDER, out("agent"), A, Transition.OPT_IN,
     "command_opt_in"),
    (Command.OPT_IN, Source.API, Scope.SENDER, out("api"), A, Transition.OPT_IN,
     "command_opt_in"),
    (Command.OPT_IN, Source.AGENT, Scope.ACCOUNT, S, out("import"), Transition.OPT_IN,
     "command_opt_in"),
    (Command.OPT_IN, Source.AGENT, Scope.SENDER, out("contact"), A, Transition.REFUSE,
     "contact_only"),
    (Command.OPT_IN, Source.API, Scope.ACCOUNT, S, out("contact"), Transition.REFUSE,
     "contact_only"),
    (Command.OPT_IN, Source.AGENT, Scope.SENDER, S, A, Transition.NONE, "not_opted_out"),
    (Command.OPT_IN, Source.AGENT, Scope.SENDER, S, out("contact"), Transition.NONE,
     "not_opted_out"),
    # the shipped file lets agents and the API opt in, not imports
    (Command.OPT_IN, Source.IMPORT, Scope.SENDER, out("import"), A, Transition.REFUSE,
     "actor_not_permitted"),
    (Command.OPT_OUT, Source.CONTACT, Scope.SENDER, S, A, Transition.REFUSE,
     "actor_not_permitted"),
]


@pytest.mark.parametrize(("what", "actor", "scope", "sender_state", "account_state",
                          "transition", "rule"), COMMANDS)
def test_commands(engine: RulesEngine, what: Command, actor: Source, scope: Scope,
                  sender_state: ScopeFacts, account_state: ScopeFacts, transition: Transition,
                  rule: str) -> None:
    decision = engine.decide(command(what, actor, sender_state, account_state, scope))
    assert (decision.transition, decision.rule, decision.scope) == (transition, rule, scope)
    assert decision.reply is None
    if transition is Transition.REFUSE:
        assert decision.reason


def test_refusal_of_a_contacts_opt_out_says_why(engine: RulesEngine) -> None:
    decision = engine.decide(command(Command.OPT_IN, Source.AGENT, out("contact")))
    assert decision.reason == CONTACT_ONLY == (
        "This contact opted out by text; only the contact can re-subscribe, "
        "by texting START, YES or UNSTOP.")


def test_a_file_may_narrow_what_agents_reverse(tmp_path, evaluator: str) -> None:  # type: ignore[no-untyped-def]
    from tests.unit.test_rules_support import edited, write

    path = write(tmp_path, edited("may_reverse: [agent, api, import]", "may_reverse: [agent]"))
    engine = build_engine(load_rules(path), evaluator)
    refused = engine.decide(command(Command.OPT_IN, Source.AGENT, out("import")))
    assert (refused.transition, refused.rule) == (Transition.REFUSE, "opt_in_not_permitted")
    assert refused.reason and "opted out by import" in refused.reason
    allowed = engine.decide(command(Command.OPT_IN, Source.AGENT, out("agent")))
    assert allowed.transition is Transition.OPT_IN
    engine.close()


@pytest.mark.parametrize(("status", "by", "transition"), [
    ("subscribed", None, Transition.NONE),
    ("opted_out", None, Transition.OPT_IN),
    ("opted_out", "agent", Transition.OPT_IN),
])
def test_try_text(engine: RulesEngine, status: str, by: str | None,
                  transition: Transition) -> None:
    decision = try_text(engine, "START", sender="+12065550199", contact="+12065550100",
                        status=status, by=by)
    assert decision.transition is transition
    assert try_text(engine, "STOP", status="opted_out", scope="account").rule == (
        "already_opted_out_by_contact")
