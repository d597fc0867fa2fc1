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
    """A thing that does not exist (a review item, a contact with no history).

    `what` names the kind of thing ("review item") and `key` the one asked for, when the
    raiser knows them.
    """

    code = "not_found"

    def __init__(
        self, message: str, *, detail: str | None = None, what: str = "", key: object = None
    ) -> None:
        super().__init__(message, detail=detail)
        self.what = what
        self.key = key


class Conflict(StoplineError):
    """A review item already decided: `decided_by` is the actor who decided first."""

    code = "conflict"

    def __init__(self, review_id: int, decided_by: str | None) -> None:
        self.review_id = review_id
        self.decided_by = decided_by
        who = decided_by or "someone"
        super().__init__(f"review item {review_id} was already decided by {who}")


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
