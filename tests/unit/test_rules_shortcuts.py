"""The matcher's shortcuts give the answers of the long way round (they exist for speed)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.normalize import fold, fold_unicode, strip_fillers
from rules.wordsets import Fillers, Phrases

FILLERS = (("thank", "you", "so", "much"), ("thank", "you"), ("please",), ("now",), ("ok",))
FILLER_WORDS = st.sampled_from(["thank", "you", "so", "much", "please", "now", "ok", "stop"])


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_the_ascii_shortcut_of_fold_agrees_with_the_unicode_steps(text: str) -> None:
    assert fold(text) == fold_unicode(text)


@given(st.text())
def test_fold_of_any_text_is_the_unicode_steps(text: str) -> None:
    assert fold(text) == fold_unicode(text)


def _strip_slowly(words: str, fillers: tuple[tuple[str, ...], ...]) -> str:
    # The original loop, without the first/last word check.
    tokens = words.split()
    changed = True
    while changed and tokens:
        changed = False
        for filler in fillers:
            size = len(filler)
            if size < len(tokens) and tuple(tokens[:size]) == filler:
                tokens = tokens[size:]
                changed = True
            if size < len(tokens) and tuple(tokens[-size:]) == filler:
                tokens = tokens[:-size]
                changed = True
    return " ".join(tokens)


@settings(max_examples=300)
@given(st.lists(FILLER_WORDS, max_size=9))
def test_strip_fillers_agrees_with_the_plain_loop(words: list[str]) -> None:
    text = " ".join(words)
    assert strip_fillers(text, FILLERS) == _strip_slowly(text, FILLERS)


WORDS = st.sampled_from(["a", "b", "c", "stop", "please", "now"])
SOME_FILLERS = st.lists(st.lists(WORDS, min_size=1, max_size=3).map(tuple), max_size=6)


def _fillers_in_order(fillers: list[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    # the order the compiled table tries them in: longest first, ties in file order
    return tuple(sorted(dict.fromkeys(fillers), key=len, reverse=True))


@settings(max_examples=300, deadline=None)
@given(SOME_FILLERS, st.lists(WORDS, max_size=10))
def test_the_filler_table_strips_like_trying_every_filler(
    fillers: list[tuple[str, ...]], words: list[str]
) -> None:
    text = " ".join(words)
    assert Fillers(fillers).strip(text) == _strip_slowly(text, _fillers_in_order(fillers))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(WORDS, min_size=1, max_size=3).map(" ".join), max_size=6),
       st.lists(WORDS, max_size=10))  # fmt: skip
def test_the_phrase_table_finds_the_first_listed_phrase(
    phrases: list[str], words: list[str]
) -> None:
    text = " ".join(words)
    expected = next((p for p in phrases if f" {p} " in f" {text} "), None)
    found = Phrases((p, p.upper()) for p in phrases).find(text)
    assert (found[0] if found else None) == expected
