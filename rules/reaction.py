"""Phone reactions that quote our own text back ('Liked “Reply STOP to opt out”')."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rules.compile import ReactionGuard
from rules.normalize import normalize

# One quotation: curly, straight, guillemets, German and CJK quotes. A straight or curly single
# quote only counts away from letters, so "don't" is no quotation; an apostrophe inside one
# ('Reply STOP, don't wait') does not close it. A quotation still open at the end (a phone
# that cut a long text) runs to the end.
_QUOTATION = re.compile(
    r"“[^”]*(?:”|\Z)|\"[^\"]*(?:\"|\Z)|„[^“”]*(?:[“”]|\Z)|«[^»]*(?:»|\Z)|‹[^›]*(?:›|\Z)"
    r"|「[^」]*(?:」|\Z)|『[^』]*(?:』|\Z)|＂[^＂]*(?:＂|\Z)"
    r"|(?<!\w)‘(?:[^’]|’(?=\w))*(?:’(?!\w)|\Z)|(?<!\w)'(?:[^']|'(?=\w))*(?:'(?!\w)|\Z)"
)
# Little words between the reaction and the quotation: "Reacted 👍 to", "Removed a 😂 from".
_CONNECTORS = frozenset({"to", "a", "an", "from", "de"})


@dataclass(frozen=True, slots=True)
class Reaction:
    """A guard's name when the message is only a reaction; else the text left to classify."""

    guard: str = ""
    rest: str | None = None  # what follows a reaction's quotation ('Loved “...” STOP' -> STOP)


def _starts(words: str, prefix: str) -> bool:
    return words == prefix or words.startswith(prefix + " ")


@dataclass(frozen=True, slots=True)
class _Lead:
    """The text before the first quotation, read once for every guard."""

    tokens: list[str]
    emoji: bool

    @classmethod
    def of(cls, lead: str) -> _Lead:
        emoji = any(unicodedata.category(ch) == "So" for ch in lead)
        return cls(normalize(lead).split(), emoji)


def _lead_matches(guard: ReactionGuard, lead: _Lead) -> bool:
    """The text before the quotation is the guard's word, then at most connector words."""
    tokens = lead.tokens
    for prefix in guard.prefixes:
        size = len(prefix.split())
        if " ".join(tokens[:size]) == prefix and _CONNECTORS.issuperset(tokens[size:]):
            return True
    return guard.emoji and lead.emoji and _CONNECTORS.issuperset(tokens)


def _after_quotations(text: str, start: int) -> int:
    """Where the quotation(s) starting at `start` end (several may follow one another)."""
    pos = start
    while (found := _QUOTATION.match(text, pos)) is not None and found.end() > pos:
        pos = found.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return pos


def read_reaction(guards: tuple[ReactionGuard, ...], text: str) -> Reaction:
    """A reaction is a guard's word (or an emoji), quotation(s), and nothing else.

    Anything after the quotation is the contact's own words: 'Loved “...” STOP' is an opt-out.
    """
    words = normalize(text)
    first = _QUOTATION.search(text)
    lead = _Lead.of(text[: first.start()]) if first is not None else None
    for guard in guards:
        if not guard.needs_quote:
            if any(_starts(words, p) for p in guard.prefixes):
                return Reaction(guard.name)
            continue
        if first is None or lead is None or not _lead_matches(guard, lead):
            continue
        rest = text[_after_quotations(text, first.start()) :]
        return Reaction(guard.name) if not normalize(rest) else Reaction(rest=rest)
    return Reaction()
