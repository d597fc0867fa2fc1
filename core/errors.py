"""The error hierarchy: every error a user can cause is a StoplineError with a clear message."""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True, slots=True)
class Answer:
    """How every door answers one kind of error: HTTP status, CLI exit code, Slack wording.

    `slack` names the wording (the bot owns the words): "ledger_down" (nothing was changed,
    try again), "ours" (a problem on stopline's side, with the message) or "yours" (the
    message itself: the agent can fix it).
    """

    http_status: int
    exit_code: int
    slack: str


_YOURS_400 = Answer(400, 1, "yours")
# stopline's own failure: 503 tells a carrier to retry (a 4xx would be a STOP lost).
_OURS = Answer(503, 1, "ours")

# Every error's `code`, as each door answers it: the one table web, bot and the CLI read.
# tests/unit/test_error_table.py walks every StoplineError subclass and wants its code here.
ANSWERS: dict[str, Answer] = {
    # The client's mistakes.
    InvalidPhoneNumber.code: Answer(400, 2, "yours"),
    InvalidInput.code: _YOURS_400,
    "bad_request": _YOURS_400,  # web.errors.BadInput
    "usage_error": _YOURS_400,  # bot.errors.UsageError
    "not_a_carrier_delivery": _YOURS_400,  # core.carriers.NotACarrierDelivery
    "missing_field": _YOURS_400,  # core.carriers.MissingField
    NotAllowed.code: Answer(403, 1, "yours"),
    NotFound.code: Answer(404, 1, "yours"),
    Conflict.code: Answer(409, 1, "yours"),
    # Ours: nothing was done, the caller should retry.
    StoplineError.code: _OURS,  # a subclass mapped to nothing more precise is taken as ours
    ServiceFailure.code: _OURS,
    DatabaseUnavailable.code: Answer(503, 1, "ledger_down"),
    "rules_error": _OURS,  # rules.errors
    "rules_engine_error": _OURS,
    "engine_closed": _OURS,
    "gate_timeout": _OURS,  # ledger.errors
    "gate_unavailable": _OURS,
    "upload_failed": _OURS,  # bot.errors
    "not_migrated": _OURS,  # stopline.errors
    "no_ledger": _OURS,  # stopline.dbfile.NoLedger
    # Caught by ConsentService (two deliveries raced); if it ever escaped, a retry gets the
    # first answer.
    "duplicate_message": _OURS,
}


def answer_for(error: StoplineError | type[StoplineError]) -> Answer:
    """The row of the nearest class (the error's own first) whose code is in ANSWERS."""
    kind = error if isinstance(error, type) else type(error)
    for cls in kind.__mro__:
        answer = ANSWERS.get(getattr(cls, "code", ""))
        if answer is not None:
            return answer
    return _OURS


def is_ours(exc: BaseException) -> bool:
    """True unless the error is the client's mistake (a 4xx in ANSWERS)."""
    return not isinstance(exc, StoplineError) or answer_for(exc).http_status >= 500


class DuplicateMessage(ServiceFailure):
    """A carrier's message already recorded: two deliveries of it raced, the first one won.

    The service catches it and answers from the first delivery's record; one that escapes
    is a 503 (ours), so the carrier's retry finds that record, never a 4xx that loses a STOP.
    """

    code = "duplicate_message"

    def __init__(self, carrier: str, message_id: str) -> None:
        self.carrier = carrier
        self.message_id = message_id
        super().__init__(f"message {message_id[:80]} from {carrier} was already recorded")
