"""The matcher's shortcuts give the answers of the long way round (they exist for speed)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.normalize import fold, fold_unicode, strip_fillers

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
