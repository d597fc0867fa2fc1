"""RulesHolder: the rules in force, reloaded off the request path; anything that goes wrong
while loading keeps the last good rules (and says so on /healthz and in the log)."""

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

from core.model import Decision, DecisionRequest, Scope, Transition
from core.ports import TextMatch
from rules.compile import CompiledRules, load_rules
from rules.engine import PythonEngine, RulesEngine
from rules.errors import EngineClosed, RulesError, RulesProblem
from rules.factory import build_engine, evaluator, evaluator_detail
from rules.facts import MatchedText
from rules.loader import describe
from rules.trial import try_text
from rules.watch import Watcher

log = logging.getLogger(__name__)
Stamp = tuple[int, int, int] | None
Loader = Callable[[Path], CompiledRules]
Builder = Callable[[CompiledRules, str, RulesEngine | None], RulesEngine]


def _builder(compiled: CompiledRules, backend: str, previous: RulesEngine | None) -> RulesEngine:
    return build_engine(compiled, backend, previous)


def prove(engine: RulesEngine) -> None:
    """Decide a STOP with new rules before they go in force; raise if it is not an opt-out."""
    decision = try_text(engine, "STOP", sender="+12065550199")
    if decision.transition is not Transition.OPT_OUT:
        raise RulesError(
            engine.compiled.file,
            [RulesProblem(engine.compiled.file, None, "", f"STOP was decided as "
                          f"{decision.transition.value}, not an opt-out; rules not used")],
        )  # fmt: skip


def _failure(path: Path, exc: BaseException) -> RulesError:
    if isinstance(exc, RulesError):
        return exc
    log.error("rules from %s could not be used", path, exc_info=exc)
    problem = RulesProblem(str(path), None, "", f"could not be used ({describe(exc)})")
    return RulesError(str(path), [problem])


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
        *,
        loader: Loader = load_rules,
        builder: Builder = _builder,
    ) -> None:
        self.path = Path(path)
        self.interval = interval
        self._backend = backend
        self._clock = clock
        self._load, self._build = loader, builder
        self._lock = threading.Lock()
        self._stamp = _stamp(self.path)
        try:  # no rules yet to fall back on: whatever fails is a RulesError for start-up
            compiled = self._load(self.path)
            self._engine: RulesEngine = self._build(compiled, backend, None)
            prove(self._engine)
        except Exception as exc:
            raise _failure(self.path, exc) from exc
        self._next_check = clock() + interval
        self._hup = False
        self._closed = False
        self.last_error: str | None = None
        self.reloads = 0
        self.failures = 0
        self.loaded_at = datetime.now(UTC)
        # Polls often enough for SIGHUP and the interval; a poll that is not due costs nothing.
        self._watcher = Watcher(self, tick=min(max(interval, 0.05), 0.5))

    @property
    def version(self) -> str:
        """The sha256 of the rules in force."""
        return self._engine.version

    @property
    def backend(self) -> str:
        """ "durable" or "python"."""
        return self._engine.backend

    def log_evaluator(self) -> None:
        """Say in the log which evaluator decides, and why durable-rules cannot load if not."""
        detail = evaluator_detail()
        if self.backend == "python" and self._backend == "auto" and detail:
            log.warning("rules evaluator: %s; deciding with the Python evaluator of the same "
                        "compiled rules (%s)", self.evaluator, detail)  # fmt: skip
        else:
            log.info("rules evaluator: %s", self.evaluator)

    @property
    def evaluator(self) -> str:
        """The evaluator in force, as operators read it: "durable-rules 2.0.28" or "python (…)"."""
        return evaluator(self._backend)

    @property
    def compiled(self) -> CompiledRules:
        """The compiled rules in force."""
        return self._engine.compiled

    @property
    def engine(self) -> RulesEngine:
        """The engine in force."""
        return self._engine

    def carrier_scope(self, carrier: str) -> Scope:
        """What an opt-out this carrier reports covers (rules.yml's carrier_scope; sender)."""
        return self._engine.carrier_scope(carrier)

    def match(self, text: str) -> MatchedText:
        """Match a text with the rules in force (no stored state needed, no lock taken)."""
        return self._engine.match(text)

    def decide(self, request: DecisionRequest, matched: TextMatch | None = None) -> Decision:
        """Decide with the rules in force; never loads (the watcher thread does, aside)."""
        self._watcher.ensure()
        while True:
            engine = self._engine
            try:
                return engine.decide(request, matched)
            except EngineClosed:
                if self._closed:
                    raise
                continue  # swapped by a reload between the read and the call: use the new one

    def start_watching(self) -> None:
        """Start this process's watcher thread now (it also starts on the first decision)."""
        self._watcher.ensure()

    def refresh(self, timeout: float) -> bool:
        """Have the watcher look at the file now; wait at most `timeout` s (True: looked)."""
        return self._watcher.refresh(timeout)

    def due(self) -> bool:
        """Whether the file should be looked at (interval passed, or SIGHUP)."""
        return self._hup or self._clock() >= self._next_check

    def after_fork(self) -> None:
        """A fresh reload lock in a forked child (the parent's holder of it did not come along)."""
        self._lock = threading.Lock()

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
        new: RulesEngine | None = None
        try:
            compiled = self._load(self.path)
            if compiled.version == self._engine.version:
                self.last_error = None
                return False
            prove(PythonEngine(compiled))  # the text matching and the rule table, aside
            new = self._build(compiled, self._backend, self._engine)  # built aside
            if not getattr(new, "reused", False):
                prove(new)  # a fresh engine; a reused one runs the same table as before
        except Exception as exc:  # anything at all: the last good rules stay in force
            if new is not None and new is not self._engine:
                _close_quietly(new)
            error = _failure(self.path, exc)
            # The text first, the counter last: whoever sees the count (/healthz, a test
            # waiting for it) also sees why.
            self.last_error = str(error)
            self.failures += 1
            log.error(
                "rules not reloaded, keeping version %s in force:\n%s",
                self._engine.version[:12],
                error,
            )
            return False
        old, self._engine = self._engine, new
        _close_quietly(old)
        self.last_error = None
        self.loaded_at = datetime.now(UTC)
        self.reloads += 1
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
            self._hup = True  # a flag and a wake-up: the watcher thread reloads
            self._watcher.poke()
            if callable(previous):
                previous(signum, frame)

        signal.signal(signal.SIGHUP, on_hup)
        return True

    def close(self) -> None:
        """Free the engine in force; decide() raises EngineClosed afterwards."""
        self._closed = True
        self._watcher.stop()
        self._engine.close()


def _close_quietly(engine: RulesEngine) -> None:
    try:
        engine.close()
    except Exception:  # freeing replaced rules must not undo the swap
        log.exception("closing replaced rules failed")
