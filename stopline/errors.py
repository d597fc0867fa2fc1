"""The composition root's own errors: a database this stopline cannot serve."""

from __future__ import annotations

from core.errors import ServiceFailure


class NotMigrated(ServiceFailure):
    """The database schema is missing or older than this version; `current`/`head` say which."""

    code = "not_migrated"

    def __init__(self, message: str, *, current: str | None = None, head: str = "") -> None:
        super().__init__(message)
        self.current = current
        self.head = head
