"""QA's tables: invisible characters, spelt-out words, ambiguous words in sentences, missing
opt-outs in English, Spanish, French, Portuguese and German, and the new opt-in words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.model import Transition
from rules import RulesEngine, build_engine, load_rules
from rules.normalize import clauses, join_spelled, normalize
from tests.evaluators import EVALUATORS
from tests.unit.test_rules_support import SHIPPED, message, out


@pytest.fixture(scope="module", params=EVALUATORS)
def engine(request: pytest.FixtureRequest) -> Iterator[RulesEngine]:
    built = build_engine(load_rules(SHIPPED), request.param)
    yield built
    built.close()


OPT_OUT = [
    # (text, keyword, reply language)
    ("S\u200bTOP", "STOP", "en"), ("ST\u200bOP", "STOP", "en"), ("S\u00adTOP", "STOP", "en"),
    ("STO\u2060P", "STOP", "en"), ("\ufeffSTOP", "STOP", "en"), ("\u200fST\u200eOP", "STOP", "en"),
    ("S T O P", "STOP", "en"), ("S.T.O.P.", "STOP", "en"), ("s-t-o-p", "STOP", "en"),
    ("STOP - John", "STOP", "en"), ("Stop – John", "STOP", "en"), ("stop — J", "STOP", "en"),
    ("Stop please and thank you", "STOP", "en"), ("Stop already", "STOP", "en"),
    ("Seriously, STOP", "STOP", "en"), ("STOP. I never signed up", "STOP", "en"),
    ("Unsubscribe. Who is this?", "UNSUBSCRIBE", "en"), ("Opt out, thanks", "OPT OUT", "en"),
    ("Cancel", "CANCEL", "en"), ("END!", "END", "en"), ("Quit", "QUIT", "en"),
    ("Remove, please", "REMOVE", "en"), ("Cancel cancel", "CANCEL", "en"),
    ("Cancelar", "CANCELAR", "es"), ("Baja", "BAJA", "es"),
    ("Fin", "FIN", "fr"), ("Annuler", "ANNULER", "fr"),
    ("Pare", "PARE", "pt"), ("Descadastrar", "DESCADASTRAR", "pt"), ("Sair", "SAIR", "pt"),
    ("Stopp", "STOPP", "de"), ("STOPP bitte", "STOPP", "de"), ("Abmelden", "ABMELDEN", "de"),
    ("Abbestellen", "ABBESTELLEN", "de"), ("Austragen", "AUSTRAGEN", "de"), ("Ende", "ENDE", "de"),
]


@pytest.mark.parametrize(("text", "keyword", "language"), OPT_OUT)
def test_opt_outs(engine: RulesEngine, text: str, keyword: str, language: str) -> None:
    decision = engine.decide(message(text))
    assert (decision.transition, decision.keyword, decision.language) == (
        Transition.OPT_OUT, keyword, language), decision
    assert decision.reply and (language == "en" or "START" in decision.reply)


REVIEW = [
    # an everyday opt-out word as one sentence of a longer message: a person decides
    ("Cancel, I can't make it tomorrow", "CANCEL"),
    ("Cancel. Reschedule for Friday please", "CANCEL"),
    ("Cancel please, reschedule for next week", "CANCEL"),
    ("End? No, I want to continue", "END"),
    ("Quit. I mean the app keeps crashing", "QUIT"),
    ("Cancelar, no puedo ir mañana", "CANCELAR"),
    ("Fin ? Non, je continue", "FIN"),
    ("Abmelden? Wie geht das", "ABMELDEN"),
    # plain-language requests
    ("stop contacting me", "stop contacting"), ("Stop calling and texting me", "stop calling"),
    ("quit texting me", "quit texting"), ("Quit messaging me", "quit messaging"),
    ("Do not contact me", "do not contact"), ("Don't contact me", "don't contact"),
    ("Cancel my subscription", "cancel my subscription"), ("End texts", "end texts"),
    ("End messages", "end messages"), ("Cancel texts", "cancel texts"),
    ("Cancel all messages", "cancel all messages"), ("Stop everything", "stop everything"),
    ("Stop all of these messages", "stop all of these"), ("Never text me again", "never text me"),
    ("I don't want these texts", "don't want these texts"),
    ("I don't want these messages anymore", "don't want these messages"),
    ("Lose my number", "lose my number"), ("delete my number", "delete my number"),
    ("This is not John. Please remove this number", "remove this number"),
    ("Remove my number", "remove my number"), ("STOP FUCKING TEXTING ME", "stop fucking texting"),
    ("stop freaking messaging me", "stop freaking messaging"),
    ("Quiero darme de baja", "darme de baja"), ("Dar de baja", "dar de baja"),
    ("Ya basta", "basta"), ("No más", "no más"), ("No quiero recibir más mensajes",
                                                  "no quiero recibir"),
    ("Deja de enviarme mensajes", "deja de enviarme"), ("Dejen de mandarme mensajes",
                                                        "dejen de mandarme"),
    ("Desuscribirme", "desuscribirme"), ("Eliminar", "eliminar"), ("Detente", "detente"),
    ("Je ne veux plus recevoir de messages", "je ne veux plus"),
    ("Retirez-moi de votre liste", "retirez-moi"), ("Désinscrivez-moi", "désinscrivez-moi"),
    ("Cancelar inscrição", "cancelar inscrição"), ("Não quero mais receber", "não quero mais"),
    ("Para de me mandar mensagem", "para de me mandar"),
    ("Hör auf!", "hör auf"), ("Aufhören", "aufhören"),
    ("Bitte keine Nachrichten mehr", "keine nachrichten mehr"), ("Kündigen", "kündigen"),
    # misspelt
    ("Stoop", "stoop"), ("stops", "stops"),
]


@pytest.mark.parametrize(("text", "keyword"), REVIEW)
def test_reviews(engine: RulesEngine, text: str, keyword: str) -> None:
    decision = engine.decide(message(text))
    assert (decision.transition, decision.keyword, decision.reply) == (
        Transition.REVIEW, keyword, None), decision
    assert decision.reason


@pytest.mark.parametrize("text", [
    "Can we stop by tomorrow?", "Cancel my appointment on Friday", "The end - see you soon",
    "Fin de semana libre", "Ende gut, alles gut", "Pare o carro ali", "Sair às 5?",
    "I want to opt in later", "S O", "I am OK",
])
def test_ordinary_sentences_do_not_opt_out(engine: RulesEngine, text: str) -> None:
    decision = engine.decide(message(text))
    assert decision.transition in (Transition.NONE, Transition.REVIEW), decision


@pytest.mark.parametrize(("text", "keyword"), [
    ("OPT IN", "OPT IN"), ("opt-in", "OPT IN"), ("Optin", "OPTIN"),
    ("Resubscribe please", "RESUBSCRIBE"),
])
def test_opt_in_words(engine: RulesEngine, text: str, keyword: str) -> None:
    decision = engine.decide(message(text, out("contact")))
    assert (decision.transition, decision.keyword) == (Transition.OPT_IN, keyword), decision


@pytest.mark.parametrize(("text", "language", "start"), [
    ("Hilfe", "de", "Antworten Sie STOPP"), ("Ajuda", "pt", "Responda PARE"),
    ("Stopp", "de", "Sie sind abgemeldet"), ("Pare", "pt", "Sua inscrição"),
])
def test_replies_in_portuguese_and_german(engine: RulesEngine, text: str, language: str,
                                          start: str) -> None:
    decision = engine.decide(message(text))
    assert decision.language == language and (decision.reply or "").startswith(start), decision


@pytest.mark.parametrize(("raw", "expected"), [
    ("S\u200bT\u00adO\u2060P\ufeff", "stop"), ("\u202eSTOP", "stop"), ("s t o p", "s t o p"),
])
def test_invisible_characters_vanish(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(("words", "expected"), [
    ("s t o p", "stop"), ("s t", "s t"), ("i am ok", "i am ok"), ("a b 1", "a b 1"),
])
def test_join_spelled(words: str, expected: str) -> None:
    assert join_spelled(words) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("STOP - John", ["stop", "john"]), ("STOP – John", ["stop", "john"]),
    ("STOP—John", ["stop john"]), ("opt-out now", ["opt out now"]),
    ("STOP\n-- Sent from my iPhone", ["stop", "sent from my iphone"]),
])
def test_spaced_dashes_split_clauses(text: str, expected: list[str]) -> None:
    assert clauses(text) == expected
