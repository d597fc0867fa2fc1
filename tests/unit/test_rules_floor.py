"""The floor cannot be edited away through fillers or guards; reactions guard only themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from core.model import Scope, Transition
from rules import RulesEngine, build_engine, compile_rules, load_rules
from rules.schema import RulesFile
from tests.evaluators import EVALUATORS
from tests.unit.test_rules_loading import problems
from tests.unit.test_rules_support import SHIPPED, edited, line_of, message, out, write

FILLERS = "filler_words:\n  - please\n"
GUARD = "      - liked\n"


@pytest.mark.parametrize(("old", "new", "path", "word"), [
    (FILLERS, FILLERS + "  - stop\n", "filler_words[1]", '"stop"'),
    (FILLERS, FILLERS + "  - all\n", "filler_words[1]", '"all"'),
    (FILLERS, FILLERS + "  - opt\n", "filler_words[1]", '"opt"'),
    (FILLERS, FILLERS + "  - out\n", "filler_words[1]", '"out"'),
    (FILLERS, FILLERS + "  - stop please\n", "filler_words[1]", '"stop"'),
    (FILLERS, FILLERS + "  - help me\n", "filler_words[1]", '"help"'),
    (GUARD, GUARD + "      - stop\n", "guards.reaction.starts_with[1]", '"STOP"'),
    (GUARD, GUARD + "      - Stop all the\n", "guards.reaction.starts_with[1]", '"STOP'),
    (GUARD, GUARD + "      - opt-out\n", "guards.reaction.starts_with[1]", '"OPT'),
    (GUARD, GUARD + "      - unsubscribe\n", "guards.reaction.starts_with[1]", '"UNSUBSCRIBE"'),
    (GUARD, GUARD + "      - cancel it\n", "guards.reaction.starts_with[1]", '"CANCEL"'),
])
def test_fillers_and_guards_may_not_hold_a_keyword(tmp_path: Path, old: str, new: str,
                                                   path: str, word: str) -> None:
    text = edited(old, new)
    found = problems(write(tmp_path, text))
    added = new[len(old):].strip().lstrip("- ")
    line = line_of(text, f"- {added}") if "filler" in path else text.count("\n", 0, text.index(
        new)) + 2
    assert any(f":{line} at {path}:" in p and word in p for p in found), found


def test_stop_may_not_only_open_a_review_in_a_sentence(tmp_path: Path) -> None:
    text = edited("    words: [STOP, UNSUBSCRIBE,",
                  "    in_a_sentence: review\n    words: [STOP, UNSUBSCRIBE,")
    found = problems(write(tmp_path, text))
    assert any("keywords.stop_en.in_a_sentence" in p and '"STOP"' in p for p in found), found


def _unchecked(text: str) -> RulesFile:
    """A model that passed only the schema: the loader's floor checks were skipped."""
    return RulesFile.model_validate(yaml.safe_load(text))


HOSTILE = (
    edited(FILLERS, FILLERS + "  - stop\n  - all\n  - opt\n  - out\n  - help\n  - start\n")
    .replace(GUARD, GUARD + "      - stop\n      - unsubscribe\n      - quit\n      - help\n")
    .replace("    needs_quote: true", "    needs_quote: false")
)


@pytest.fixture(scope="module", params=EVALUATORS)
def hostile(request: pytest.FixtureRequest) -> Iterator[RulesEngine]:
    engine = build_engine(compile_rules(_unchecked(HOSTILE), b"hostile"), request.param)
    yield engine
    engine.close()


@pytest.mark.parametrize(("text", "transition", "scope"), [
    ("STOP", Transition.OPT_OUT, Scope.SENDER),
    ("please stop", Transition.OPT_OUT, Scope.SENDER),
    ("Stop, thanks!", Transition.OPT_OUT, Scope.SENDER),
    ("stop all", Transition.OPT_OUT, Scope.ACCOUNT),
    ("STOP ALL please", Transition.OPT_OUT, Scope.ACCOUNT),
    ("opt out", Transition.OPT_OUT, Scope.SENDER),
    ("Unsubscribe", Transition.OPT_OUT, Scope.SENDER),
    ("quit", Transition.OPT_OUT, Scope.SENDER),
    ("HELP", Transition.HELP, Scope.SENDER),
])
def test_the_floor_holds_in_a_file_that_skipped_validation(
        hostile: RulesEngine, text: str, transition: Transition, scope: Scope) -> None:
    decision = hostile.decide(message(text))
    assert (decision.transition, decision.scope) == (transition, scope), decision
    assert not decision.rule.startswith("guard:")


def test_start_holds_in_a_file_that_skipped_validation(hostile: RulesEngine) -> None:
    assert hostile.decide(message("START", out("contact"))).transition is Transition.OPT_IN


@pytest.fixture(scope="module", params=EVALUATORS)
def engine(request: pytest.FixtureRequest) -> Iterator[RulesEngine]:
    built = build_engine(load_rules(SHIPPED), request.param)
    yield built
    built.close()


GUARDED = [
    "Liked “Reply STOP to opt out”",
    "Removed a like from “Reply STOP to opt out”",
    "Removed a heart from “Reply STOP to opt out”",
    "Removed a laugh from “STOP”",
    "Removed a 😂 from “STOP”",
    "👍 to “Reply STOP to opt out”",
    "❤️ to “Reply STOP to opt out”",
    "Reacted 👍 to “Reply STOP to opt out”",
    "Reacted ❤️ to \"STOP\"",
    "Liked ‘Reply STOP to opt out’",
    "Liked 'Reply STOP to opt out'",
    "Liked 'Reply STOP, don't wait'",
    "Liked «Reply STOP to opt out»",
    "Loved “Opt out? Text STOP.”",
    "Liked “STOP” “Reply STOP to end”",
    "Liked “STOP”.",
    "Liked “Reply STOP to opt out",  # cut short by the phone
    "Reaccionó 😂 a “ALTO”",
    "Se rió de “ALTO”",
    "Gefällt mir „Antworte mit STOP zum Abmelden“",
]


@pytest.mark.parametrize("text", GUARDED)
def test_a_bare_reaction_is_guarded(engine: RulesEngine, text: str) -> None:
    decision = engine.decide(message(text))
    assert (decision.rule, decision.transition) == ("guard:reaction", Transition.NONE), decision


@pytest.mark.parametrize(("text", "transition", "keyword"), [
    ("Loved “...” STOP", Transition.OPT_OUT, "STOP"),
    ("Liked “STOP”. Seriously STOP", Transition.OPT_OUT, "STOP"),
    ("Liked “Reply STOP to opt out”\nSTOP", Transition.OPT_OUT, "STOP"),
    ("Liked “hi” stop all", Transition.OPT_OUT, "STOP ALL"),
    ('Liked it. "STOP" means stop', Transition.REVIEW, "stop means stop"),
    ("Loved your offer but STOP “texting” me", Transition.REVIEW, "stop texting me"),
    ("Liked “x” but please stop texting me", Transition.REVIEW, "please stop texting me"),
    ("👍 STOP", Transition.OPT_OUT, "STOP"),
    ("Liked an image", Transition.NONE, None),
])
def test_words_after_a_reaction_are_read(engine: RulesEngine, text: str,
                                         transition: Transition, keyword: str | None) -> None:
    decision = engine.decide(message(text))
    assert (decision.transition, decision.keyword) == (transition, keyword), decision
    assert not decision.rule.startswith("guard:")
