"""Channel notices: a contact's opt-out or opt-in by text, and review cards, posted off-request."""

from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import build_client
from bot.review_cards import review_card
from bot.text import escape, number, quote
from core.config import Settings
from core.doors import DoorServices
from core.errors import StoplineError
from core.model import InboundMessage, Outcome, Scope, Transition
from core.ports import Notices
from core.services import ConsentService

log = logging.getLogger(__name__)

CAPACITY = 10_000  # notices waiting; beyond this they are dropped (the ledger keeps everything)
CLOSE_WAIT = 5.0  # seconds close() waits for the queue to drain
POST_TIMEOUT = 10.0  # seconds one chat.postMessage may take
BACKOFF = (1.0, 4.0)  # waits before the retries of a post that failed for a passing reason
RETRY_AFTER_CAP = 30.0
PASSING = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


@dataclass(frozen=True, slots=True)
class _Notice:
    text: str

    def __str__(self) -> str:  # logs name the kind, never the contact's words
        return "a notice of an opt-out or opt-in by text"


@dataclass(frozen=True, slots=True)
class _ReviewCard:
    review_id: int

    def __str__(self) -> str:
        return f"the card of review item {self.review_id}"


_STOP = object()


def notice_text(message: InboundMessage, outcome: Outcome) -> str | None:
    """The one-line notice for an opt-out or opt-in by text, or None when there is nothing new."""
    if outcome.duplicate or not outcome.changed:
        return None
    transition = outcome.decision.transition
    if transition is Transition.OPT_OUT:
        icon, did = ":no_entry:", "opted out"
    elif transition is Transition.OPT_IN:
        icon, did = ":white_check_mark:", "opted back in"
    else:
        return None
    sender = outcome.status.sender or message.sender
    where = " (whole account)" if outcome.decision.scope is Scope.ACCOUNT else ""
    return (
        f"{icon} {number(outcome.status.phone)} {did} by text to {number(sender)}{where}: "
        f"{quote(message.body)} · rule `{escape(outcome.decision.rule)}`"
    )


class ChannelNotifier:
    """A bounded queue and one daemon thread that posts to the channel, so texts never wait."""

    def __init__(
        self,
        client: WebClient,
        channel: str,
        consent: ConsentService,
        *,
        capacity: int = CAPACITY,
        backoff: tuple[float, ...] = BACKOFF,
    ) -> None:
        self.client = client
        self.channel = channel
        self.consent = consent
        self.backoff = backoff
        self._queue: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._abandon = threading.Event()
        atexit.register(self.close)

    def message_received(self, message: InboundMessage, outcome: Outcome) -> None:
        """Queue the notice or review card this outcome calls for; never waits, never raises."""
        if outcome.duplicate:
            return  # a carrier's retry: the first delivery was announced already
        try:
            text = notice_text(message, outcome)
            if text is not None:
                self._enqueue(_Notice(text))
            if outcome.review_id is not None:
                self._enqueue(_ReviewCard(outcome.review_id))
        except Exception:  # the text is recorded; a notice must never fail the hook's answer
            log.exception("Slack notices: could not queue a notice")

    def pending(self) -> int:
        """How many notices wait to be posted."""
        return self._queue.qsize()

    def close(self, timeout: float = CLOSE_WAIT) -> None:
        """Post what is queued, waiting at most `timeout` seconds, then stop the worker."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        atexit.unregister(self.close)
        if thread is None or not thread.is_alive():
            return
        deadline = time.monotonic() + timeout
        with contextlib.suppress(queue.Full):  # the worker then stops at the deadline below
            self._queue.put(_STOP, timeout=timeout)
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            self._abandon.set()
            with contextlib.suppress(queue.Full):  # wakes a worker idle on an empty queue
                self._queue.put_nowait(_STOP)
            log.error("Slack notices: gave up after %gs with %d notice(s) not posted to %s",
                      timeout, self._queue.qsize(), self.channel)  # fmt: skip

    def _enqueue(self, job: object) -> None:
        with self._lock:
            if self._closed:
                log.warning("Slack notices: stopped; a notice for %s was not posted", self.channel)
                return
            # Started on first use, so each process (a gunicorn worker after fork) has its own.
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="stopline-slack-notices", daemon=True
                )
                self._thread.start()
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                # The text is recorded and an open review is listed by GET /v1/reviews.
                log.error("Slack notices: queue full (%d waiting), dropped %s for %s",
                          self._queue.qsize(), job, self.channel)  # fmt: skip

    def _run(self) -> None:
        while not self._abandon.is_set():
            job = self._queue.get()
            if job is _STOP:
                return
            try:
                self._send(job)
            except StoplineError as exc:  # e.g. the ledger was unreachable while reading a review
                log.error("Slack notices: could not post %s: %s", job, exc.message)
            except Exception:  # the worker must outlive any one notice
                log.exception("Slack notices: could not post %s", job)

    def _send(self, job: object) -> None:
        if isinstance(job, _Notice):
            self._post(text=job.text)
        elif isinstance(job, _ReviewCard):
            # Read here, off the request: the hook's answer never waits for this.
            item = self.consent.review(job.review_id)
            text, blocks = review_card(item, self.consent.clock())
            self._post(text=text, blocks=blocks)

    def _post(self, **message: Any) -> None:
        for attempt in range(len(self.backoff) + 1):
            try:
                self.client.chat_postMessage(
                    channel=self.channel, unfurl_links=False, unfurl_media=False, **message
                )
                return
            except SlackApiError as exc:
                wait = _retry_wait(exc, self.backoff, attempt)
                log.error("Slack notices: chat.postMessage to %s failed (%s, HTTP %s)%s",
                          self.channel, exc.response.get("error"), exc.response.status_code,
                          _retrying(wait))  # fmt: skip
            except (OSError, HTTPException) as exc:
                wait = self.backoff[attempt] if attempt < len(self.backoff) else None
                log.error("Slack notices: could not reach Slack (%s)%s", exc, _retrying(wait))
            if wait is None or self._abandon.wait(wait):
                return


def _retry_wait(exc: SlackApiError, backoff: tuple[float, ...], attempt: int) -> float | None:
    """How long to wait before retrying a refused post, or None when retrying cannot help."""
    response = exc.response
    if attempt >= len(backoff):
        return None
    if response.status_code == 429 or response.get("error") == "ratelimited":
        headers = {key.lower(): value for key, value in (response.headers or {}).items()}
        after = str(headers.get("retry-after", ""))
        return min(float(after), RETRY_AFTER_CAP) if after.isdigit() else backoff[attempt]
    if response.status_code >= 500 or response.get("error") in PASSING:
        return backoff[attempt]
    return None  # channel_not_found, not_in_channel, invalid_auth...: retrying cannot help


def _retrying(wait: float | None) -> str:
    return "" if wait is None else f"; retrying in {wait:g}s"


def build_notifier(settings: Settings, services: DoorServices) -> Notices | None:
    """The channel notifier when a bot token and STOPLINE_SLACK_CHANNEL are set, else None."""
    if not (settings.slack_can_post and settings.slack_channel):
        return None
    client = build_client(settings)
    client.timeout = int(POST_TIMEOUT)
    # Retries are the worker's own (with backoff), so the client makes one attempt each time.
    client.retry_handlers = []
    return ChannelNotifier(client, settings.slack_channel, services.consent)
