"""The error hierarchy: every error a user can cause is a StoplineError with a clear message."""

from __future__ import annotations


class StoplineError(Exception):
    """Base of every error stopline reports to a user instead of a stack trace."""

    code = "error"

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message


class InvalidPhoneNumber(StoplineError):
    """A phone number that is not a valid, dialable number."""

    code = "invalid_phone_number"

    def __init__(self, raw: object, reason: str, example: str = "+12065550100") -> None:
        self.raw = raw
        self.reason = reason
        self.example = example
        shown = repr(raw) if not isinstance(raw, str) else f'"{raw}"'
        super().__init__(
            f"{shown} is not a valid phone number: {reason}",
            detail=f"{shown} is not a valid phone number: {reason}. "
            f"Use international (E.164) form, for example {example}.",
        )


class ServiceFailure(StoplineError):
    """A failure on stopline's side (ledger, rules): nothing was done; the caller should retry.

    The doors answer these with 503 and Retry-After (a carrier retries a 5xx, never a 4xx),
    and tell an agent to try again; only the client's own mistakes are 4xx.
    """

    code = "service_unavailable"


class InvalidInput(StoplineError):
    """A value that cannot be stored as given (too long, wrong shape)."""

    code = "invalid_input"


class NotAllowed(StoplineError):
    """An action the actor may not take (e.g. opting in a contact's own opt-out)."""

    code = "not_allowed"


class NotFound(StoplineError):
    """A thing that does not exist (a review item, a contact with no history)."""

    code = "not_found"


class Conflict(StoplineError):
    """An action that conflicts with the current state (a review already decided)."""

    code = "conflict"


class DatabaseUnavailable(ServiceFailure):
    """The ledger cannot be reached; nothing was stored, the caller should retry.

    `kind` says how, for metrics and logs: "unavailable" (cannot connect or the server
    failed), "connection_lost", "busy" (a lock or every pooled connection stayed taken) or
    "timeout" (a statement or the whole transaction ran out of time).
    """

    code = "database_unavailable"
    KINDS = ("unavailable", "connection_lost", "busy", "timeout")

    def __init__(
        self, message: str, *, detail: str | None = None, kind: str = "unavailable"
    ) -> None:
        super().__init__(message, detail=detail)
        self.kind = kind if kind in self.KINDS else "unavailable"


class RulesError(ServiceFailure):
    """A rules file that cannot be used, with the file, line and path of each problem."""

    code = "rules_error"

    def __init__(self, file: str, problems: list[RulesProblem]) -> None:
        self.file = file
        self.problems = problems
        lines = [str(p) for p in problems]
        super().__init__(
            f"{file}: {len(problems)} problem(s) in the rules file",
            detail="\n".join(lines),
        )

    def __str__(self) -> str:
        return "\n".join([self.message, *[f"  {p}" for p in self.problems]])


class RulesProblem:
    """One problem in a rules file: where it is and what is wrong."""

    def __init__(self, file: str, line: int | None, path: str, message: str) -> None:
        self.file = file
        self.line = line
        self.path = path
        self.message = message

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        at = f" at {self.path}" if self.path else ""
        return f"{where}{at}: {self.message}"

    def __repr__(self) -> str:
        return f"RulesProblem({self!s})"


# The client's mistakes: every other error (a ServiceFailure, or a subclass of StoplineError
# that is in neither group) is taken as stopline's own failure and retried, never a lost STOP.
CLIENT_ERRORS: tuple[type[StoplineError], ...] = (
    InvalidPhoneNumber,
    InvalidInput,
    NotAllowed,
    NotFound,
    Conflict,
)


def is_ours(exc: BaseException) -> bool:
    """True unless the error is the client's mistake (one of CLIENT_ERRORS)."""
    return not isinstance(exc, CLIENT_ERRORS)


class DuplicateMessage(StoplineError):
    """A carrier's message already recorded: two deliveries of it raced, the first one won."""

    code = "duplicate_message"

    def __init__(self, carrier: str, message_id: str) -> None:
        self.carrier = carrier
        self.message_id = message_id
        super().__init__(f"message {message_id[:80]} from {carrier} was already recorded")
