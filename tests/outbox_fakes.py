"""A hand-written ReplySender for the outbox's tests: scripted failures, then recorded sends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from core.model import Reply
from core.ports import SendFailed


class FakeSender:
    """Fails with each scripted SendFailed in turn (forever with `down`), then records sends."""

    def __init__(
        self, failures: Iterable[SendFailed] = (), *, down: SendFailed | None = None,
        delay: float = 0.0,
    ) -> None:  # fmt: skip
        self.failures = list(failures)
        self.down = down
        self.delay = delay  # seconds each call takes, so two workers' sends overlap
        self.attempts: list[Reply] = []
        self.sent: list[Reply] = []
        self._lock = threading.Lock()

    def send(self, reply: Reply) -> None:
        """Record the attempt; raise the next scripted failure, or record the send."""
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.attempts.append(reply)
            if self.down is not None:
                raise self.down
            if self.failures:
                raise self.failures.pop(0)
            self.sent.append(reply)
