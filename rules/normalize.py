"""Text normalisation shared by the rules file and incoming messages, so both compare alike."""

from __future__ import annotations

import functools
import re
import unicodedata

from rules.wordsets import Fillers

# Apostrophes vanish ("don’t" = "don't" = "dont"); every other non-word character is a space.
_APOSTROPHES = str.maketrans("", "", "'’‘ʼ`´′")
_NON_WORD = re.compile(r"[^\w]+|_+")
# Where a message splits into clauses: "Who is this? STOP", "STOP. I never signed up", and a
# dash with spaces around it ("STOP - John"); "opt-out" keeps its dash.
_CLAUSE_BREAK = re.compile(r"[.!?;,\n\r\u2026\u3002\uff01\uff1f]+|\s[-\u2013\u2014]+(?=\s)")


def _visible(text: str) -> str:
    # Format characters (zero-width space, soft hyphen, word joiner, BOM, bidi marks) are
    # invisible on a phone, so "S\u200bTOP" must read as STOP.
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def fold(text: str) -> str:
    """NFKC, case-folded, accents and invisible characters removed: 'ARRÊT’' -> 'arret'."""
    if text.isascii():
        # ASCII has no accents, no format characters and is its own NFKC form; most texts
        # are ASCII, and the Unicode steps below cost ten times more.
        return text.lower().translate(_APOSTROPHES)
    return fold_unicode(text)


@functools.lru_cache(maxsize=256)
def fold_unicode(text: str) -> str:
    """fold() through every Unicode step, for any text (fold's ASCII shortcut must agree).

    Cached: one message is folded whole several times (the floor, guards, keywords, lookalikes),
    and each Unicode step walks it character by character.
    """
    folded = unicodedata.normalize("NFKC", _visible(text)).casefold()
    decomposed = unicodedata.normalize("NFKD", folded)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", bare).translate(_APOSTROPHES)


def normalize(text: str) -> str:
    """The words of a text, folded, joined by single spaces: 'STOP!! 🛑' -> 'stop'."""
    return " ".join(_NON_WORD.sub(" ", fold(text)).split())


# Letters that look like Latin ones (Cyrillic, Greek) and the digits and signs people type
# for letters ("St0p", "$TOP", "ЅТОР"). Used only for a second look at a whole message.
_LOOKALIKES = str.maketrans("аеорсухкмтвнѕіјԁοτραεικνυ0135$@", "aeopcyxkmtbhsijdotpaeikvuoiessa")


def unmask(text: str) -> str:
    """The words of a text with lookalike letters and digits read as Latin: 'ЅТ0Р' -> 'stop'."""
    return normalize(fold(text).translate(_LOOKALIKES))


def join_spelled(words: str) -> str:
    """A word spelt out letter by letter is joined: 's t o p' (from 'S.T.O.P.') -> 'stop'."""
    tokens = words.split()
    if len(tokens) >= 3 and all(len(t) == 1 and t.isalpha() for t in tokens):
        return "".join(tokens)
    return words


def clauses(text: str) -> list[str]:
    """The normalised clauses of a message, split on . ! ? ; , newlines and spaced dashes."""
    parts = (normalize(part) for part in _CLAUSE_BREAK.split(text))
    return [part for part in parts if part]


def strip_fillers(words: str, fillers: Fillers | tuple[tuple[str, ...], ...]) -> str:
    """Remove polite filler words from both ends: 'please stop now thank you' -> 'stop'."""
    table = fillers if isinstance(fillers, Fillers) else Fillers(fillers)
    return table.strip(words)


def contains_words(body: str, phrase: str) -> bool:
    """True when `phrase` occurs in `body` as whole words (both already normalised)."""
    return f" {phrase} " in f" {body} "


def is_typo(word: str, keyword: str, min_length: int) -> bool:
    """One slip away from `keyword`: any single edit when long enough, else only a swap."""
    if word == keyword or abs(len(word) - len(keyword)) > 1:
        return False
    if len(word) == len(keyword):
        diffs = [i for i, (a, b) in enumerate(zip(word, keyword, strict=True)) if a != b]
        swapped = (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and word[diffs[0]] == keyword[diffs[1]]
            and word[diffs[1]] == keyword[diffs[0]]
        )
        if swapped:
            return True
        return len(keyword) >= min_length and len(diffs) == 1
    if len(keyword) < min_length:
        return False
    shorter, longer = sorted((word, keyword), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))
