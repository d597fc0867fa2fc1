"""The outbox's sending worker: one daemon thread per process, started after the fork.

Delivery is at least once inside the window, never after it. A reply is marked `sent` only
after the carrier took it; a process killed between the carrier's answer and that mark
leaves the row `sending`, and after LEASE_SECONDS another worker (or this one restarted)
takes it again and sends it a second time, with the same idempotency key, only if the
5-minute window (core.outbox.WINDOW) has not passed. A carrier that honours the key sends
it once; one without a key may deliver that reply twice. A send slower than the lease has
the same window, so the senders' own timeouts must stay well under it.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from core import outbox as policy
from core.ports import Clock, Outbox, ReplySender, SendFailed
from core.records import OutboxItem
from core.services import utcnow

log = logging.getLogger(__name__)

LEASE_SECONDS = 30.0  # a `sending` row older than this was left by a dead worker
POLL_SECONDS = 1.0  # how often due replies are looked for without a wake-up
BATCH = 20  # replies claimed at a time
CLOSE_WAIT = 5.0


def _not_counted(outcome: str) -> None:
    return None


class OutboxWorker:
    """Sends the outbox's due replies with their carrier's ReplySender, on one daemon thread."""

    def __init__(
        self,
        outbox: Outbox,
        senders: Mapping[str, ReplySender],
        *,
        clock: Clock = utcnow,
        lease_seconds: float = LEASE_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        batch: int = BATCH,
        counted: Callable[[str], None] = _not_counted,
    ) -> None:
        self.outbox = outbox
        self.senders = dict(senders)
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.counted = counted  # "sent", "retried" or "dropped", for the app's metrics
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self) -> None:
        """Start this process's thread if it is not running (after a fork, a new one)."""
        with self._lock:
            if self._closed:
                return
            # A thread started before a fork is not alive in the child: it gets its own.
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="stopline-outbox", daemon=True
                )
                self._thread.start()
                atexit.register(self.close)

    @property
    def running(self) -> bool:
        """True while this process's thread runs."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def wake(self) -> None:
        """Have due replies looked for now (the service calls it after queueing one)."""
        self.start()  # on first use, so the dev server needs no separate start
        self._wake.set()

    def close(self, timeout: float = CLOSE_WAIT) -> None:
        """Stop the thread, letting a send in progress finish for at most `timeout` seconds."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
        atexit.unregister(self.close)
        self._stop.set()
        self._wake.set()
        if thread is not None and thread.is_alive():
            thread.join(timeout)
            if thread.is_alive():
                # Its row stays `sending` and is taken again after the lease.
                log.warning("outbox: a send still running after %gs; stopping", timeout)

    def step(self) -> int:
        """Claim the due replies and attempt each once; returns how many were claimed."""
        items = self.outbox.claim(self.clock(), self.lease_seconds, self.batch)
        for item in items:
            if self._stop.is_set():
                break  # the rest stay `sending` and are taken again after the lease
            self._attempt(item)
        return len(items)

    def _attempt(self, item: OutboxItem) -> None:
        now = self.clock()
        if policy.too_late(item.created_at, now):
            self._drop(item, now, policy.LATE)
            return
        sender = self.senders.get(item.carrier)
        if sender is None:
            self._drop(item, now, f"no sender for {item.carrier}'s messaging API is configured")
            return
        try:
            sender.send(policy.reply_of(item))
        except SendFailed as failure:
            self._failed(item, failure)
        except Exception as exc:  # a sender's bug: retried like a network error, and logged
            log.exception("outbox: the %s sender failed on reply %d", item.carrier, item.id)
            self._failed(item, SendFailed(f"{type(exc).__name__}: {exc}", retry=True))
        else:
            if self.outbox.mark_sent(item, self.clock()):
                self.counted("sent")
            else:
                log.warning("outbox: reply %d was sent after its claim was lost", item.id)

    def _failed(self, item: OutboxItem, failure: SendFailed) -> None:
        now = self.clock()
        step = policy.after_failure(item, failure, now)
        if isinstance(step, policy.Drop):
            self._drop(item, now, step.reason)
            return
        if self.outbox.reschedule(item, step.at, step.error):
            self.counted("retried")
            log.info("outbox: reply %d to %s failed (%s); retrying at %s",
                     item.id, item.carrier, step.error, step.at.isoformat())  # fmt: skip

    def _drop(self, item: OutboxItem, now: datetime, reason: str) -> None:
        if self.outbox.drop(item, now, reason):
            self.counted("dropped")
            log.warning("outbox: dropped reply %d to a %s text (%s): %s",
                        item.id, item.carrier, item.message_id, reason)  # fmt: skip

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before the claim: a reply queued during it wakes the next
            busy = 0
            try:
                busy = self.step()
            except Exception:  # the database is away, say: the thread must outlive it
                log.exception("outbox: could not take the due replies; trying again")
            if busy < self.batch:
                self._wake.wait(self.poll_seconds)
