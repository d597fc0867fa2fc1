"""The largest rules file `stopline rules check` accepts, and the worst texts to decide with it.

Shared by bench/rules.py and the hostile-rules drill (tests/reliability/test_hostile_rules.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rules import caps
from rules.yamlsafe import MAX_BYTES

SHIPPED = Path(__file__).resolve().parent.parent / "rules.yml"
TEXT_LIMIT = 1_600  # what a carrier delivers as one message (ten segments)


def _fill(items: list[Any], cap: int, make: Any) -> None:
    items.extend(make(i) for i in range(cap - len(items)))


def largest_rules(base: str | None = None, pad: bool = True) -> str:
    """The shipped file with every count at its cap, padded with a comment to MAX_BYTES."""
    data = yaml.safe_load(base if base is not None else SHIPPED.read_text(encoding="utf-8"))
    groups = data["keywords"]
    words = sum(len(g["words"]) for g in groups.values())
    spare_groups = caps.MAX_GROUPS - len(groups)
    spare_words = caps.MAX_KEYWORDS - words
    for g in range(spare_groups):  # opt-out words: each one is a typo target too
        share = spare_words // spare_groups + (1 if g < spare_words % spare_groups else 0)
        groups[f"bulk_{g:03d}"] = {
            "intent": "opt_out", "language": "en", "scope": "sender",
            "words": [f"zeta{g:03d}w{i:02d}" for i in range(share)],
        }  # fmt: skip
    _fill(data["filler_words"], caps.MAX_FILLERS, lambda i: f"filler{i:04d} mild")
    phrases = data.setdefault("review", {}).setdefault("phrases", [])
    _fill(phrases, caps.MAX_PHRASES, lambda i: f"please look at case {i:04d} again")
    guards = data.setdefault("guards", {})
    spare = caps.MAX_GUARD_WORDS - sum(len(g["starts_with"]) for g in guards.values())
    extra = caps.MAX_GUARDS - len(guards)
    for g in range(extra):
        share = spare // extra + (1 if g < spare % extra else 0)
        guards[f"bulk_{g:02d}"] = {"starts_with": [f"Reacted{g:02d}x{i:02d}" for i in range(share)]}
    senders = data["replies"].setdefault("senders", {})
    for i in range(caps.MAX_SENDERS - len(senders)):
        senders[f"2{i:04d}"] = {"opt_out": {"en": f"Unsubscribed from line {i}. No more texts."}}
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200)
    if pad:
        size = len(text.encode("utf-8"))
        line = "# " + "x" * 97 + "\n"
        text += line * ((MAX_BYTES - size) // len(line))
    return text


def worst_texts(base: str | None = None) -> dict[str, str]:
    """1,600-character texts of every shape that costs the matcher most, by name."""
    data = yaml.safe_load(largest_rules(base, pad=False))
    fillers = " ".join(data["filler_words"])
    phrase = data["review"]["phrases"][-1]  # the last one listed: every earlier one is tried
    words = [w for g in data["keywords"].values() for w in g["words"]]

    def cut(text: str, end: str = "") -> str:
        """`text` repeated (whole words) up to TEXT_LIMIT with `end`, padded with spaces."""
        room = TEXT_LIMIT - len(end)
        body = text * (room // len(text))
        if " " in text:  # the rest in whole words only: a cut word is another text
            rest = text[: room - len(body)]
            body += rest[: rest.rfind(" ") + 1]
        return (body + end).ljust(TEXT_LIMIT)[:TEXT_LIMIT]

    return {
        "filler words only": cut(fillers[: TEXT_LIMIT - 1] + " "),
        "one filler repeated": cut("please "),
        "fillers around STOP": cut("please ", "STOP"),
        "near-miss keywords": cut(" ".join(w[:-1] + "q" for w in words) + " "),
        "misspelt STOP": cut("stpo "),
        "repeated phrase": cut(phrase + " "),
        "many clauses": cut("stop by? "),
        "no spaces": cut("a"),
        "no spaces, keyword": cut("STOP"),
        "emoji": cut("🛑👍"),
        "mixed scripts": cut("ЅТОР stop 停止 توقف Стоп ストップ "),
        "lookalikes": cut("$T0P "),
        "quotes": cut("Liked “Reply STOP” "),
        "spelt out": cut("S.T.O.P. "),
        "invisible characters": cut("S\u200bT\u200bO\u200bP "),
    }
