"""Checks pydantic cannot express: duplicate keywords, the legal floor, senders, replies."""

from __future__ import annotations

from core.errors import InvalidPhoneNumber
from core.phone import normalize_sender
from rules.normalize import normalize
from rules.schema import FLOOR_HELP, FLOOR_OPT_IN, FLOOR_OPT_OUT, RulesFile

Problem = tuple[tuple[str | int, ...], str]


def _keyword_problems(model: RulesFile) -> tuple[list[Problem], dict[str, tuple[str, str]]]:
    problems: list[Problem] = []
    seen: dict[str, tuple[str, str]] = {}  # normalised word -> (group, intent)
    for name, group in model.keywords.items():
        for i, word in enumerate(group.words):
            path = ("keywords", name, "words", i)
            key = normalize(word)
            if not key:
                problems.append((path, f'"{word}" has no letters or digits to match'))
                continue
            if key in seen and seen[key][0] != name:
                other = seen[key][0]
                problems.append(
                    (
                        path,
                        f'"{word}" is already in keyword group "{other}"; '
                        "a keyword may be in one group only",
                    )
                )
                continue
            seen.setdefault(key, (name, group.intent))
    return problems, seen


def _floor_problems(model: RulesFile, seen: dict[str, tuple[str, str]]) -> list[Problem]:
    problems: list[Problem] = []
    wanted = [(w, "opt_out") for w in FLOOR_OPT_OUT]
    wanted += [(w, "opt_in") for w in FLOOR_OPT_IN] + [(w, "help") for w in FLOOR_HELP]
    for word, intent in wanted:
        found = seen.get(normalize(word))
        if found is None:
            problems.append(
                (
                    ("keywords",),
                    f'"{word}" must be an {intent} keyword (the legal '
                    f"floor no rules file may remove); add it to an "
                    f"{intent} group",
                )
            )
        elif found[1] != intent:
            problems.append(
                (
                    ("keywords", found[0]),
                    f'"{word}" must be an {intent} keyword (the legal floor), not {found[1]}',
                )
            )
    for i, source in enumerate(model.commands.opt_in.may_reverse):
        if source == "contact":
            problems.append(
                (
                    ("commands", "opt_in", "may_reverse", i),
                    "an agent or the API may never opt in a contact who opted out by "
                    'text; only the contact can (remove "contact")',
                )
            )
    return problems


def _reply_problems(model: RulesFile) -> list[Problem]:
    problems: list[Problem] = []
    lang = model.default_language
    for intent in ("opt_out", "opt_in", "help"):
        if lang not in getattr(model.replies, intent):
            problems.append(
                (("replies", intent), f'needs a reply in the default language "{lang}"')
            )
    for sender in model.replies.senders:
        try:
            normalize_sender(sender)
        except InvalidPhoneNumber as exc:
            problems.append(
                (
                    ("replies", "senders", sender),
                    exc.reason + "; use a number in "
                    "E.164 form (+12065550100) or a 5-6 digit short code",
                )
            )
    return problems


def _text_problems(model: RulesFile) -> list[Problem]:
    problems: list[Problem] = []
    lists = [("filler_words",), ("review", "phrases")]
    for path in lists:
        values = model.filler_words if path == ("filler_words",) else model.review.phrases
        for i, value in enumerate(values):
            if not normalize(value):
                problems.append(((*path, i), f'"{value}" has no letters or digits to match'))
    for name, guard in model.guards.items():
        for i, value in enumerate(guard.starts_with):
            if not normalize(value):
                problems.append((("guards", name, "starts_with", i), f'"{value}" has no letters'))
    return problems


def semantic_problems(model: RulesFile) -> list[Problem]:
    """Every problem of a schema-valid file, as (path, message)."""
    problems, seen = _keyword_problems(model)
    return problems + _floor_problems(model, seen) + _reply_problems(model) + _text_problems(model)
