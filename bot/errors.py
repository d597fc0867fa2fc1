"""The Slack door's own errors: a command typed wrongly, a file Slack's host did not take."""

from __future__ import annotations

from core.errors import InvalidInput, ServiceFailure


class UsageError(InvalidInput):
    """A command typed wrongly; the message says what was wrong."""

    code = "usage_error"


class UploadFailed(ServiceFailure):
    """Slack's file host did not take the bytes (anything but HTTP 200, or no connection).

    `status` is the HTTP status Slack's host answered, None when it could not be reached.
    """

    code = "upload_failed"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
