"""What an export's requester is told while it runs and when it fails, in an agent's words."""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.delivery import Destination
from bot.errors import UploadFailed
from bot.files import refusal_text
from core.errors import DatabaseUnavailable, StoplineError

log = logging.getLogger("bot.commands.export")
MAX_NOTES = 3  # a response_url takes 5 posts in 30 minutes; one is kept for a failure


def failure_text(exc: Exception, channel: str, *, private: bool = False) -> str:
    """What went wrong and what to do, in an agent's words."""
    if isinstance(exc, DatabaseUnavailable):
        return "the consent ledger could not be read. Try again in a few minutes."
    if isinstance(exc, UploadFailed):  # a StoplineError too, with its own advice
        return refusal_text(exc, channel)
    if isinstance(exc, StoplineError):
        return f"{exc.message}."
    if isinstance(exc, SlackApiError) and private:
        # The bot's own direct message: no invitation helps; Slack's word is all there is.
        error = str(exc.response.get("error", "unknown_error"))
        return f"Slack refused the file in stopline's direct message with you (`{error}`)."
    if isinstance(exc, SlackApiError | UploadFailed):
        return refusal_text(exc, channel)
    if isinstance(exc, OSError):
        return (
            f"the stopline server could not write the file ({exc.strerror or exc}). Ask whoever "
            "runs stopline to check its disk space."
        )
    return (
        "stopline hit an unexpected error and logged it. Try again; if it fails again, ask "
        "whoever runs stopline to check its log."
    )


def tell_failure(
    client: WebClient, respond: Any, destination: Destination, mention: str, text: str
) -> None:
    """Say where the file was going that the export failed; failing that, tell the caller."""
    who = "you" if destination.private else mention
    message = f":warning: The opt-out export {who} asked for failed: {text} Nothing was posted."
    try:
        client.chat_postMessage(channel=destination.channel_id, text=message)
        return
    except Exception as exc:  # the channel may refuse the bot too; the caller must still hear
        log.warning("could not post the export failure in %s: %s", destination.channel_id, exc)
    tell_caller(respond, message)


def tell_caller(respond: Any, message: str) -> None:
    """A caller-only note through the command's response_url."""
    try:
        answer = respond(text=message, response_type="ephemeral", replace_original=False)
        if answer.status_code != 200:
            log.error("could not tell the agent that the export failed: %s", answer.body)
    except Exception:
        log.exception("could not tell the agent that the export failed")


class Progress:
    """Caller-only notes while a long export runs: every `every` seconds, at most MAX_NOTES."""

    def __init__(self, respond: Any, every: float) -> None:
        self.rows = self.sent = self.size = 0
        self._respond = respond
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="optout-export-progress", daemon=True
        )

    def uploaded(self, sent: int) -> None:
        """Bytes of the file sent so far."""
        self.sent = sent

    def text(self) -> str:
        """Where the export is now."""
        if self.size:
            sent = f"{self.sent / 1e6:.1f} of {self.size / 1e6:.1f} MB sent"
            return f"Still uploading the export ({self.rows:,} rows): {sent}."
        return f"Still building the export: {self.rows:,} rows written so far."

    def __enter__(self) -> Progress:
        if self._every > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        for _ in range(MAX_NOTES):
            if self._stop.wait(self._every):
                return
            try:
                self._respond(text=self.text(), response_type="ephemeral", replace_original=False)
            except Exception as exc:  # a lost note must not stop the export
                log.warning("could not post an export progress note: %s", exc)
