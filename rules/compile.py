"""Compile a validated rules file: keyword tables for Python, transition rules for the engine."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from core.phone import normalize_sender
from rules.errors import RulesError, RulesProblem
from rules.loader import describe, read_rules_file
from rules.normalize import normalize
from rules.rule_table import Rule, transition_rules
from rules.schema import FLOOR_HELP, FLOOR_OPT_IN, FLOOR_OPT_OUT, ReplyTexts, RulesFile
from rules.wordsets import Fillers, Phrases

log = logging.getLogger(__name__)

REPLY_KINDS = ("opt_out", "opt_in", "help", "already_subscribed")
MAX_TESTS = 480  # durable's C code loops forever past ~512 equality tests in one ruleset


@dataclass(frozen=True, slots=True)
class KeywordHit:
    """What a matched keyword means: its group, intent, scope and language."""

    word: str
    group: str
    intent: str
    scope: str
    language: str
    in_sentence: str = "opt_out"  # what the word does as one clause of a longer message


@dataclass(frozen=True)
class CompiledRules:
    """Everything a decision needs, built once when the file is loaded."""

    file: str
    version: str
    model: RulesFile
    keywords: dict[str, KeywordHit]
    fillers: Fillers  # one lookup table: matching costs the same for 5 fillers or 500
    safe_fillers: Fillers  # fillers without a keyword's word in them
    floor: dict[str, KeywordHit]  # the legal floor's words: decided before any guard
    phrases: Phrases  # (normalised, as written), looked up by first word
    typo_targets: tuple[tuple[str, KeywordHit], ...]
    typo_longest: int  # no typo is more than one letter longer than the longest target
    guards: tuple[ReactionGuard, ...]
    replies: dict[tuple[str, str, str], str]
    rules: tuple[Rule, ...]
    default_language: str
    typo_min_length: int = 5
    typos: bool = True
    languages: tuple[str, ...] = field(default_factory=tuple)
    # typo_targets by length, each with its place in typo_targets: a typo is at most one
    # letter longer or shorter, so only three lengths are ever compared with a word
    typo_by_length: dict[int, tuple[tuple[int, str, KeywordHit], ...]] = field(default_factory=dict)

    @property
    def test_count(self) -> int:
        """How many equality tests the durable ruleset holds."""
        return sum(len(rule.when) for rule in self.rules)


@dataclass(frozen=True, slots=True)
class ReactionGuard:
    """A compiled guard: its name, normalised prefixes, and what must follow them."""

    name: str
    prefixes: tuple[str, ...]
    needs_quote: bool = True
    emoji: bool = False


def _keywords(model: RulesFile) -> dict[str, KeywordHit]:
    table: dict[str, KeywordHit] = {}
    for name, group in model.keywords.items():
        for word in group.words:
            key = normalize(word)
            if key:
                hit = KeywordHit(
                    word, name, group.intent, group.scope, group.language, group.in_a_sentence
                )
                table.setdefault(key, hit)
    # Defence in depth: the floor holds even for a file that bypassed validation.
    for word, scope in FLOOR_OPT_OUT.items():
        if table.get(normalize(word), KeywordHit("", "", "", "", "")).intent != "opt_out":
            table[normalize(word)] = KeywordHit(word, "floor", "opt_out", scope, "en")
    for words, intent in ((FLOOR_OPT_IN, "opt_in"), (FLOOR_HELP, "help")):
        for word in words:
            if table.get(normalize(word), KeywordHit("", "", "", "", "")).intent != intent:
                table[normalize(word)] = KeywordHit(word, "floor", intent, "sender", "en")
    return table


def _floor(keywords: dict[str, KeywordHit]) -> dict[str, KeywordHit]:
    words = [*FLOOR_OPT_OUT, *FLOOR_OPT_IN, *FLOOR_HELP]
    return {normalize(w): keywords[normalize(w)] for w in words}


def _safe_fillers(model: RulesFile) -> Fillers:
    # Validation refuses a filler holding a keyword's word; a file that skipped validation
    # still may not hide the floor behind one ("stop" as a filler).
    words = [w for g in model.keywords.values() for w in g.words]
    words += [*FLOOR_OPT_OUT, *FLOOR_OPT_IN, *FLOOR_HELP]
    tokens = {t for w in words for t in normalize(w).split()}
    fillers = (tuple(normalize(w).split()) for w in model.filler_words)
    return Fillers(f for f in fillers if f and not tokens.intersection(f))


def _replies(model: RulesFile) -> dict[tuple[str, str, str], str]:
    out: dict[tuple[str, str, str], str] = {}
    texts: list[tuple[str, ReplyTexts]] = [("", model.replies)]
    texts += [(normalize_sender(s), r) for s, r in model.replies.senders.items()]
    for sender, reply in texts:
        for intent in REPLY_KINDS:
            for lang, text in getattr(reply, intent).items():
                out[(sender, intent, lang)] = text
    return out


def compile_rules(model: RulesFile, content: bytes, file: str = "rules.yml") -> CompiledRules:
    """Compile a validated model; raise RulesError when the ruleset would be unsafe for durable."""
    keywords = _keywords(model)
    fillers = tuple(tuple(normalize(w).split()) for w in model.filler_words if normalize(w))
    typo_targets = tuple((k, h) for k, h in keywords.items() if h.intent == "opt_out")
    by_length: dict[int, list[tuple[int, str, KeywordHit]]] = {}
    for i, (key, hit) in enumerate(typo_targets):
        by_length.setdefault(len(key), []).append((i, key, hit))
    compiled = CompiledRules(
        file=file,
        version=hashlib.sha256(content).hexdigest(),
        model=model,
        keywords=keywords,
        fillers=Fillers(fillers),
        safe_fillers=_safe_fillers(model),
        floor=_floor(keywords),
        phrases=Phrases((normalize(p), p) for p in model.review.phrases),
        typo_targets=typo_targets,
        typo_by_length={n: tuple(v) for n, v in by_length.items()},
        typo_longest=max((len(k) for k, h in keywords.items() if h.intent == "opt_out"), default=0),
        guards=tuple(
            ReactionGuard(name, tuple(normalize(w) for w in g.starts_with), g.needs_quote, g.emoji)
            for name, g in model.guards.items()
        ),
        replies=_replies(model),
        rules=transition_rules(model),
        default_language=model.default_language,
        typo_min_length=model.review.typo_min_length,
        typos=model.review.typos,
        languages=tuple(sorted({g.language for g in model.keywords.values()})),
    )
    if compiled.test_count > MAX_TESTS:
        raise RulesError(
            file,
            [
                RulesProblem(
                    file,
                    None,
                    "guards",
                    f"the rules compile to {compiled.test_count} equality tests, more than "
                    f"the safe limit of {MAX_TESTS} (durable-rules hangs past ~512); "
                    "use fewer guards",
                )
            ],
        )
    return compiled


def load_rules(path: str | Path) -> CompiledRules:
    """Load, validate and compile a rules file; raise RulesError with file/line/path per problem.

    Whatever else goes wrong (a path through the loader nobody foresaw) is a RulesError too,
    logged with its traceback: callers keep their last good rules and print one line.
    """
    try:
        model, content = read_rules_file(path)
        return compile_rules(model, content, str(path))
    except RulesError:
        raise
    except Exception as exc:
        log.exception("loading the rules file %s failed unexpectedly", path)
        problem = RulesProblem(
            str(path), None, "", f"could not be loaded ({describe(exc)}); this is a fault in "
            "stopline's loader: please report it with the file, and check the file's last edit",
        )  # fmt: skip
        raise RulesError(str(path), [problem]) from exc
