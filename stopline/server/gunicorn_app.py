"""gunicorn for `stopline serve`: a master that follows rules.yml; metrics shared by workers."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from stopline.server.gthread_worker import HeadReadingWorker
from stopline.server.portcheck import address
from stopline.wiring import start_outbox
from web.metrics import process_gone, use_process_files

if TYPE_CHECKING:
    from flask import Flask

    from core.config import Settings
    from rules import RulesHolder
    from stopline.wiring import Services


class RulesFollowingArbiter(Arbiter):
    """A master that checks rules.yml in its own loop, so every new worker has the newest rules.

    Workers reload their own copy of the rules; without this the master kept the rules it
    started with, and a worker replaced while the file was broken went back to them.
    """

    def __init__(self, app: BaseApplication, rules: RulesHolder) -> None:
        self.rules = rules
        self.rules_due = 0.0
        super().__init__(app)

    def manage_workers(self) -> None:
        """Follow the rules file, then spawn or stop workers (about once a second)."""
        self.follow_rules()
        super().manage_workers()

    def follow_rules(self, force: bool = False) -> None:
        """Check the rules file when the reload interval has passed (or now, when forced)."""
        now = time.monotonic()
        if now < self.rules_due and not force:
            return
        self.rules_due = now + self.rules.interval
        # The master's one thread is the one that forks, and check_now releases the holder's
        # lock before it returns, so no worker is forked while a rules lock is held.
        try:
            changed = self.rules.check_now(wait=False)
        except Exception:  # the master must outlive anything the rules file does
            self.log.exception("master: checking the rules file failed; keeping the rules")
            return
        if changed:
            self.log.info("master: new workers start with rules version %s", self.rules.version)


class StoplineServer(BaseApplication):
    """gunicorn running the app built (preloaded) in this process."""

    def __init__(self, app: Flask, services: Services, options: dict[str, Any]) -> None:
        self.flask_app, self.services, self.options = app, services, options
        super().__init__()

    def load_config(self) -> None:
        """Apply our options (older gunicorns lack some settings)."""
        for key, value in self.options.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        """The app, already built."""
        return self.flask_app

    def run(self) -> None:
        """Run the master until it is stopped (BaseApplication.run with our arbiter)."""
        try:
            RulesFollowingArbiter(self, self.services.rules).run()
        except RuntimeError as error:
            print(f"\nError: {error}\n", file=sys.stderr)
            sys.exit(1)


@contextmanager
def shared_metrics() -> Iterator[Path]:
    """A fresh directory for every process's metric files while serving, removed at exit."""
    owner = os.getpid()
    directory = Path(tempfile.mkdtemp(prefix="stopline-metrics-"))
    use_process_files(directory)
    try:
        yield directory
    finally:
        # A worker leaves gunicorn by SystemExit through this frame too: only the master cleans.
        if os.getpid() == owner:
            use_process_files(None)
            shutil.rmtree(directory, ignore_errors=True)


def serve_gunicorn(settings: Settings, services: Services, app: Flask) -> None:
    """Run gunicorn in this process; workers are forked from the app loaded here (preload)."""

    def pre_fork(server: object, worker: object) -> None:
        # A SIGHUP forks new workers before the main loop's next check: look at the file now
        # (and say so when it changed, like the main loop's check does).
        if isinstance(server, RulesFollowingArbiter):
            server.follow_rules(force=True)

    def post_fork(server: object, worker: object) -> None:
        # Pooled connections must never cross a fork; close=False leaves the parent's alone.
        services.database.engine.dispose(close=False)
        # Threads do not cross a fork either: this worker's own rules watcher starts here,
        # and its outbox worker (replies queued before a restart are sent by it).
        services.rules.start_watching()
        start_outbox(app)

    def child_exit(server: object, worker: Any) -> None:
        process_gone(worker.pid)

    StoplineServer(
        app,
        services,
        {
            "bind": address(settings.host, settings.port),  # [::1]:8000 for IPv6
            "workers": settings.workers,
            # Threads: a send check of a million numbers must not hold up Twilio's hook,
            # and a long request does not stop a gthread worker's heartbeat. Request heads
            # are read by the worker's event loop, so clients that send half a head hold no
            # thread; they get a 408 after the header timeout.
            "worker_class": HeadReadingWorker.with_header_timeout(settings.header_timeout_seconds),
            "threads": 4,
            # Loaded once, before the fork: a worker that restarts (timeout, crash) while
            # rules.yml is broken still has good rules (the master's, which follow the file),
            # instead of failing to boot and taking the whole server down with it.
            "preload_app": True,
            "pre_fork": pre_fork,
            "post_fork": post_fork,
            "child_exit": child_exit,
            "loglevel": settings.log_level.lower(),
            "accesslog": "-",
            "errorlog": "-",
            # Twilio gives up after 15 s; a worker stuck longer than that is restarted.
            "timeout": 30,
            "graceful_timeout": 10,
            # gunicorn 23+ opens a control socket at one fixed path per user; two servers
            # (a dev server and the tests') would fight over it.
            "control_socket_disable": True,
        },
    ).run()
