"""A file from disk posted into a channel by Slack's external upload, streamed; why Slack refused.

These are the three calls of slack-sdk's `files_upload_v2` (files.getUploadURLExternal,
a POST of the bytes to the upload URL Slack returns, files.completeUploadExternal), but
`files_upload_v2` itself reads the whole file into memory first (`data = readable.read()`
in slack_sdk/web/internal_utils.py). An export of a million opt-outs is a file of a hundred
megabytes or more, so here the bytes go from the file to the socket in small blocks.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO
from urllib.error import HTTPError, URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import UploadFailed

log = logging.getLogger(__name__)
BLOCK = 64 * 1024
_INVITE = "stopline is not in this channel. Invite it with `/invite @stopline`, then try again."
_SLACK_ADVICE = {  # Slack's refusals of the upload that an agent can do something about
    "not_in_channel": _INVITE,
    "channel_not_found": _INVITE,
    "is_archived": "this channel is archived. Run the command in another channel.",
    "missing_scope": "the stopline app lacks the files:write scope. Ask a Slack admin to "
    "reinstall it from slack-manifest.yml.",
}
_IN_A_DM = (
    "stopline cannot post files in this conversation. Run the command in a channel that "
    "stopline is in (invite it with `/invite @stopline`)."
)


def upload_file(
    client: WebClient,
    path: Path,
    *,
    filename: str,
    title: str,
    channel_id: str,
    initial_comment: str,
    sent: Callable[[int], None] | None = None,
) -> str:
    """Upload a file and share it in a channel with a comment; return Slack's file id.

    Slack's refusals of steps 1 and 3 raise SlackApiError; a failed upload raises UploadFailed.
    `sent(n)` is told how many bytes went out so far, for progress notes.
    """
    size = path.stat().st_size
    ticket = client.files_getUploadURLExternal(filename=filename, length=size)
    file_id = str(ticket["file_id"])
    with path.open("rb") as handle:
        _post(client, str(ticket["upload_url"]), _Reader(handle, sent), size)
    client.files_completeUploadExternal(
        files=[{"id": file_id, "title": title}],
        channel_id=channel_id,
        initial_comment=initial_comment,
    )
    return file_id


class _Reader:
    """A file object for http.client that reports progress as blocks are read."""

    def __init__(self, handle: BinaryIO, sent: Callable[[int], None] | None) -> None:
        self.handle = handle
        self.sent = sent
        self.total = 0

    def read(self, size: int = BLOCK) -> bytes:
        block = self.handle.read(size if size and size > 0 else BLOCK)
        self.total += len(block)
        if self.sent is not None:
            self.sent(self.total)
        return block


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would follow a redirect of a POST as a GET without the body and report that
    # GET's 200 as success; a redirect is a failed upload here.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _post(client: WebClient, url: str, body: _Reader, size: int) -> None:
    # As slack-sdk does: the upload URL as returned, no Authorization header (the URL itself
    # is the credential), the client's proxy and TLS settings and timeout.
    handlers: list[Any] = [_NoRedirect(), urllib.request.HTTPSHandler(context=client.ssl)]
    if client.proxy:
        handlers.append(urllib.request.ProxyHandler({"http": client.proxy, "https": client.proxy}))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Length": str(size)}
    )
    try:
        with opener.open(request, timeout=client.timeout) as response:
            status = response.status
            answer = response.read(200).decode("utf-8", "replace")
    except HTTPError as exc:
        raise UploadFailed(f"Slack's file host answered HTTP {exc.code}", status=exc.code) from exc
    except (URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UploadFailed(f"Slack's file host could not be reached ({reason})") from exc
    if status != 200:  # only 200 means Slack has the file, as in slack-sdk
        raise UploadFailed(f"Slack's file host answered HTTP {status}", status=status)
    log.debug("uploaded %d bytes (%s)", size, answer.strip())


def refusal_text(exc: SlackApiError | UploadFailed, channel_id: str) -> str:
    """Why Slack did not take the file, and what an agent can do about it."""
    if isinstance(exc, UploadFailed):
        return f"{exc.message} while the file was sent. Try again in a few minutes."
    error = str(exc.response.get("error", "unknown_error"))
    if _SLACK_ADVICE.get(error) == _INVITE and channel_id.startswith("D"):
        return _IN_A_DM  # a direct message: nobody can invite the bot into it
    return _SLACK_ADVICE.get(error, f"Slack refused the file (`{error}`). Try again later.")


__all__ = ["UploadFailed", "refusal_text", "upload_file"]  # UploadFailed: bot.errors
