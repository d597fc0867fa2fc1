"""The ledger's own errors; ledger.dberrors turns them into DatabaseUnavailable for callers."""

from __future__ import annotations

from core.errors import ServiceFailure


class GateTimeout(ServiceFailure):
    """The write lock was not free within the busy timeout; `timeout_s` is how long was waited."""

    code = "gate_timeout"

    def __init__(self, message: str, *, timeout_s: float | None = None) -> None:
        super().__init__(message)
        self.timeout_s = timeout_s


class GateUnavailable(ServiceFailure):
    """The lock file beside the database cannot be opened (a missing or read-only folder)."""

    code = "gate_unavailable"

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path
