"""Each transition rule of the table, fired by the request it exists for, on both evaluators.

The table is compiled inside each test (rules.yml is parsed once; compiling takes about 2 ms),
so a change to any rule's name, tests, transition, scope, reply or reason fails here, and
`make mutate` knows these tests cover the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import yaml

from core.model import Command, DecisionRequest, Scope, ScopeFacts, Source, Transition
from core.text import CONTACT_ONLY
from rules import RulesEngine, build_engine
from rules.compile import CompiledRules, compile_rules
from rules.loader import read_rules_file
from rules.rule_table import transition_rules
from rules.schema import RulesFile
from tests.evaluators import EVALUATORS
from tests.unit.test_rules_support import SHIPPED, command, edited, message, out, write

S = ScopeFacts()
OPTED_OUT = "You are unsubscribed and will receive no more messages. Reply START to resubscribe."
OPTED_IN = "You are subscribed again. Reply STOP to unsubscribe, HELP for help."
ALREADY = "You are already subscribed. Reply STOP to unsubscribe, HELP for help."
HELP = "Reply STOP to unsubscribe or START to resubscribe. Msg & data rates may apply."


@cache
def _parsed(path: Path) -> tuple[RulesFile, bytes]:
    return read_rules_file(path)


def compiled(path: Path = SHIPPED) -> CompiledRules:
    """The rules compiled now (the parse is cached, the table is not)."""
    model, content = _parsed(path)
    return compile_rules(model, content, str(path))


@pytest.fixture(params=EVALUATORS)
def engine(request: pytest.FixtureRequest) -> Iterator[RulesEngine]:
    built = build_engine(compiled(), request.param)
    yield built
    built.close()


# request -> rule, transition, scope, reply, reason (None: no reason)
FIRES = [
    (message("Liked “Your order has shipped”"), "guard:reaction", Transition.NONE, Scope.SENDER,
     None, "the reaction guard matched: not a request to opt out"),
    (message("STOP", out("contact")), "already_opted_out_by_contact", Transition.NONE,
     Scope.SENDER, None, None),
    (message("STOP ALL", S, out("contact")), "already_opted_out_by_contact", Transition.NONE,
     Scope.ACCOUNT, None, None),
    (message("STOP"), "opt_out", Transition.OPT_OUT, Scope.SENDER, OPTED_OUT, None),
    (message("STOP ALL"), "opt_out", Transition.OPT_OUT, Scope.ACCOUNT, OPTED_OUT, None),
    (message("STOP", out("agent")), "opt_out_no_reply", Transition.OPT_OUT, Scope.SENDER,
     None, None),
    (message("STOP", S, out("api")), "opt_out_no_reply", Transition.OPT_OUT, Scope.SENDER,
     None, None),
    (message("START", out("contact"), out("agent")), "opt_in_account", Transition.OPT_IN,
     Scope.ACCOUNT, OPTED_IN, None),
    (message("START", out("contact")), "opt_in", Transition.OPT_IN, Scope.SENDER, OPTED_IN,
     None),
    (message("START"), "opt_in_not_needed", Transition.NONE, Scope.SENDER, ALREADY, None),
    (message("HELP"), "help", Transition.HELP, Scope.SENDER, HELP, None),
    (message("please take me off your list"), "review", Transition.REVIEW, Scope.SENDER,
     None, 'matched the review phrase "take me off your list"'),
    (message("please take me off your list", out("agent")), "review_not_reachable",
     Transition.NONE, Scope.SENDER, None, 'matched the review phrase "take me off your list"'),
    (message("see you at noon"), "no_keyword", Transition.NONE, Scope.SENDER, None, None),
    (command(Command.OPT_OUT, Source.CONTACT), "actor_not_permitted", Transition.REFUSE,
     Scope.SENDER, None, "rules.yml does not let contact run opt_out (commands.opt_out.actors)."),
    (command(Command.OPT_IN, Source.IMPORT, out("agent")), "actor_not_permitted",
     Transition.REFUSE, Scope.SENDER, None,
     "rules.yml does not let import run opt_in (commands.opt_in.actors)."),
    (command(Command.OPT_IN, Source.CONTACT, out("agent")), "actor_not_permitted",
     Transition.REFUSE, Scope.SENDER, None,
     "rules.yml does not let contact run opt_in (commands.opt_in.actors)."),
    (command(Command.OPT_OUT), "command_opt_out", Transition.OPT_OUT, Scope.SENDER, None, None),
    (command(Command.OPT_OUT, Source.IMPORT, scope=Scope.ACCOUNT), "command_opt_out",
     Transition.OPT_OUT, Scope.ACCOUNT, None, None),
    (command(Command.OPT_OUT, Source.API, out("agent")), "already_opted_out", Transition.NONE,
     Scope.SENDER, None, None),
    (command(Command.OPT_IN), "not_opted_out", Transition.NONE, Scope.SENDER, None, None),
    (command(Command.OPT_IN, Source.API, out("contact")), "contact_only", Transition.REFUSE,
     Scope.SENDER, None, CONTACT_ONLY),
    (command(Command.OPT_IN, Source.AGENT, out("agent")), "command_opt_in", Transition.OPT_IN,
     Scope.SENDER, None, None),
    (command(Command.OPT_IN, Source.API, out("api")), "command_opt_in", Transition.OPT_IN,
     Scope.SENDER, None, None),
    (command(Command.OPT_IN, Source.AGENT, S, out("import"), scope=Scope.ACCOUNT),
     "command_opt_in", Transition.OPT_IN, Scope.ACCOUNT, None, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_", "rule", "transition", "scope", "reply", "reason"),
    FIRES,
    ids=[f"{i}-{row[1]}" for i, row in enumerate(FIRES)],
)
def test_each_rule_fires_for_its_request(
    engine: RulesEngine, request_: DecisionRequest, rule: str, transition: Transition,
    scope: Scope, reply: str | None, reason: str | None,
) -> None:  # fmt: skip
    decision = engine.decide(request_)
    assert (decision.rule, decision.transition, decision.scope) == (rule, transition, scope)
    assert decision.reply == reply
    assert decision.reason == reason


def test_every_rule_of_the_shipped_table_is_fired_above_but_the_catch_all() -> None:
    names = {rule.name for rule in transition_rules(_parsed(SHIPPED)[0])}
    fired = {row[1] for row in FIRES} | {"opt_in_not_permitted"}  # the next test's
    assert names - fired == {"no_rule"}


def test_the_table_is_numbered_in_order_and_ends_with_the_catch_all() -> None:
    rules = transition_rules(_parsed(SHIPPED)[0])
    assert [rule.pri for rule in rules] == list(range(len(rules)))
    assert (rules[-1].name, rules[-1].when, rules[-1].transition) == (
        "no_rule", (("_e", "1"),), Transition.NONE
    )  # fmt: skip
    guards = [rule for rule in rules if rule.name.startswith("guard:")]
    assert rules[: len(guards)] == tuple(guards)  # the guards are tried first


def test_a_file_that_narrows_what_agents_reverse_refuses_the_rest(
    tmp_path: Path, evaluator: str
) -> None:
    path = write(tmp_path, edited("may_reverse: [agent, api, import]",
                                  "may_reverse: [import, import]"))  # fmt: skip
    engine = build_engine(compiled(path), evaluator)
    try:
        refused = engine.decide(command(Command.OPT_IN, Source.AGENT, out("agent")))
        assert (refused.rule, refused.transition) == ("opt_in_not_permitted", Transition.REFUSE)
        assert refused.reason == (
            "This contact was opted out by agent; rules.yml does not let an agent or the API "
            "reverse that (commands.opt_in.may_reverse)."
        )
        allowed = engine.decide(command(Command.OPT_IN, Source.AGENT, out("import")))
        assert (allowed.rule, allowed.transition) == ("command_opt_in", Transition.OPT_IN)
    finally:
        engine.close()
    table = [r.name for r in transition_rules(_parsed(path)[0])]
    assert table.count("command_opt_in") == 1  # a repeated source adds no second rule


def test_contact_in_may_reverse_never_lets_an_agent_undo_a_contacts_opt_out(
    evaluator: str,
) -> None:
    # The loader refuses such a file; the table holds the floor even for a model it never saw.
    text = edited("may_reverse: [agent, api, import]", "may_reverse: [contact, agent]")
    model = RulesFile.model_validate(yaml.safe_load(text))
    engine = build_engine(compile_rules(model, text.encode()), evaluator)
    try:
        own = engine.decide(command(Command.OPT_IN, Source.AGENT, out("contact")))
        assert (own.rule, own.transition) == ("contact_only", Transition.REFUSE)
        agents = engine.decide(command(Command.OPT_IN, Source.API, out("agent")))
        assert (agents.rule, agents.transition) == ("command_opt_in", Transition.OPT_IN)
    finally:
        engine.close()
    assert [r.when for r in transition_rules(model) if r.name == "command_opt_in"] == [
        (("kind", "command"), ("command", "opt_in"), ("row_by", "agent"))
    ]


def test_a_file_that_lets_imports_opt_in_has_no_refusal_for_them(
    tmp_path: Path, evaluator: str
) -> None:
    path = write(tmp_path, edited("actors: [agent, api]\n", "actors: [agent, api, import]\n"))
    engine = build_engine(compiled(path), evaluator)
    try:
        decision = engine.decide(command(Command.OPT_IN, Source.IMPORT, out("import")))
        assert (decision.rule, decision.transition) == ("command_opt_in", Transition.OPT_IN)
    finally:
        engine.close()


def test_a_file_that_narrows_who_runs_a_command_refuses_the_others(
    tmp_path: Path, evaluator: str
) -> None:
    text = edited("actors: [agent, api, import]\n", "actors: [api]\n")
    path = write(tmp_path, text.replace("actors: [agent, api]\n", "actors: [agent]\n"))
    engine = build_engine(compiled(path), evaluator)
    try:
        for what, actor in ((Command.OPT_OUT, Source.AGENT), (Command.OPT_OUT, Source.IMPORT),
                            (Command.OPT_IN, Source.API)):  # fmt: skip
            refused = engine.decide(command(what, actor, out("agent")))
            assert (refused.rule, refused.transition) == ("actor_not_permitted", Transition.REFUSE)
            assert refused.reason == (
                f"rules.yml does not let {actor.value} run {what.value} "
                f"(commands.{what.value}.actors)."
            )
        api = engine.decide(command(Command.OPT_OUT, Source.API))
        agent = engine.decide(command(Command.OPT_IN, Source.AGENT, out("api")))
        assert (api.rule, agent.rule) == ("command_opt_out", "command_opt_in")
    finally:
        engine.close()
