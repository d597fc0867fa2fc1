"""Helpers for the rules tests: requests, scope facts and small rules files (no tests here)."""

from __future__ import annotations

from pathlib import Path

from core.model import Command, DecisionRequest, Scope, ScopeFacts, Source, Status

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "rules.yml"
SENDER = "+12065550199"
SUBSCRIBED = ScopeFacts()


def out(by: Source | str) -> ScopeFacts:
    """A scope row opted out by `by`."""
    return ScopeFacts(Status.OPTED_OUT, Source(by))


def message(
    text: str,
    sender_state: ScopeFacts = SUBSCRIBED,
    account_state: ScopeFacts = SUBSCRIBED,
    sender: str | None = SENDER,
) -> DecisionRequest:
    """A contact's text."""
    return DecisionRequest(Source.CONTACT, sender, sender_state, account_state, text=text)


def command(
    what: Command | str,
    actor: Source | str = Source.AGENT,
    sender_state: ScopeFacts = SUBSCRIBED,
    account_state: ScopeFacts = SUBSCRIBED,
    scope: Scope | str = Scope.SENDER,
) -> DecisionRequest:
    """An agent's, the API's or an import's command."""
    sender = SENDER if Scope(scope) is Scope.SENDER else None
    return DecisionRequest(
        Source(actor), sender, sender_state, account_state,
        command=Command(what), scope=Scope(scope),
    )  # fmt: skip


def shipped_text() -> str:
    """The shipped rules.yml."""
    return SHIPPED.read_text(encoding="utf-8")


def write(tmp_path: Path, text: str, name: str = "rules.yml") -> Path:
    """Write a rules file and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str, count: int = 1) -> str:
    """The shipped file with one edit; fails loudly if the anchor text moved."""
    text = shipped_text()
    assert old in text, f"anchor not in rules.yml: {old!r}"
    return text.replace(old, new, count)


def line_of(text: str, needle: str) -> int:
    """The 1-based line number of the first line containing `needle`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not found")
