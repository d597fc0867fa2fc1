"""What agents are told: usage with an example, and plain words for every domain error."""

from __future__ import annotations

from collections.abc import Callable

from core.errors import InvalidPhoneNumber, StoplineError, answer_for

USAGE = {
    "/optout": (
        "`/optout PHONE [sender=PHONE] [reason…]` opts a contact out. Without `sender=` the "
        "opt-out covers every number of the account.\n"
        "Example: `/optout (206) 555-0100 asked on a call` or "
        "`/optout +1 206-555-0100 sender=+1 415-555-0123 wrong number`"
    ),
    "/optin": (
        "`/optin PHONE [sender=PHONE|all] [reason…]` opts a contact back in, when an agent, the "
        "API or an import opted them out. Without `sender=` it lifts the account-wide opt-out; "
        "`sender=all` lifts every opt-out you may lift.\n"
        "Example: `/optin 206.555.0100 sender=all asked to hear from us again`"
    ),
    "/consent": (
        "`/consent PHONE` shows a contact's status card.\nExample: `/consent (206) 555-0100`"
    ),
    "/optout-export": (
        "`/optout-export [since=YYYY-MM-DD] [sender=PHONE] [to=channel]` sends you the "
        "opted-out list as a CSV file in a direct message; `to=channel` posts it in this "
        "channel instead (never in one shared with another workspace).\n"
        "Example: `/optout-export since=2026-01-01 sender=+14155550123`"
    ),
}


def usage_problem(command: str, problem: StoplineError) -> str:
    """A caller-only answer to a command typed wrongly: what was wrong, usage, an example."""
    if isinstance(problem, InvalidPhoneNumber):
        head = problem.detail
    else:
        head = f"{_sentence(problem.message)}."
    return f":warning: {head}\n{USAGE[command]}"


def failure(exc: StoplineError) -> str:
    """An error after the command was acknowledged, in plain words: did anything change."""
    return _FAILURE[answer_for(exc).slack](exc)


def _sentence(message: str) -> str:
    return f"{message[:1].upper()}{message[1:]}"


# How core.errors.ANSWERS' Slack wordings read after a command.
_FAILURE: dict[str, Callable[[StoplineError], str]] = {
    "ledger_down": lambda exc: (
        ":warning: The consent ledger is unavailable right now, so nothing was changed. "
        "Try again in a minute."
    ),
    # The rules engine or the like failed: the agent did nothing wrong and can retry.
    "ours": lambda exc: (
        ":warning: stopline could not do this because of a problem on its side "
        f"({exc.message[:200]}); nothing was changed. Try again in a minute, and tell "
        "whoever runs stopline if it keeps happening."
    ),
    "yours": lambda exc: f":warning: {_sentence(exc.message)}.",
}
