"""One writer at a time on a SQLite ledger, queued without SQLite's sleeping busy handler.

SQLite lets one transaction write at a time. A writer that finds the lock taken sleeps in
SQLite's busy handler for 1, 2, 5, 10 ... 100 ms before it looks again, even when the lock
was free after half a millisecond: under a burst of texts across gunicorn's workers and
threads, most of a request's time was spent asleep there. The gate queues writers on a
thread lock and an flock() on a file beside the database, so a writer goes as soon as the
previous one commits.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ledger.errors import GateTimeout, GateUnavailable


class WriteGate:
    """Serialises the writes of every thread and process that open the same SQLite file."""

    def __init__(self, database_path: str, timeout_s: float) -> None:
        self.path = database_path + "-writelock"
        self.timeout_s = timeout_s
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int:
        # Each process opens its own: a descriptor inherited over fork() shares its flock.
        if self._fd is None or self._pid != os.getpid():
            if self._fd is not None:  # the parent's, inherited: closing it keeps its lock
                os.close(self._fd)
                self._fd = None
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise GateUnavailable(
                    f"cannot open {self.path}: {exc.strerror}", path=self.path
                ) from exc
            self._pid = os.getpid()
        return self._fd

    def close(self) -> None:
        """Close this process's descriptor of the lock file; a later hold() opens it again."""
        if not self._threads.acquire(timeout=self.timeout_s):
            return  # a writer still holds it: its descriptor stays, as the lock must
        try:
            if self._fd is not None:  # this process's own, or a copy inherited over fork()
                os.close(self._fd)
            self._fd = None
        finally:
            self._threads.release()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Wait for the write lock (at most timeout_s), hold it for the block, release it."""
        deadline = time.monotonic() + self.timeout_s
        if not self._threads.acquire(timeout=self.timeout_s):
            raise GateTimeout(
                f"no write lock within {self.timeout_s:g} s (other threads)",
                timeout_s=self.timeout_s,
            )
        try:
            fd = self._file()
            pause = 0.0001
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise GateTimeout(
                            f"no write lock within {self.timeout_s:g} s (another process)",
                            timeout_s=self.timeout_s,
                        ) from None
                    # Short naps: a text's transaction takes about a millisecond.
                    time.sleep(pause)
                    pause = min(pause * 2, 0.002)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()
