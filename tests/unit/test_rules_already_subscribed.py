"""START from a contact who was not opted out: no transition, and rules.yml's optional reply."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.model import ScopeFacts, Transition
from rules import RulesEngine, build_engine, load_rules
from rules.compile import CompiledRules
from rules.errors import RulesError
from tests.evaluators import EVALUATORS
from tests.unit.test_rules_support import (
    SHIPPED,
    SUBSCRIBED,
    edited,
    message,
    out,
    shipped_text,
    write,
)

ALREADY = {
    "en": "You are already subscribed. Reply STOP to unsubscribe, HELP for help.",
    "es": "Ya estás suscrito. Responde ALTO para cancelar, AYUDA para ayuda.",
    "fr": "Vous êtes déjà abonné. Répondez ARRÊT pour vous désabonner, AIDE pour de l'aide.",
}
BLOCK = "\n".join(
    ["  already_subscribed:", *[f'    {lang}: "{text}"' for lang, text in ALREADY.items()]]
)


@contextmanager
def _engine(compiled: CompiledRules, evaluator: str) -> Iterator[RulesEngine]:
    engine = build_engine(compiled, evaluator)
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="module", params=EVALUATORS)
def engine(request: pytest.FixtureRequest) -> Iterator[RulesEngine]:
    built = build_engine(load_rules(SHIPPED), request.param)
    yield built
    built.close()


def test_the_shipped_file_has_the_reply_the_tests_expect() -> None:
    assert BLOCK in shipped_text()


@pytest.mark.parametrize(
    ("text", "language"),
    [("START", "en"), ("yes", "en"), ("Unstop please", "en"), ("Resubscribe", "en"),
     ("Volver", "es"), ("REANUDAR", "es"), ("Reprendre", "fr"), ("réabonner", "fr")],
)  # fmt: skip
def test_start_when_subscribed_gets_the_already_subscribed_reply_in_its_language(
    engine: RulesEngine, text: str, language: str
) -> None:
    decision = engine.decide(message(text))
    assert (decision.transition, decision.rule) == (Transition.NONE, "opt_in_not_needed")
    assert (decision.reply, decision.language) == (ALREADY[language], language)


@pytest.mark.parametrize(
    ("sender_state", "account_state", "rule"),
    [(out("contact"), out("contact"), "opt_in_account"), (out("agent"), SUBSCRIBED, "opt_in"),
     (SUBSCRIBED, out("api"), "opt_in_account")],
)  # fmt: skip
def test_start_when_opted_out_still_gets_the_opt_in_confirmation(
    engine: RulesEngine, sender_state: ScopeFacts, account_state: ScopeFacts, rule: str
) -> None:
    decision = engine.decide(message("START", sender_state, account_state))
    assert (decision.transition, decision.rule) == (Transition.OPT_IN, rule)
    assert decision.reply is not None and decision.reply not in ALREADY.values()


def test_without_the_block_an_already_subscribed_start_gets_no_reply(
    tmp_path: Path, evaluator: str
) -> None:
    compiled = load_rules(write(tmp_path, edited(BLOCK + "\n", "")))
    with _engine(compiled, evaluator) as engine:
        decision = engine.decide(message("START"))
        assert (decision.transition, decision.rule, decision.reply) == (
            Transition.NONE, "opt_in_not_needed", None,
        )  # fmt: skip
        # the other replies are untouched
        assert engine.decide(message("START", out("contact"))).reply is not None


def test_a_language_without_a_translation_falls_back_to_the_default(
    tmp_path: Path, evaluator: str
) -> None:
    only_en = "\n".join(BLOCK.splitlines()[:2]) + "\n"
    compiled = load_rules(write(tmp_path, edited(BLOCK + "\n", only_en)))
    with _engine(compiled, evaluator) as engine:
        assert engine.decide(message("Volver")).reply == ALREADY["en"]


def test_a_block_without_the_default_language_is_refused_with_its_line(tmp_path: Path) -> None:
    no_en = BLOCK.replace(f'    en: "{ALREADY["en"]}"\n', "")
    assert no_en != BLOCK
    path = write(tmp_path, edited(BLOCK, no_en))
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    (problem,) = caught.value.problems
    assert problem.path == "replies.already_subscribed"
    assert 'default language "en"' in problem.message
    assert problem.line is not None


def test_a_sender_override_wins_for_that_sender(
    tmp_path: Path, evaluator: str
) -> None:
    override = (
        '  senders:\n    "+12065550199":\n      already_subscribed:\n'
        '        en: "Example Alerts: you are already subscribed."\n'
    )
    compiled = load_rules(write(tmp_path, edited("  senders:\n", override)))
    with _engine(compiled, evaluator) as engine:
        own = engine.decide(message("START")).reply
        assert own == "Example Alerts: you are already subscribed."
        other = message("START", sender="+14155550123")
        assert engine.decide(other).reply == ALREADY["en"]
