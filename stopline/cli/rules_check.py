"""`stopline rules check`: a rules file's problems, or a summary of what it holds."""

from __future__ import annotations

from pathlib import Path

from rules.compile import load_rules
from rules.errors import RulesError


def check_file(path: str | Path) -> tuple[bool, list[str]]:
    """(True, summary lines) for a usable file; (False, one "file:line at path: message" each)."""
    try:
        compiled = load_rules(path)
    except RulesError as exc:
        return False, [str(problem) for problem in exc.problems]
    model = compiled.model
    intents: dict[str, int] = {}
    for group in model.keywords.values():
        intents[group.intent] = intents.get(group.intent, 0) + 1
    by_intent = ", ".join(f"{n} {intent}" for intent, n in sorted(intents.items()))
    return True, [
        f"{path}: OK",
        f"keyword groups: {len(model.keywords)} ({by_intent})",
        f"keywords: {sum(len(g.words) for g in model.keywords.values())}",
        f"languages: {', '.join(compiled.languages)} (default {compiled.default_language})",
        f"review phrases: {len(compiled.phrases)}; typo review: "
        f"{'on' if compiled.typos else 'off'}",
        f"guards: {len(compiled.guards)}; reply overrides for "
        f"{len(model.replies.senders)} sender(s)",
        f"transition rules: {len(compiled.rules)} ({compiled.test_count} equality tests)",
        f"version: {compiled.version}",
    ]
