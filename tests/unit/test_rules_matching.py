"""The edges of text matching: typo lengths and ties, keyword runs with fillers, and the
Match each kind of finding carries (the hit behind a review gives the decision its language)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.model import Transition
from rules import RulesEngine, build_engine, load_rules
from rules.compile import CompiledRules
from rules.matching import Match, match_text
from tests.evaluators import EVALUATORS
from tests.unit.test_rules_support import SHIPPED, edited, message, write


@pytest.fixture(scope="module")
def compiled() -> CompiledRules:
    return load_rules(SHIPPED)


@pytest.fixture(params=EVALUATORS)
def engine(request: pytest.FixtureRequest, compiled: CompiledRules) -> Iterator[RulesEngine]:
    built = build_engine(compiled, request.param)
    yield built
    built.close()


TYPOS = [
    # body -> the keyword it is read as, its language
    ("edn", "END", "en"),  # three letters: only a swap counts, and it does
    ("fni", "FIN", "fr"),
    ("stpo", "STOP", "en"),
    ("cancle", "CANCEL", "en"),
    ("unsubscrib", "UNSUBSCRIBE", "en"),  # a letter short
    ("descadastrare", "DESCADASTRAR", "pt"),  # a letter more than the longest keyword
    # near two keywords of different lengths: the one first in the file wins
    ("arrete", "ARRÊT", "fr"),  # ARRÊT (one more) before ARRÊTER (one less)
    ("cancela", "CANCEL", "en"),  # CANCEL before CANCELAR
]


@pytest.mark.parametrize(("body", "word", "language"), TYPOS)
def test_a_typo_opens_a_review_naming_the_keyword(
    compiled: CompiledRules, engine: RulesEngine, body: str, word: str, language: str
) -> None:
    match = match_text(compiled, body)
    assert match.intent == "review" and match.hit is not None and match.hit.word == word
    assert (match.phrase, match.reason) == (body, f'"{body}" looks like a misspelt {word}')
    decision = engine.decide(message(body))
    assert (decision.transition, decision.rule) == (Transition.REVIEW, "review")
    assert (decision.keyword, decision.language) == (body, language)


@pytest.mark.parametrize("body", ["st", "sto", "stp", "sop", "descadastraree", "okay", "thanks"])
def test_too_short_too_long_or_too_far_is_no_typo(compiled: CompiledRules, body: str) -> None:
    assert match_text(compiled, body) == Match()


def test_a_keyword_in_a_sentence_is_reviewed_with_its_hit(
    compiled: CompiledRules, engine: RulesEngine
) -> None:
    text = "Cancel, I can't make it tomorrow"
    match = match_text(compiled, text)
    assert match.hit is not None and match.hit.word == "CANCEL"
    assert (match.intent, match.guard, match.phrase) == ("review", "", "CANCEL")
    assert match.reason == '"CANCEL" inside a longer message: a person should decide'
    decision = engine.decide(message(text))
    assert (decision.transition, decision.keyword, decision.language) == (
        Transition.REVIEW, "CANCEL", "en"
    )  # fmt: skip


def test_a_review_phrase_has_no_hit_and_no_guard(compiled: CompiledRules) -> None:
    match = match_text(compiled, "please take me off your list")
    assert match == Match(
        "review", phrase="take me off your list",
        reason='matched the review phrase "take me off your list"',
    )  # fmt: skip


@pytest.mark.parametrize(
    "text", ["STOP s'il vous plaît STOP", "stop please stop", "STOP STOP STOP", "stop, stop"]
)
def test_keywords_repeated_around_fillers_opt_out(
    compiled: CompiledRules, engine: RulesEngine, text: str
) -> None:
    match = match_text(compiled, text)
    assert match.intent == "opt_out" and match.hit is not None and match.hit.word == "STOP"
    assert engine.decide(message(text)).transition is Transition.OPT_OUT


def test_a_disguised_keyword_is_the_keyword_with_a_reason(compiled: CompiledRules) -> None:
    match = match_text(compiled, "St0p")
    assert match.intent == "opt_out" and match.hit is not None and match.hit.word == "STOP"
    assert (match.guard, match.phrase) == ("", None)
    assert match.reason == "STOP written with lookalike letters or digits"


def test_a_file_without_typos_reads_no_typo(tmp_path: Path) -> None:
    path = write(tmp_path, edited("  typos: true\n", "  typos: false\n"))
    assert match_text(load_rules(path), "stpo") == Match()
