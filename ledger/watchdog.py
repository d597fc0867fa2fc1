"""Cuts a database connection whose transaction outlives its deadline.

A frozen PostgreSQL (SIGSTOP, a network partition) keeps a pooled connection's query waiting
for ever: connect_timeout covers only new connections, statement_timeout is enforced by the
frozen server itself, and TCP keepalives are answered by its kernel. A carrier gives up on a
web hook after 15 s and a 503 before that makes it retry, so one thread per process watches
the transactions in progress and shuts down the socket of any past its deadline: the call
blocked on it returns with the driver's OperationalError at once.

Each armed transaction holds a duplicate of its connection's socket descriptor, so the cut
reaches that socket even if the driver has meanwhile closed (and the system reused) its own
descriptor number. After a fork the child starts with no watches and its own thread.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time

log = logging.getLogger(__name__)


class Watch:
    """One transaction's deadline and, while armed, its connection's socket."""

    __slots__ = ("_fd", "deadline", "fired", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.fired = False  # set (under the watchdog's lock) once the socket was shut down
        self._fd = -1

    @property
    def expired(self) -> bool:
        """True once the deadline has passed (cut or not)."""
        return time.monotonic() >= self.deadline

    def arm(self, fd: int) -> None:
        """Watch the connection whose socket is `fd` until disarm()."""
        _watchdog().arm(self, fd)

    def disarm(self) -> None:
        """Stop watching; the socket is never cut after this returns."""
        _watchdog().disarm(self)


class Watchdog:
    """The process's watching thread and its registry of armed watches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._watches: set[Watch] = set()
        self._wake_at = math.inf  # when the thread means to look next
        self._thread: threading.Thread | None = None
        self.pid = os.getpid()

    def arm(self, watch: Watch, fd: int) -> None:
        """Register the watch with a duplicate of `fd`; starts the thread if needed."""
        dup = os.dup(fd)
        with self._lock:
            if watch._fd >= 0:
                os.close(watch._fd)
            watch._fd = dup
            self._watches.add(watch)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="stopline-db-watchdog", daemon=True
                )
                self._thread.start()
            elif watch.deadline < self._wake_at:
                # Deadlines only grow under steady load: the thread is woken only when it
                # was idle, not once per transaction.
                self._wake.notify()

    def disarm(self, watch: Watch) -> None:
        """Unregister the watch and close its duplicate descriptor."""
        with self._lock:
            self._watches.discard(watch)
            if watch._fd >= 0:
                os.close(watch._fd)
                watch._fd = -1

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                for watch in [w for w in self._watches if w.deadline <= now]:
                    self._cut(watch)
                self._wake_at = min((w.deadline for w in self._watches), default=math.inf)
                self._wake.wait(None if self._wake_at == math.inf else self._wake_at - now)

    def _cut(self, watch: Watch) -> None:
        """Shut the socket down for both directions (shared with the driver's descriptor)."""
        self._watches.discard(watch)
        # Before the cut: the thread that then sees its error must find the watch fired.
        watch.fired = True
        fd, watch._fd = watch._fd, -1
        try:
            sock = socket.socket(fileno=fd)
        except OSError as exc:
            os.close(fd)
            log.warning("watchdog: a database connection's descriptor is no socket: %s", exc)
            return
        with sock:  # closes our duplicate only
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError as exc:  # already closed by the peer: the driver has its error too
                log.debug("watchdog: shutdown of a database socket failed: %s", exc)
        log.error(
            "the database did not answer within %.1f s; its connection was cut", watch.seconds
        )

    def forget(self) -> None:
        """In a forked child: drop the parent's watches and thread (their sockets are shared)."""
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        for watch in self._watches:
            if watch._fd >= 0:
                os.close(watch._fd)
                watch._fd = -1
        self._watches = set()
        self._wake_at = math.inf
        self._thread = None
        self.pid = os.getpid()


_instance = Watchdog()


def _watchdog() -> Watchdog:
    if _instance.pid != os.getpid():  # a fork not seen by the hook below (os.fork is hooked)
        _instance.forget()
    return _instance


os.register_at_fork(after_in_child=_instance.forget)
