"""RulesHolder: the rules in force, reloaded on change; a broken file keeps the last good rules."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import RulesError
from core.model import Decision, DecisionRequest
from rules.compile import CompiledRules, load_rules
from rules.engine import EngineClosed, RulesEngine, RulesEngineError
from rules.factory import build_engine

log = logging.getLogger(__name__)
Stamp = tuple[int, int, int] | None


def _stamp(path: Path) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class RulesHolder:
    """A Decider that checks its file at most every `interval` seconds, or on SIGHUP."""

    def __init__(
        self,
        path: str | Path,
        interval: float = 2.0,
        backend: str = "auto",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.interval = interval
        self._backend = backend
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp = _stamp(self.path)
        self._engine: RulesEngine = build_engine(load_rules(self.path), backend)  # may raise
        self._next_check = clock() + interval
        self._hup = False
        self._closed = False
        self.last_error: str | None = None
        self.reloads = 0
        self.failures = 0
        self.loaded_at = datetime.now(UTC)

    @property
    def version(self) -> str:
        """The sha256 of the rules in force."""
        return self._engine.version

    @property
    def backend(self) -> str:
        """ "durable" or "python"."""
        return self._engine.backend

    @property
    def compiled(self) -> CompiledRules:
        """The compiled rules in force."""
        return self._engine.compiled

    @property
    def engine(self) -> RulesEngine:
        """The engine in force."""
        return self._engine

    def decide(self, request: DecisionRequest) -> Decision:
        """Decide with the rules in force, after a due check of the file."""
        if self._hup or self._clock() >= self._next_check:
            self.check_now(wait=False)
        while True:
            engine = self._engine
            try:
                return engine.decide(request)
            except EngineClosed:
                if self._closed:
                    raise
                continue  # swapped by a reload between the read and the call: use the new one

    def check_now(self, wait: bool = True) -> bool:
        """Reload the file if it changed; True when new rules are now in force."""
        if not self._lock.acquire(blocking=wait):
            return False  # another thread is already checking
        try:
            self._hup = False
            self._next_check = self._clock() + self.interval
            stamp = _stamp(self.path)
            if stamp == self._stamp and stamp is not None:
                return False
            self._stamp = stamp
            return self._reload()
        finally:
            self._lock.release()

    def _reload(self) -> bool:
        try:
            compiled = load_rules(self.path)
            if compiled.version == self._engine.version:
                self.last_error = None
                return False
            new = build_engine(compiled, self._backend, self._engine)  # built aside
        except (RulesError, RulesEngineError) as exc:
            self.failures += 1
            self.last_error = str(exc)
            log.error(
                "rules not reloaded, keeping version %s in force:\n%s",
                self._engine.version[:12],
                exc,
            )
            return False
        old, self._engine = self._engine, new
        old.close()
        self.reloads += 1
        self.last_error = None
        self.loaded_at = datetime.now(UTC)
        log.info("rules reloaded from %s: version %s", self.path, new.version[:12])
        return True

    def install_sighup(self) -> bool:
        """Check the file on SIGHUP; False (and nothing done) outside the main thread."""
        if not hasattr(signal, "SIGHUP"):
            return False
        if threading.current_thread() is not threading.main_thread():
            return False
        previous = signal.getsignal(signal.SIGHUP)

        def on_hup(signum: int, frame: Any) -> None:
            self._hup = True  # only a flag: the next decide() reloads, outside the handler
            if callable(previous):
                previous(signum, frame)

        signal.signal(signal.SIGHUP, on_hup)
        return True

    def close(self) -> None:
        """Free the engine in force; decide() raises EngineClosed afterwards."""
        self._closed = True
        self._engine.close()
