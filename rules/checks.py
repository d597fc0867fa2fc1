"""Checks pydantic cannot express: duplicate keywords, the legal floor, senders, replies."""

from __future__ import annotations

from core.errors import InvalidPhoneNumber
from core.phone import normalize_sender
from rules.normalize import normalize
from rules.schema import (
    FLOOR_HELP,
    FLOOR_IN_A_SENTENCE,
    FLOOR_OPT_IN,
    FLOOR_OPT_OUT,
    RulesFile,
)

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
    for word in FLOOR_IN_A_SENTENCE:
        found = seen.get(normalize(word))
        if found and model.keywords[found[0]].in_a_sentence != "opt_out":
            problems.append(
                (
                    ("keywords", found[0], "in_a_sentence"),
                    f'"{word}" must opt out inside a longer message too ("STOP. I never '
                    'signed up"); write in_a_sentence: opt_out or move the word',
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
    optional = model.replies.already_subscribed
    if optional and lang not in optional:
        # Without it, a START in a language with no translation would get nothing at all.
        problems.append(
            (
                ("replies", "already_subscribed"),
                f'needs a reply in the default language "{lang}" too (or remove it)',
            )
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


def _keyword_tokens(model: RulesFile) -> dict[tuple[str, ...], str]:
    """Every keyword of the file and of the floor, as its normalised words -> as written."""
    words = [w for group in model.keywords.values() for w in group.words]
    words += [*FLOOR_OPT_OUT, *FLOOR_OPT_IN, *FLOOR_HELP]
    return {tuple(normalize(w).split()): w for w in words if normalize(w)}


def _hiding_problems(model: RulesFile) -> list[Problem]:
    """Fillers and guards that could hide a keyword, so the floor cannot be edited away."""
    problems: list[Problem] = []
    keywords = _keyword_tokens(model)
    tokens: dict[str, str] = {}
    for key, word in sorted(keywords.items(), key=lambda kw: len(kw[0])):
        for token in key:
            tokens.setdefault(token, word)  # name the shortest keyword: "stop" is STOP's
    for i, value in enumerate(model.filler_words):
        clash = next((t for t in normalize(value).split() if t in tokens), None)
        if clash is not None:
            problems.append(
                (
                    ("filler_words", i),
                    f'"{value}" contains "{clash}", a word of the keyword "{tokens[clash]}"; '
                    "a filler word may not contain a keyword's word (it could hide the "
                    "keyword): remove it",
                )
            )
    for name, guard in model.guards.items():
        for i, value in enumerate(guard.starts_with):
            words = tuple(normalize(value).split())
            hit = next((w for k, w in keywords.items() if words[: len(k)] == k), None)
            if hit is not None:
                problems.append(
                    (
                        ("guards", name, "starts_with", i),
                        f'"{value}" is or begins with the keyword "{hit}"; a guard may not '
                        "start with a keyword (it would swallow it): remove it",
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
    return problems + _hiding_problems(model)


def semantic_problems(model: RulesFile) -> list[Problem]:
    """Every problem of a schema-valid file, as (path, message)."""
    problems, seen = _keyword_problems(model)
    return problems + _floor_problems(model, seen) + _reply_problems(model) + _text_problems(model)
