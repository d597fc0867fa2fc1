"""Each durable-rules 2.0.28 hazard measured here, and the guard that avoids it, proved."""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from core.model import Command, Source, Transition
from rules import (
    MAX_TESTS,
    CompiledRules,
    RulesEngineError,
    RulesHolder,
    build_engine,
    evaluator,
    load_rules,
    normalize,
)
from rules import durable_backend as de
from rules.engine import PythonEngine
from rules.errors import EngineClosed
from rules.rule_table import Rule
from tests.evaluators import needs_durable
from tests.unit.test_rules_support import SHIPPED, command, message, out

pytestmark = needs_durable


@pytest.fixture(scope="module")
def compiled() -> CompiledRules:
    return load_rules(SHIPPED)


@pytest.fixture
def engine(compiled: CompiledRules) -> Iterator[de.DurableEngine]:
    built = de.DurableEngine(compiled)
    yield built
    built.close()


def _facts(**over: str) -> dict[str, str]:
    base = {"_e": "1", "kind": "message", "actor": "contact", "command": "none",
            "intent": "none", "guard": "", "scope": "sender", "row_status": "subscribed",
            "row_by": "none", "reachable": "yes", "sender_status": "subscribed",
            "account_status": "subscribed"}
    return {**base, **over}


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_one_fixed_session_id_for_every_event(engine: de.DurableEngine,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # each new session costs ~86 KB and the 1,025th raises MemoryError, then segfaults
    seen: set[str] = set()
    post = engine._session.host.post

    def spy(ruleset: str, event: dict[str, Any]) -> Any:
        seen.add(event["sid"])
        return post(ruleset, event)

    monkeypatch.setattr(engine._session.host, "post", spy)
    for i in range(1_100):
        engine.decide(message("STOP" if i % 2 else "hello"))
    assert seen == {de.SESSION}


def test_unmatched_facts_hit_the_catch_all_rule(engine: de.DurableEngine) -> None:
    # no MessageNotHandledException, and so no half-made session that delete_state crashes on
    for facts in (_facts(kind="bogus"), _facts(kind="command", command="bogus"), {"_e": "1"}):
        assert engine.evaluate(facts).name == "no_rule"
    catch_all = engine.compiled.rules[-1]
    assert catch_all.when == (("_e", "1"),)
    assert catch_all.pri == max(r.pri for r in engine.compiled.rules)


def test_state_is_never_deleted() -> None:
    with pytest.raises(RuntimeError, match="never deletes"):
        de.QuietHost().delete_state(de.RULESET, de.SESSION)


def test_the_quiet_host_starts_no_threads(compiled: CompiledRules) -> None:
    before = threading.active_count()
    engines = [de.DurableEngine(compiled) for _ in range(20)]
    for built in engines:
        assert built.decide(message("STOP")).transition is Transition.OPT_OUT
    assert threading.active_count() == before
    assert not hasattr(engines[0]._session.host, "_d_timer")
    assert not hasattr(engines[0]._session.host, "_t_timer")
    for built in engines:
        built.close()


def test_an_exception_in_an_action_is_an_error_not_a_default(
    engine: de.DurableEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(index: int) -> None:
        raise ValueError("action broke")

    monkeypatch.setattr(engine._session, "record", boom)
    with pytest.raises(RulesEngineError, match="action broke"):
        engine.decide(message("STOP"))
    monkeypatch.undo()
    # the exception key would stay in the session for later events: the engine started afresh
    assert engine.decide(message("STOP")).transition is Transition.OPT_OUT


def test_no_decision_recorded_is_an_error(engine: de.DurableEngine,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine._session, "record", lambda index: None)
    with pytest.raises(RulesEngineError, match="0 decision"):
        engine.decide(message("HELP"))


def test_a_ruleset_above_the_cap_is_refused_before_registration(
    compiled: CompiledRules,
) -> None:
    # registration of > ~512 equality tests loops forever in durable's C code
    many = tuple(Rule(f"r{i}", (("a", str(i)), ("b", "x")), Transition.NONE, pri=i + 1)
                 for i in range(MAX_TESTS // 2 + 1))
    big = dataclasses.replace(compiled, rules=many)
    assert big.test_count > MAX_TESTS
    with pytest.raises(RulesEngineError, match="safe cap"):
        de.DurableEngine(big)
    assert compiled.test_count < 100  # keywords stay in Python: the ruleset tests only facts


def test_text_never_reaches_durable(compiled: CompiledRules) -> None:
    definition = de.ruleset_definition(compiled.rules, lambda i: lambda c: None)
    text = repr({k: {kk: vv for kk, vv in v.items() if kk != "run"}
                 for k, v in definition.items()})
    assert "$mt" not in text and "$imt" not in text
    for rule in compiled.rules:
        assert all(len(value) < 40 for _, value in rule.when)
        assert {field for field, _ in rule.when} <= {
            "_e", "kind", "actor", "command", "intent", "guard", "scope", "row_status",
            "row_by", "reachable", "sender_status", "account_status"}


def test_durables_own_matching_misses_what_python_catches() -> None:
    # $imt folds ASCII only: DÉSABONNER does not match désabonner; normalize() does
    fired: list[str] = []

    def hit(c: Any) -> None:
        fired.append("hit")

    def miss(c: Any) -> None:
        fired.append("miss")

    host = de.QuietHost()
    host.register_rulesets({"probe": {
        "a": {"all": [{"m": {"$imt": {"body": "désabonner"}}}], "pri": 1, "run": hit},
        "z": {"all": [{"m": {"_e": "1"}}], "pri": 2, "run": miss},
    }})
    for body in ("désabonner", "DÉSABONNER"):
        host.post("probe", {"sid": de.SESSION, "_e": "1", "body": body})
    de._free(host.get_ruleset("probe"))
    assert fired == ["hit", "miss"]
    assert normalize("DÉSABONNER") == normalize("désabonner")


def test_register_rulesets_mutates_so_each_build_gets_a_fresh_dict(
    compiled: CompiledRules,
) -> None:
    definition = de.ruleset_definition(compiled.rules, lambda i: lambda c: None)
    host = de.QuietHost()
    host.register_rulesets({"mutated": definition})
    assert all("run" not in rule for rule in definition.values())  # durable took them out
    de._free(host.get_ruleset("mutated"))
    again = de.ruleset_definition(compiled.rules, lambda i: lambda c: None)
    assert all("run" in rule for rule in again.values())


def test_actions_take_one_parameter_and_priorities_are_distinct(
    engine: de.DurableEngine,
) -> None:
    definition = de.ruleset_definition(engine.compiled.rules, engine._session._action)
    # two parameters would make durable treat the action as asynchronous
    assert all(rule["run"].__code__.co_argcount == 1 for rule in definition.values())
    pris = [rule["pri"] for rule in definition.values()]
    assert len(set(pris)) == len(pris)


def test_many_threads_get_every_decision_right(compiled: CompiledRules) -> None:
    engine = de.DurableEngine(compiled)
    oracle = PythonEngine(compiled)
    requests = [
        message("STOP"), message("STOP", out("contact")), message("START", out("contact")),
        message("HELP"), message("remove me"), message("hello"), message("STOP ALL"),
        command(Command.OPT_IN, Source.AGENT, out("contact")),
        command(Command.OPT_IN, Source.API, out("agent")),
        command(Command.OPT_OUT, Source.IMPORT),
    ]
    expected = [oracle.decide(r) for r in requests]
    wrong: list[str] = []

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        for _ in range(1_500):
            i = rnd.randrange(len(requests))
            got = engine.decide(requests[i])
            if got != expected[i]:
                wrong.append(f"{requests[i]} -> {got}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.close()
    assert wrong == []


def test_reloads_keep_memory_and_threads_flat(compiled: CompiledRules) -> None:
    # re-registering a ruleset per reload leaked ~0.7 MB each; a reload with the same
    # transition rules takes over the durable session, and the old engine is closed
    engine = build_engine(compiled, "durable")
    for _ in range(20):  # warm up allocator and caches
        engine, old = build_engine(compiled, "durable", engine), engine
        old.close()
    threads, rss = threading.active_count(), _rss()
    for i in range(300):
        edited = dataclasses.replace(compiled, version=f"{i:064x}")
        engine, old = build_engine(edited, "durable", engine), engine
        old.close()
        assert engine.reused
        assert engine.decide(message("STOP")).rules_version == edited.version
        with pytest.raises(EngineClosed):
            old.decide(message("STOP"))
    engine.close()
    assert threading.active_count() == threads
    assert _rss() - rss < 10 * 2**20, f"grew {(_rss() - rss) / 2**20:.1f} MiB"


def test_a_changed_rule_table_gets_a_new_ruleset_and_frees_the_old(
    compiled: CompiledRules,
) -> None:
    fewer = dataclasses.replace(compiled, rules=compiled.rules[1:])
    first = de.DurableEngine(compiled)
    second = de.DurableEngine(fewer, previous=first)
    assert not second.reused
    first.close()
    assert second.decide(message("STOP")).transition is Transition.OPT_OUT
    second.close()
    # building and freeing rulesets (no session yet) is flat: delete_ruleset frees them
    for _ in range(20):
        de.DurableEngine(compiled).close()
    rss = _rss()
    for _ in range(300):
        de.DurableEngine(compiled).close()
    assert _rss() - rss < 10 * 2**20


def test_a_closed_engine_refuses_instead_of_touching_freed_memory(
    compiled: CompiledRules,
) -> None:
    built = de.DurableEngine(compiled)
    built.close()
    built.close()  # twice is harmless
    with pytest.raises(EngineClosed):
        built.decide(message("STOP"))


def test_fallback_to_python_when_durable_does_not_import(
    compiled: CompiledRules, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(de, "IMPORT_ERROR", "ImportError: undefined symbol PyEval_CallObject")
    with caplog.at_level(logging.INFO):
        engine = build_engine(compiled, "auto")
    assert engine.backend == "python"
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []  # said at start only
    version = ".".join(map(str, sys.version_info[:2]))
    assert evaluator() == f"python (durable-rules cannot load on Python {version})"
    holder = RulesHolder(SHIPPED, interval=0)
    try:
        with caplog.at_level(logging.WARNING, logger="rules.holder"):
            holder.log_evaluator()  # what `stopline serve` says once at start
    finally:
        holder.close()
    assert "Python evaluator" in caplog.text and "PyEval_CallObject" in caplog.text
    with pytest.raises(RulesEngineError, match="not available"):
        build_engine(compiled, "durable")


def test_backend_choice(compiled: CompiledRules) -> None:
    assert build_engine(compiled, "auto").backend == "durable"
    assert build_engine(compiled, "python").backend == "python"
    with pytest.raises(ValueError, match="unknown rules backend"):
        build_engine(compiled, "drools")
