"""Caps on what a rules file may hold: generous for real use, and bounded in load and match cost.

The shipped rules.yml has 19 keyword groups, 51 keywords, 25 filler words, 91 review phrases
and one guard of 23 words; each cap leaves ten times that room or more.
"""

from __future__ import annotations

from rules.normalize import normalize
from rules.schema import ReplyTexts, RulesFile

Problem = tuple[tuple[str | int, ...], str]

MAX_GROUPS = 200  # keyword groups
MAX_KEYWORDS = 1_000  # words in all keyword groups together
MAX_FILLERS = 500  # filler_words
MAX_PHRASES = 1_000  # review.phrases
MAX_GUARDS = 50  # guards (each adds transition rules; durable's cap is on those)
MAX_GUARD_WORDS = 500  # starts_with words of all guards together
MAX_SENDERS = 500  # replies.senders overrides
MAX_REPLIES = 5_000  # reply texts, every intent, language and sender together
MAX_REPLY_CHARS = 1_600  # ten SMS segments: what a carrier delivers as one message
MAX_ENTRY_CHARS = 100  # one keyword, filler word, phrase or guard word
MAX_ENTRY_WORDS = 8  # words in one of them ("please and thank you" is four)
MAX_DESCRIPTION_CHARS = 1_000

CAPS = {
    "keyword groups": MAX_GROUPS,
    "keywords (all groups)": MAX_KEYWORDS,
    "filler words": MAX_FILLERS,
    "review phrases": MAX_PHRASES,
    "guards": MAX_GUARDS,
    "guard words (all guards)": MAX_GUARD_WORDS,
    "reply overrides (senders)": MAX_SENDERS,
    "reply texts (all)": MAX_REPLIES,
}


def _count(path: tuple[str | int, ...], what: str, count: int, cap: int) -> list[Problem]:
    if count <= cap:
        return []
    return [(path, f"holds {count:,} {what}; at most {cap:,} are allowed (the cap on {what})")]


def _entry(path: tuple[str | int, ...], what: str, value: str) -> list[Problem]:
    if len(value) > MAX_ENTRY_CHARS:
        return [(path, f"is {len(value):,} characters long; a {what} may have at most "
                       f"{MAX_ENTRY_CHARS} characters")]  # fmt: skip
    words = len(normalize(value).split())
    if words > MAX_ENTRY_WORDS:
        return [(path, f"has {words} words; a {what} may have at most {MAX_ENTRY_WORDS} words")]
    return []


def _reply_texts(model: RulesFile) -> list[tuple[tuple[str | int, ...], str]]:
    """(path, text) of every reply text, whichever intents the schema has."""
    sets: list[tuple[tuple[str | int, ...], ReplyTexts]] = [(("replies",), model.replies)]
    sets += [(("replies", "senders", s), r) for s, r in model.replies.senders.items()]
    return [
        ((*path, intent, lang), text)
        for path, reply in sets
        for intent, by_language in reply
        if intent != "senders" and isinstance(by_language, dict)
        for lang, text in by_language.items()
        if isinstance(text, str)
    ]


def _count_problems(model: RulesFile) -> list[Problem]:
    guards = model.guards.values()
    replies = _reply_texts(model)
    return [
        *_count(("keywords",), "keyword groups", len(model.keywords), MAX_GROUPS),
        *_count(("keywords",), "keywords (all groups)",
                sum(len(g.words) for g in model.keywords.values()), MAX_KEYWORDS),
        *_count(("filler_words",), "filler words", len(model.filler_words), MAX_FILLERS),
        *_count(("review", "phrases"), "review phrases", len(model.review.phrases), MAX_PHRASES),
        *_count(("guards",), "guards", len(model.guards), MAX_GUARDS),
        *_count(("guards",), "guard words (all guards)",
                sum(len(g.starts_with) for g in guards), MAX_GUARD_WORDS),
        *_count(("replies", "senders"), "reply overrides (senders)",
                len(model.replies.senders), MAX_SENDERS),
        *_count(("replies",), "reply texts (all)", len(replies), MAX_REPLIES),
    ]  # fmt: skip


def _entry_problems(model: RulesFile) -> list[Problem]:
    problems: list[Problem] = []
    for name, group in model.keywords.items():
        for i, word in enumerate(group.words):
            problems += _entry(("keywords", name, "words", i), "keyword", word)
        if group.description and len(group.description) > MAX_DESCRIPTION_CHARS:
            problems.append((("keywords", name, "description"),
                             f"is longer than {MAX_DESCRIPTION_CHARS:,} characters"))  # fmt: skip
    for i, word in enumerate(model.filler_words):
        problems += _entry(("filler_words", i), "filler word", word)
    for i, phrase in enumerate(model.review.phrases):
        problems += _entry(("review", "phrases", i), "review phrase", phrase)
    for name, guard in model.guards.items():
        for i, word in enumerate(guard.starts_with):
            problems += _entry(("guards", name, "starts_with", i), "guard word", word)
        if guard.description and len(guard.description) > MAX_DESCRIPTION_CHARS:
            problems.append((("guards", name, "description"),
                             f"is longer than {MAX_DESCRIPTION_CHARS:,} characters"))  # fmt: skip
    for path, text in _reply_texts(model):
        if len(text) > MAX_REPLY_CHARS:
            problems.append((path, f"is {len(text):,} characters long; a reply may have at "
                                   f"most {MAX_REPLY_CHARS:,} (ten SMS segments)"))  # fmt: skip
    return problems


def cap_problems(model: RulesFile) -> list[Problem]:
    """Every cap the file exceeds, as (path, message); the counts first, then each entry."""
    return _count_problems(model) or _entry_problems(model)
