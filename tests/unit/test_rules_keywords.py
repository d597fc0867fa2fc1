"""Keyword tables: what real replies mean under the shipped rules.yml, on both backends."""

from __future__ import annotations

import pytest

from core.model import Scope, Transition
from rules import RulesEngine, build_engine, load_rules, normalize
from rules.normalize import clauses, is_typo, strip_fillers
from tests.evaluators import EVALUATORS
from tests.unit.test_rules_support import SHIPPED, message, out


@pytest.fixture(scope="module", params=EVALUATORS)
def engine(request: pytest.FixtureRequest) -> RulesEngine:
    built = build_engine(load_rules(SHIPPED), request.param)
    yield built
    built.close()


OPT_OUT = [
    # (text, keyword as written in rules.yml, language, scope)
    ("STOP", "STOP", "en", Scope.SENDER),
    ("stop", "STOP", "en", Scope.SENDER),
    ("Stop.", "STOP", "en", Scope.SENDER),
    ("STOP!!", "STOP", "en", Scope.SENDER),
    ("  stop  ", "STOP", "en", Scope.SENDER),
    ("stop please", "STOP", "en", Scope.SENDER),
    ("Please STOP", "STOP", "en", Scope.SENDER),
    ("please stop now", "STOP", "en", Scope.SENDER),
    ("Stop. Thank you", "STOP", "en", Scope.SENDER),
    ("STOP thank you!", "STOP", "en", Scope.SENDER),
    ("STOP 🛑", "STOP", "en", Scope.SENDER),
    ("🛑STOP🛑", "STOP", "en", Scope.SENDER),
    ("ＳＴＯＰ", "STOP", "en", Scope.SENDER),  # full-width letters (NFKC)
    ("Who is this? STOP", "STOP", "en", Scope.SENDER),
    ("STOP. I never signed up", "STOP", "en", Scope.SENDER),
    ("I never signed up for this.\nSTOP", "STOP", "en", Scope.SENDER),
    ("Loved it! STOP", "STOP", "en", Scope.SENDER),  # a reaction word, but no quotation
    ("STOP STOP STOP", "STOP", "en", Scope.SENDER),  # repeated keywords
    ("St0p", "STOP", "en", Scope.SENDER),  # lookalike digits, signs and letters
    ("$TOP", "STOP", "en", Scope.SENDER),
    ("ЅТОР", "STOP", "en", Scope.SENDER),  # Cyrillic letters
    ("QU1T", "QUIT", "en", Scope.SENDER),
    ("UN5UB5CRIBE please", "UNSUBSCRIBE", "en", Scope.SENDER),
    ("stop stop please", "STOP", "en", Scope.SENDER),
    ("stop cancel", "STOP", "en", Scope.SENDER),
    ("stop all stop", "STOP ALL", "en", Scope.ACCOUNT),
    ("Unsubscribe", "UNSUBSCRIBE", "en", Scope.SENDER),
    ("cancel", "CANCEL", "en", Scope.SENDER),
    ("END", "END", "en", Scope.SENDER),
    ("Quit!", "QUIT", "en", Scope.SENDER),
    ("revoke", "REVOKE", "en", Scope.SENDER),
    ("OPTOUT", "OPTOUT", "en", Scope.SENDER),
    ("opt out", "OPT OUT", "en", Scope.SENDER),
    ("Opt-out", "OPT OUT", "en", Scope.SENDER),
    ("OPT  OUT.", "OPT OUT", "en", Scope.SENDER),
    ("STOPALL", "STOPALL", "en", Scope.ACCOUNT),
    ("stop all", "STOP ALL", "en", Scope.ACCOUNT),
    ("Stop all please", "STOP ALL", "en", Scope.ACCOUNT),
    ("STOP. STOP ALL", "STOP ALL", "en", Scope.ACCOUNT),  # the broadest clause wins
    ("ALTO", "ALTO", "es", Scope.SENDER),
    ("alto por favor", "ALTO", "es", Scope.SENDER),
    ("Detener", "DETENER", "es", Scope.SENDER),
    ("parar", "PARAR", "es", Scope.SENDER),
    ("ARRÊT", "ARRÊT", "fr", Scope.SENDER),
    ("arret", "ARRÊT", "fr", Scope.SENDER),
    ("Arrêt merci", "ARRÊT", "fr", Scope.SENDER),
    ("DÉSABONNER", "DÉSABONNER", "fr", Scope.SENDER),
    ("desabonner", "DÉSABONNER", "fr", Scope.SENDER),
]


@pytest.mark.parametrize(("text", "keyword", "language", "scope"), OPT_OUT)
def test_opt_out_keywords(engine: RulesEngine, text: str, keyword: str, language: str,
                          scope: Scope) -> None:
    decision = engine.decide(message(text))
    assert decision.transition is Transition.OPT_OUT, decision
    assert (decision.keyword, decision.language, decision.scope) == (keyword, language, scope)
    assert decision.reply  # a subscribed contact gets one confirmation


REACTIONS = [
    'Liked "Reply STOP to opt out"',
    "Loved “Reply STOP to unsubscribe”",
    "Reacted 👍 to “Reply STOP to opt out”",
    "Emphasized “STOP”",
    'Laughed at "Text STOP to end"',
    "Questioned “Reply STOP to cancel”",
    "Disliked “Reply STOP to opt out”",
    "Le gustó “Responde ALTO para cancelar”",
    "A aimé « Répondez ARRÊT »",
]

NOT_OPT_OUT = [
    "Can we stop by tomorrow?",
    "We have got to STOP this bill!!",
    "don't stop",
    "Don’t stop believing",
    "Stop by the office at 3",
    "I can't stop laughing 😂",
    "The end of the month works",
    "Cancel my appointment on Friday",
    "When does the sale end?",
    "stopwatch",
    "nonstop",
    "Call me at 5pm",  # digits read as letters only when the whole message is then a keyword
    "10 4",
    "5",
    *REACTIONS,
    "Yes, see you at 3",
    "ok",
    "",
    "🛑",
    "...",
    "Thanks!",
]


@pytest.mark.parametrize("text", NOT_OPT_OUT)
def test_ordinary_messages_never_opt_out(engine: RulesEngine, text: str) -> None:
    decision = engine.decide(message(text))
    assert decision.transition in (Transition.NONE, Transition.REVIEW), decision
    assert decision.reply is None


@pytest.mark.parametrize("text", REACTIONS)
def test_reactions_hit_the_guard(engine: RulesEngine, text: str) -> None:
    assert engine.decide(message(text)).rule == "guard:reaction"


OTHER_INTENTS = [
    # (text, transition when the contact is opted out by text, keyword, language)
    ("START", Transition.OPT_IN, "START", "en"),
    ("start please", Transition.OPT_IN, "START", "en"),
    ("Unstop", Transition.OPT_IN, "UNSTOP", "en"),
    ("yes", Transition.OPT_IN, "YES", "en"),
    ("YES!", Transition.OPT_IN, "YES", "en"),
    ("volver", Transition.OPT_IN, "VOLVER", "es"),
    ("Reprendre", Transition.OPT_IN, "REPRENDRE", "fr"),
    ("HELP", Transition.HELP, "HELP", "en"),
    ("help?", Transition.HELP, "HELP", "en"),
    ("info", Transition.HELP, "INFO", "en"),
    ("AYUDA", Transition.HELP, "AYUDA", "es"),
    ("aide", Transition.HELP, "AIDE", "fr"),
]


@pytest.mark.parametrize(("text", "transition", "keyword", "language"), OTHER_INTENTS)
def test_opt_in_and_help_keywords(engine: RulesEngine, text: str, transition: Transition,
                                  keyword: str, language: str) -> None:
    decision = engine.decide(message(text, sender_state=out("contact")))
    assert (decision.transition, decision.keyword, decision.language) == (
        transition, keyword, language)
    assert decision.reply


@pytest.mark.parametrize("text", [
    "Yes, see you at 3", "yes I will be there", "Start time is 9?", "Help me move on Saturday",
    "I need info about my order", "YES. STOP",
])
def test_opt_in_and_help_need_the_whole_body(engine: RulesEngine, text: str) -> None:
    decision = engine.decide(message(text, sender_state=out("contact")))
    assert decision.transition not in (Transition.OPT_IN, Transition.HELP), decision


REVIEW = [
    ("please stop texting me", "please stop texting me"),
    ("Can you stop texting me", "stop texting me"),
    ("Remove me from this list", "remove me"),
    ("take me off your list!!", "take me off your list"),
    ("Don’t text me again", "don't text me"),
    ("dont text me", "don't text me"),
    ("don't text me", "don't text me"),
    ("Unsubscribe me please", "unsubscribe me"),
    ("opt me out", "opt me out"),
    ("No more texts", "no more texts"),
    ("Wrong number", "wrong number"),
    ("No más mensajes por favor", "no más mensajes"),
    ("Arrêtez de m’envoyer des SMS", "arrêtez de m'envoyer"),
    ("Stop all texts please", "stop all texts"),
    ("How do I unsubscribe?", "unsubscribe"),
    ("I want to opt-out of these", "opt out"),
    ("Stop it!", "stop it"),
    ("Not interested", "not interested"),
    ("Go away!", "go away"),
]


@pytest.mark.parametrize(("text", "phrase"), REVIEW)
def test_review_phrases(engine: RulesEngine, text: str, phrase: str) -> None:
    decision = engine.decide(message(text))
    assert (decision.transition, decision.keyword, decision.reply) == (
        Transition.REVIEW, phrase, None)
    assert decision.reason


@pytest.mark.parametrize("text", ["STPO", "sotp", "UNSUBSCRIBE".replace("C", "", 1),
                                  "unsubscibe", "UNSUBSCRIBEE", "Cancle", "REVOKEE", "qiut",
                                  "stop al", "optuot"])
def test_misspelt_opt_outs_open_a_review(engine: RulesEngine, text: str) -> None:
    decision = engine.decide(message(text))
    assert decision.transition is Transition.REVIEW, decision
    assert decision.reason and "misspelt" in decision.reason


# ("stops" is one letter from the German STOPP, so it now opens a review: see test_rules_languages)
@pytest.mark.parametrize("text", ["step", "shop", "top", "ends", "and", "quite", "so", "sto"])
def test_short_words_near_short_keywords_are_not_typos(engine: RulesEngine, text: str) -> None:
    assert engine.decide(message(text)).transition is Transition.NONE


@pytest.mark.parametrize(("raw", "expected"), [
    ("ARRÊT", "arret"), ("DÉSABONNER", "desabonner"), ("don’t", "dont"), ("don't", "dont"),
    ("  STOP \n ALL ", "stop all"), ("opt-out", "opt out"), ("STOP!!🛑", "stop"),
    ("ＳＴＯＰ", "stop"), ("Straße", "strasse"), ("", ""),
])
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_clauses_and_fillers() -> None:
    assert clauses("Who is this? STOP") == ["who is this", "stop"]
    assert clauses("STOP; really, now!\nok") == ["stop", "really", "now", "ok"]
    fillers = (("thank", "you"), ("please",))
    assert strip_fillers("please stop thank you", fillers) == "stop"
    assert strip_fillers("please", fillers) == "please"  # never strip a body to nothing


@pytest.mark.parametrize(("word", "keyword", "expected"), [
    ("stpo", "stop", True), ("stop", "stop", False), ("stp", "stop", False),
    ("unsubscrbe", "unsubscribe", True), ("unsubscribbe", "unsubscribe", True),
    ("unsubscribr", "unsubscribe", True), ("unsbuscribe", "unsubscribe", True),
    ("unsuscrbe", "unsubscribe", False),
])
def test_is_typo(word: str, keyword: str, expected: bool) -> None:
    assert is_typo(word, keyword, 5) is expected
