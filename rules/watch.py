"""The thread that reloads rules off the request path: one per process, started on first use.

A request never waits for a load: the watcher looks at the file when it is due, on SIGHUP or
when asked, and swaps the new rules in when they are ready; until then the old ones decide.
Threads do not survive fork (gunicorn forks its workers from a master that loaded the rules),
so each process starts its own the first time it needs one.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Protocol

log = logging.getLogger(__name__)
_starting = threading.Lock()


def _after_fork() -> None:
    global _starting  # a lock held at fork time by a thread that is gone would stay held
    _starting = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class Watched(Protocol):
    """What the watcher needs of a RulesHolder."""

    def due(self) -> bool:
        """Whether the file should be looked at now."""
        ...

    def check_now(self, wait: bool = True) -> bool:
        """Reload the file if it changed."""
        ...

    def after_fork(self) -> None:
        """Replace locks a thread of the parent process may have held."""
        ...


class Watcher:
    """A daemon thread that checks a holder's file; it ends when the holder is closed or gone."""

    def __init__(self, holder: Watched, tick: float) -> None:
        self._holder = weakref.ref(holder)  # a forgotten holder is collected, its thread ends
        self.tick = tick
        self._pid: int | None = None
        self._cond = threading.Condition()
        self._asked = self._done = 0
        self._stopped = False
        self.checks = 0  # how many times the thread looked at the file

    def ensure(self) -> None:
        """Start this process's thread unless it runs (cheap: one comparison when it does)."""
        if self._pid == os.getpid() or self._stopped:
            return
        with _starting:
            pid = os.getpid()
            if self._pid == pid or self._stopped:
                return
            holder = self._holder()
            if holder is None:
                return
            if self._pid is not None:  # forked: the parent's thread and its locks stay behind
                holder.after_fork()
            self._cond = threading.Condition()
            self._asked = self._done = 0
            thread = threading.Thread(target=self._run, name="stopline-rules-watch", daemon=True)
            thread.start()
            self._pid = pid

    def poke(self) -> None:
        """Wake the thread if that can be done without blocking (safe in a signal handler)."""
        cond = self._cond
        if cond.acquire(blocking=False):
            try:
                cond.notify_all()
            finally:
                cond.release()

    def refresh(self, timeout: float) -> bool:
        """Ask for a check now and wait up to `timeout` s for it; True when it finished."""
        self.ensure()
        cond = self._cond
        with cond:
            self._asked += 1
            ticket = self._asked
            cond.notify_all()
            return cond.wait_for(lambda: self._done >= ticket or self._stopped, timeout)

    def stop(self) -> None:
        """End the thread (after the check it may be making)."""
        self._stopped = True
        with self._cond:
            self._cond.notify_all()

    def _run(self) -> None:
        cond, pid = self._cond, os.getpid()
        while True:
            with cond:
                if not self._stopped and self._asked == self._done:
                    cond.wait(self.tick)
                asked = self._asked
            if self._stopped or os.getpid() != pid or cond is not self._cond:
                return
            holder = self._holder()
            if holder is None:
                return
            try:
                if asked != self._done or holder.due():
                    self.checks += 1
                    holder.check_now(wait=True)
            except Exception:  # the watcher must outlive anything a rules file does
                log.exception("checking the rules file failed; the rules in force stay")
            finally:
                del holder
            with cond:
                self._done = asked
                cond.notify_all()
