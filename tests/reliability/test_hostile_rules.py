"""Failure drill "Hostile rules files": keys nobody foresaw, generated YAML, files at the caps.

A rules.yml that breaks the loader in an unforeseen way is one clear problem with its line,
the last good rules keep deciding (and /healthz says so); a valid but huge file is capped,
matched at a cost that does not grow with its filler words and phrases, and loaded aside while
requests are answered with the rules in force.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.rules_files import largest_rules, worst_texts
from core.config import Settings
from core.model import Actor, InboundMessage, Source, Transition
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database
from rules import RulesHolder, caps, load_rules
from rules.compile import CompiledRules
from rules.engine import RulesEngine
from rules.errors import RulesError
from rules.factory import build_engine
from rules.matching import match_text
from rules.yamlsafe import MAX_NODES
from stopline.cli.main import main
from stopline.cli.rules_check import check_file
from stopline.wiring import Services, build_services
from tests.unit.test_rules_holder import rewrite, settle
from tests.unit.test_rules_support import edited, message, shipped_text, write
from tests.web.helpers import messages, post_sms, sms
from web import create_app

FAULT = "fault in stopline's loader"  # the catch-all's words: a path nobody handled
UNREAD = "cannot be read: "  # the YAML walk's catch-all


def drill(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )  # fmt: skip


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# --- keys and tags nobody foresaw: one problem, its line, never a traceback ------------------

ODD = [
    ("    words: [STOPALL, STOP ALL]", "    [STOPALL, STOP ALL]: words", "a list cannot be a key"),
    ("    words: [STOPALL, STOP ALL]", "    ? [STOPALL, [STOP ALL]]\n    : words", "a list cannot"),
    ("format: 1", "{format: 1}: x", "a mapping cannot be a key"),
    ("format: 1", "!!set {a, b}: 1", "a mapping cannot be a key"),
    ("format: 1", "format: !!int one", "cannot be read as int"),
    ("format: 1", "format: !!float x1", "cannot be read as float"),
    ("format: 1", "format: !!bool maybe", "cannot be read as bool"),
    ("format: 1", "format: !!timestamp soon", "cannot be read as timestamp"),
    ("format: 1", "!!timestamp 2026-13-45: 1", "cannot be read as timestamp"),
    ("format: 1", "format: !!binary 'not base64!'", "not valid YAML"),
    ("format: 1", "format: !!python/object:os.system x", "not valid YAML"),
]


@pytest.mark.parametrize(("old", "new", "words"), ODD)
def test_an_odd_key_or_tag_is_one_problem_with_its_line(
    tmp_path: Path, old: str, new: str, words: str
) -> None:
    text = edited(old, new)
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as info:
        load_rules(path)
    found = [str(p) for p in info.value.problems]
    assert len(found) == 1 and words in found[0], found
    assert found[0].startswith(f"{path}:{line_of(text, new.splitlines()[0])}"), found
    assert FAULT not in found[0]


@pytest.mark.parametrize(("old", "new", "words"), ODD[:3])
def test_rules_check_prints_one_line_and_no_traceback(
    tmp_path: Path, old: str, new: str, words: str
) -> None:
    text = edited(old, new)
    path = write(tmp_path, text)
    result = CliRunner().invoke(main, ["rules", "check", str(path)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}:{line_of(text, new.splitlines()[0])}: ")
    assert words in lines[0] and "Traceback" not in result.output
    assert not isinstance(result.exception, TypeError)


# --- generated YAML: only RulesError, and the holder always decides ---------------------------

SCALARS = st.one_of(
    st.text(max_size=12), st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(),
    st.sampled_from(["YES", "no", "~", "0x1F", "1e400", ".inf", "2026-02-30", "12:30:00",
                     "-", "'", '"', "{", "[", "&a", "*a", "!x", "%", "@", "`", "<<"]),
)  # fmt: skip
KEYS = st.one_of(SCALARS, st.lists(SCALARS, max_size=3).map(tuple))
TREES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers(), st.booleans()), inner,
                        max_size=4),
    ),
    max_leaves=12,
)  # fmt: skip
TAGS = ["!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!binary", "!!set",
        "!!omap", "!!pairs", "!!seq", "!!map", "!!merge", "!local", "!!python/tuple"]  # fmt: skip
SNIPPETS = st.one_of(
    st.builds(lambda k, v: f"{yaml.safe_dump({0: v}, default_flow_style=True)[3:-1]}",
              st.just(0), TREES),
    st.builds(lambda t, v: f"{t} {v}", st.sampled_from(TAGS), st.sampled_from(
        ["x", "1", "[1, 2]", "{a: 1}", "''", "2026-01-01", "!!!", "- a"])),
    st.builds(lambda k: f"? {k}\n  : x", st.sampled_from(["[a, b]", "{a: b}", "[[a]]", "!!set {a}",
                                                         "&k a", "*k", "~", "!!float 1"])),
    st.sampled_from(["&a [1]", "*a", "<<: {a: 1}", "<<: [*a]", "|\n  x", ">-\n  y", "'\n'",
                     "- - - -", "{[a]: 1}", "[{a: 1}: 2]", "!!binary aGk=", "%YAML 1.1\n---"]),
)  # fmt: skip


def _indent(snippet: str, pad: str) -> str:
    return snippet.replace("\n", "\n" + pad)


@st.composite
def mutated_rules(draw: st.DrawFn) -> str:
    """The shipped file with one line's value, key or whole line replaced by something odd."""
    lines = shipped_text().splitlines()
    i = draw(st.integers(0, len(lines) - 1))
    line = lines[i]
    pad = line[: len(line) - len(line.lstrip())]
    snippet = draw(SNIPPETS)
    how = draw(st.sampled_from(["value", "key", "line"]))
    if how == "value" and ":" in line:
        lines[i] = line.split(":", 1)[0] + ": " + _indent(snippet, pad + "  ")
    elif how == "key" and ":" in line:
        lines[i] = pad + _indent(snippet, pad) + ":" + line.split(":", 1)[1]
    else:
        lines[i] = pad + _indent(snippet, pad)
    return "\n".join(lines) + "\n"


def generated_documents() -> st.SearchStrategy[str]:
    """Whole YAML documents: dumped trees (non-string keys too) and the mutated shipped file."""
    dumped = st.dictionaries(KEYS, TREES, max_size=5).map(
        lambda d: (
            yaml.safe_dump(d, allow_unicode=True)  # tuples as keys: !!python/tuple
            if not any(isinstance(k, tuple) for k in d)
            else yaml.dump(d, allow_unicode=True)
        )
    )
    return st.one_of(dumped, mutated_rules(), st.text(max_size=80))


@pytest.fixture(scope="module")
def fuzz_holder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RulesHolder, Path]]:
    path = write(tmp_path_factory.mktemp("fuzz"), shipped_text())
    holder = RulesHolder(path, interval=3600, backend="python")
    yield holder, path
    holder.close()


@drill(200)
@given(text=generated_documents())
def test_generated_yaml_is_a_rules_error_or_rules_and_the_holder_always_decides(
    fuzz_holder: tuple[RulesHolder, Path], text: str
) -> None:
    holder, path = fuzz_holder
    rewrite(path, text)
    try:
        load_rules(path)
    except RulesError as exc:  # anything else fails the test, with its traceback
        assert exc.problems and all(str(p).startswith(str(path)) for p in exc.problems)
        # a path nobody handled would still be a RulesError, through a catch-all: not here
        assert not any(FAULT in str(p) or UNREAD in str(p) for p in exc.problems), exc
    holder.check_now()
    decision = holder.decide(message("STOP"))
    assert decision.transition is Transition.OPT_OUT and decision.rules_version == holder.version
    rewrite(path, shipped_text())
    holder.check_now()


# --- a load that fails in a way nobody foresaw keeps the last good rules ---------------------


class FailingBuilder:
    """A real engine builder, until it is told to fail with some exception nobody expects."""

    def __init__(self) -> None:
        self.failure: BaseException | None = None

    def __call__(self, compiled: CompiledRules, backend: str, previous: RulesEngine | None
                 ) -> RulesEngine:  # fmt: skip
        if self.failure is not None:
            raise self.failure
        return build_engine(compiled, backend, previous)


@pytest.mark.parametrize(
    "failure",
    [
        TypeError("unhashable type: 'list'"),
        KeyError("x"),
        MemoryError(),
        AssertionError("no"),
        RecursionError(),
    ],
)
def test_a_failing_build_keeps_the_last_good_rules(tmp_path: Path, failure: BaseException) -> None:
    path = write(tmp_path, shipped_text())
    builder = FailingBuilder()
    holder = RulesHolder(path, interval=3600, backend="python", builder=builder)
    version = holder.version
    builder.failure = failure
    rewrite(path, edited("You are unsubscribed", "Bye"))
    assert holder.check_now() is False
    assert holder.version == version and holder.failures == 1
    assert type(failure).__name__ in (holder.last_error or "")
    assert holder.decide(message("STOP")).transition is Transition.OPT_OUT
    holder.close()


def test_a_failing_first_load_is_a_rules_error(tmp_path: Path) -> None:
    builder = FailingBuilder()
    builder.failure = ValueError("boom")
    with pytest.raises(RulesError) as info:
        RulesHolder(write(tmp_path, shipped_text()), builder=builder)
    assert "ValueError: boom" in str(info.value)


def test_new_rules_that_do_not_opt_out_on_stop_are_not_put_in_force(tmp_path: Path) -> None:
    class Backwards(FailingBuilder):
        def __call__(self, compiled: CompiledRules, backend: str, previous: RulesEngine | None
                     ) -> RulesEngine:  # fmt: skip
            engine = build_engine(compiled, backend, previous)
            if self.failure is not None:  # a compiled table in which STOP does nothing
                rules = tuple(
                    r for r in compiled.rules if r.name not in ("opt_out", "opt_out_no_reply")
                )
                engine.compiled = type(compiled)(**{**compiled.__dict__, "rules": rules})
                engine._ordered = rules  # type: ignore[attr-defined]
            return engine

    path = write(tmp_path, shipped_text())
    builder = Backwards()
    holder = RulesHolder(path, interval=3600, backend="python", builder=builder)
    builder.failure = RuntimeError()
    rewrite(path, edited("You are unsubscribed", "Bye"))
    assert holder.check_now() is False and "not an opt-out" in (holder.last_error or "")
    assert holder.decide(message("STOP")).transition is Transition.OPT_OUT
    holder.close()


def _services(settings: Settings, rules: Path, **holder: Any) -> Services:
    services = build_services(settings.model_copy(update={"rules_path": rules}))
    if holder:
        services.rules.close()
        services.rules = RulesHolder(rules, **holder)
        services.consent.decider = services.rules
    return services


def test_healthz_shows_an_unforeseen_failure_and_stops_are_honoured(
    settings: Settings, tmp_path: Path
) -> None:
    rules = write(tmp_path, shipped_text())
    builder = FailingBuilder()
    services = _services(settings, rules, backend="python", builder=builder)
    try:
        client = create_app(settings, services).test_client()
        assert client.get("/healthz").get_json()["rules"]["state"] == "ok"
        builder.failure = TypeError("unhashable type: 'list'")
        rewrite(rules, edited("You are unsubscribed", "Bye"))
        response = client.get("/healthz")
        body = response.get_json()
        assert response.status_code == 200 and body["status"] == "warning"
        assert body["rules"]["state"] == "degraded"
        assert "TypeError" in body["rules"]["last_error"] and body["rules"]["failures"] == 1
        assert messages(post_sms(client, sms("STOP")))[0].startswith("You are unsubscribed")
        # and a real file with a list as a key, the slip of the issue
        builder.failure = None
        rewrite(rules, edited("    words: [STOPALL, STOP ALL]", "    [STOPALL, STOP ALL]: x"))
        body = client.get("/healthz").get_json()
        assert (
            body["rules"]["state"] == "degraded"
            and "a list cannot be a key" in (body["rules"]["last_error"])
        )
        other = sms("STOP ALL", contact="+12065550124", sid="SM" + "b" * 32)
        assert messages(post_sms(client, other))[0].startswith("You are unsubscribed")
    finally:
        services.close()


# --- caps: named, with the path and the line ------------------------------------------------


def _with(data_edit: Callable[[dict[str, Any]], None]) -> str:
    data = yaml.safe_load(shipped_text())
    data_edit(data)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200)


CAPPED: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("filler_words", lambda d: d["filler_words"].extend(
        f"filler{i}" for i in range(caps.MAX_FILLERS)), "filler words", "filler_words"),
    ("review.phrases", lambda d: d["review"]["phrases"].extend(
        f"look at {i}" for i in range(caps.MAX_PHRASES)), "review phrases", "phrases"),
    ("keywords", lambda d: d["keywords"].update({"bulk": {
        "intent": "opt_out", "language": "en", "words": [f"zz{i}" for i in range(
            caps.MAX_KEYWORDS)]}}), "keywords (all groups)", "keywords"),
    ("keywords", lambda d: d["keywords"].update({f"g{i}": {
        "intent": "help", "language": "en", "words": [f"hh{i}"]} for i in range(
            caps.MAX_GROUPS)}), "keyword groups", "keywords"),
    ("guards", lambda d: d["guards"].update({f"g{i}": {"starts_with": [f"w{i}"]}
                                             for i in range(caps.MAX_GUARDS)}), "guards", "guards"),
    ("guards", lambda d: d["guards"].update({"many": {"starts_with": [
        f"w{i}" for i in range(caps.MAX_GUARD_WORDS)]}}), "guard words (all guards)", "guards"),
    ("replies.senders", lambda d: d["replies"]["senders"].update({
        f"3{i:04d}": {"help": {"en": "hi"}} for i in range(caps.MAX_SENDERS)}),
     "reply overrides (senders)", "senders"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "edit", "what", "key"), CAPPED)
def test_a_count_over_its_cap_is_refused_by_name(
    tmp_path: Path, path: str, edit: Callable[[dict[str, Any]], None], what: str, key: str
) -> None:
    text = _with(edit)
    ok, found = check_file(write(tmp_path, text))
    cap = caps.CAPS[what]
    assert not ok and len(found) == 1, found
    assert f" at {path}: holds " in found[0] and f"at most {cap:,} are allowed" in found[0]
    assert f"(the cap on {what})" in found[0]
    line = int(found[0].split(":")[1].split()[0])
    assert key in text.splitlines()[line - 1] or key in text.splitlines()[line - 2], found


@pytest.mark.parametrize(("edit", "words"), [
    (lambda d: d["filler_words"].append("x" * (caps.MAX_ENTRY_CHARS + 1)), "at most 100 char"),
    (lambda d: d["review"]["phrases"].append("a b c d e f g h i"), "at most 8 words"),
    (lambda d: d["replies"]["help"].update({"en": "y" * (caps.MAX_REPLY_CHARS + 1)}),
     "at most 1,600"),
])  # fmt: skip
def test_an_entry_over_its_cap_is_refused_with_its_line(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], words: str
) -> None:
    ok, found = check_file(write(tmp_path, _with(edit)))
    assert not ok and len(found) == 1 and words in found[0], found
    assert found[0].split(":")[1].split()[0].isdigit()


def test_too_many_values_stop_the_parse_at_the_node_cap(tmp_path: Path) -> None:
    text = "filler_words:\n" + "- a\n" * MAX_NODES
    ok, found = check_file(write(tmp_path, text))
    assert not ok and len(found) == 1 and f"more than {MAX_NODES:,} keys and values" in found[0]
    assert " at filler_words: " in found[0], found


def test_a_repeated_command_source_adds_no_rules(tmp_path: Path) -> None:
    once = edited("may_reverse: [agent, api, import]", "may_reverse: [agent]")
    many = edited("may_reverse: [agent, api, import]",
                  "may_reverse: [" + ", ".join(["agent"] * 20_000) + "]")  # fmt: skip
    compiled = [load_rules(write(tmp_path, t, f"{i}.yml")) for i, t in enumerate((once, many))]
    assert compiled[0].rules == compiled[1].rules


def test_the_largest_accepted_file_is_at_every_cap(tmp_path: Path) -> None:
    path = write(tmp_path, largest_rules())
    ok, lines = check_file(path)
    assert ok, lines
    compiled = load_rules(path)
    model = compiled.model
    assert len(model.filler_words) == caps.MAX_FILLERS
    assert len(model.review.phrases) == caps.MAX_PHRASES
    assert sum(len(g.words) for g in model.keywords.values()) == caps.MAX_KEYWORDS
    assert len(model.guards) == caps.MAX_GUARDS and len(model.keywords) == caps.MAX_GROUPS
    assert path.stat().st_size > 0.99 * 1024 * 1024


# --- matching cost: counted in lines of Python run, never timed ------------------------------


def _lines_run(fn: Callable[[], object]) -> int:
    """How many lines of Python fn() runs (a count of work, the same on any machine)."""
    count = 0

    def local(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def hook(frame: FrameType, event: str, arg: object) -> Any:
        return local

    previous = sys.gettrace()
    sys.settrace(hook)
    try:
        fn()
    finally:
        sys.settrace(previous)
    return count


def _with_many(tmp_path: Path, fillers: int, phrases: int) -> CompiledRules:
    def edit(d: dict[str, Any]) -> None:
        d["filler_words"].extend(f"filler{i:04d} mild" for i in range(fillers))
        d["review"]["phrases"].extend(f"look at case {i:04d}" for i in range(phrases))

    return load_rules(write(tmp_path, _with(edit), f"r{fillers}.yml"))


def test_matching_work_does_not_grow_with_filler_words_and_phrases(tmp_path: Path) -> None:
    few = _with_many(tmp_path, 0, 0)
    many = _with_many(tmp_path, caps.MAX_FILLERS - 25, caps.MAX_PHRASES - 91)
    # Texts of the words both files share (the shipped fillers and phrases, at their worst).
    shapes = worst_texts()
    own = ("filler words only", "repeated phrase")  # words of the generated file only
    shared = [t for name, t in shapes.items() if name not in own]
    data = yaml.safe_load(shipped_text())
    texts = [
        *shared,
        (" ".join(data["filler_words"]) + " ") * 9,
        (data["review"]["phrases"][-1] + " ") * 50,
        "please stop now thank you",
        "Can we stop by tomorrow?",
        "I want to opt out please",
        "please please please",
    ]
    for text in texts:
        assert match_text(few, text) == match_text(many, text), text
        work = [_lines_run(partial(match_text, rules, text)) for rules in (few, many)]
        assert work[0] == work[1], (text[:40], work)


# --- loads off the request path, and matching outside the contact's lock --------------------


class SlowLoader:
    """load_rules, held at a gate the test opens: a load as slow as the test wants."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.waiting = threading.Event()
        self.slow = False

    def __call__(self, path: Path) -> CompiledRules:
        if self.slow:
            self.waiting.set()
            assert self.gate.wait(30), "the test never opened the gate"
        return load_rules(path)


def test_a_request_during_a_slow_reload_is_answered_with_the_old_rules(tmp_path: Path) -> None:
    path = write(tmp_path, shipped_text())
    loader = SlowLoader()
    holder = RulesHolder(path, interval=0.05, backend="python", loader=loader)
    old = holder.version
    loader.slow = True
    rewrite(path, largest_rules())  # the largest file a check accepts
    holder.start_watching()
    assert loader.waiting.wait(10), "the watcher never started the reload"
    for text in ("STOP", "zeta000w00", "HELP"):  # the load is still held at the gate
        decision = holder.decide(message(text))
        assert decision.rules_version == old
    assert holder.decide(message("zeta000w00")).transition is Transition.NONE
    assert holder.refresh(0.01) is False  # /healthz would not wait for it either
    loader.gate.set()
    settle(lambda: holder.reloads == 1, "the large file in force")
    assert holder.decide(message("zeta000w00")).transition is Transition.OPT_OUT
    holder.close()


def test_decide_never_loads_in_the_calling_thread(tmp_path: Path) -> None:
    path = write(tmp_path, shipped_text())
    callers: list[str] = []

    def loader(p: Path) -> CompiledRules:
        callers.append(threading.current_thread().name)
        return load_rules(p)

    holder = RulesHolder(path, interval=0.05, backend="python", loader=loader)
    callers.clear()
    rewrite(path, edited("You are unsubscribed", "Bye"))
    for _ in range(200):
        holder.decide(message("STOP"))
        if holder.reloads:
            break
        threading.Event().wait(0.01)
    settle(lambda: holder.reloads == 1, "the edit in force")
    assert callers and threading.current_thread().name not in callers, callers
    holder.close()


def test_a_forked_child_starts_its_own_watcher(tmp_path: Path) -> None:
    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    path = write(tmp_path, shipped_text())
    holder = RulesHolder(path, interval=0.05, backend="python")
    holder.start_watching()  # the parent's thread: it does not come along into the child
    read, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a new edit must reach it through its own watcher
        code = 1
        try:
            holder.decide(message("HELP"))  # the child's first request starts its watcher
            rewrite(path, edited("You are unsubscribed", "Bye"))
            settle(lambda: holder.reloads >= 1, "the child's reload")
            code = (
                0
                if holder.decide(message("STOP")).reply
                == ("Bye and will receive no more messages. Reply START to resubscribe.")
                else 2
            )
        finally:
            os.write(write_end, bytes([code]))
            os._exit(0)
    os.close(write_end)
    result = os.read(read, 1)
    os.waitpid(pid, 0)
    assert result == b"\x00", result
    holder.close()


def test_a_text_matched_before_a_reload_is_decided_by_one_version(tmp_path: Path) -> None:
    path = write(tmp_path, shipped_text())
    holder = RulesHolder(path, interval=3600, backend="python")
    matched = holder.match("SOCORRO")  # matched with the old rules, outside any lock
    rewrite(path, edited("words: [AYUDA]", "words: [AYUDA, SOCORRO]"))
    assert holder.check_now() is True  # a reload between the match and the decision
    decision = holder.decide(message("SOCORRO"), matched)
    assert decision.rules_version == holder.version  # matched again with the new rules
    assert decision.transition is Transition.HELP
    other = holder.match("STOP")  # a match of another text is never used for this one
    assert holder.decide(message("HELP"), other).transition is Transition.HELP
    holder.close()


class LockProbe:
    """The real rules, whose text step tries a write for the same contact from another thread.

    That write can only finish if no write transaction of the contact is open meanwhile.
    """

    def __init__(self, holder: RulesHolder, contact: str) -> None:
        self.holder, self.contact = holder, contact
        self.service: ConsentService | None = None
        self.errors: list[str] = []

    @property
    def version(self) -> str:
        return self.holder.version

    def match(self, text: str) -> Any:
        assert self.service is not None
        service = self.service

        def write_meanwhile() -> None:
            try:
                service.opt_out(self.contact, "+12065550111", Actor(Source.AGENT, "U1"))
            except Exception as exc:
                self.errors.append(repr(exc))

        other = threading.Thread(target=write_meanwhile)
        other.start()
        other.join(20)
        if other.is_alive():
            self.errors.append("the other write was still waiting")
        return self.holder.match(text)

    def decide(self, request: Any, matched: Any = None) -> Any:
        return self.holder.decide(request, matched)


def test_the_text_is_matched_before_the_contacts_write_transaction(database_url: str) -> None:
    contact = "+12065550177"
    holder = RulesHolder(ROOT_RULES, backend="python")
    probe = LockProbe(holder, contact)
    database = Database(database_url, busy_timeout_ms=1000)
    service = ConsentService(SqlLedger(database), probe)
    probe.service = service
    message_in = InboundMessage("twilio", "SM" + "c" * 32, contact, "+12065550199",
                                "please STOP", datetime.now(UTC))  # fmt: skip
    try:
        outcome = service.receive_message(message_in)
        assert probe.errors == []
        assert outcome.decision.transition is Transition.OPT_OUT
        assert not service.status(contact, "+12065550111").can_send  # the other write stored
    finally:
        database.dispose()
        holder.close()


ROOT_RULES = Path(__file__).resolve().parents[2] / "rules.yml"
