"""Hot reload: a changed file is loaded, a broken one keeps the last good rules in force."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core.model import Transition
from rules import RulesHolder, build_engine, load_rules
from rules.errors import EngineClosed, RulesError
from tests.unit.test_rules_support import SHIPPED, edited, message, shipped_text, write


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rewrite(path: Path, text: str) -> None:
    # a new inode, as editors and deploys do, so the (mtime, size, inode) stamp always moves
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def settle(condition: Callable[[], bool], what: str) -> None:
    """Wait (10 s at most) for the watcher thread to get there; the test asserts no time."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"the watcher never got to: {what}"
        time.sleep(0.01)


GOOD_2 = ('words: [AYUDA]', 'words: [AYUDA, SOCORRO]')
BROKEN = ('words: [START, UNSTOP, "YES"', 'words: [START, UNSTOP, YES')


def test_good_broken_fixed(tmp_path: Path, evaluator: str) -> None:
    backend = evaluator
    clock = Clock()
    path = write(tmp_path, shipped_text())
    holder = RulesHolder(path, interval=2.0, backend=backend, clock=clock)
    v1 = holder.version
    assert holder.backend == backend
    assert holder.decide(message("SOCORRO")).transition is Transition.NONE

    rewrite(path, edited(*GOOD_2))
    assert holder.decide(message("SOCORRO")).transition is Transition.NONE  # not yet due
    holder.refresh(0.0)  # a check of the file asked for and not awaited...
    clock.now += 2.0  # ...and the interval passed: the watcher thread reloads, aside
    settle(lambda: holder.reloads == 1, "the good edit loaded")
    assert holder.decide(message("SOCORRO")).transition is Transition.HELP
    v2 = holder.version
    assert v2 != v1 and holder.reloads == 1 and holder.last_error is None

    rewrite(path, edited(*BROKEN))
    clock.now += 2.0
    settle(lambda: holder.failures == 1, "the broken edit refused")
    decision = holder.decide(message("SOCORRO"))
    assert decision.transition is Transition.HELP and decision.rules_version == v2  # last good
    assert holder.failures == 1 and holder.last_error and '"YES"' in holder.last_error
    clock.now += 2.0
    assert holder.refresh(10) is True  # the watcher looked at the file once more
    holder.decide(message("STOP"))
    assert holder.failures == 1  # the same broken file is reported once, not every interval

    rewrite(path, shipped_text())
    assert holder.check_now() is True
    assert holder.version == v1 and holder.last_error is None and holder.reloads == 2
    holder.close()


def test_a_closed_holder_refuses(tmp_path: Path, evaluator: str) -> None:
    holder = RulesHolder(write(tmp_path, shipped_text()), backend=evaluator)
    holder.close()
    with pytest.raises(EngineClosed):
        holder.decide(message("STOP"))


def test_broken_file_at_start_up_raises(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as info:
        RulesHolder(write(tmp_path, edited(*BROKEN)))
    assert "keywords.start_en.words[2]" in str(info.value)


def test_unchanged_or_touched_file_is_not_reloaded(tmp_path: Path) -> None:
    path = write(tmp_path, shipped_text())
    holder = RulesHolder(path, interval=0)
    assert holder.check_now() is False
    rewrite(path, shipped_text())  # same bytes, new stamp
    assert holder.check_now() is False
    assert holder.reloads == 0 and holder.failures == 0


def test_a_deleted_file_keeps_the_rules_in_force(tmp_path: Path) -> None:
    path = write(tmp_path, shipped_text())
    holder = RulesHolder(path, interval=0)
    version = holder.version
    path.unlink()
    assert holder.refresh(10) is True
    assert holder.decide(message("STOP")).rules_version == version
    assert holder.failures == 1 and "cannot read" in (holder.last_error or "")


def test_sighup_triggers_a_check(tmp_path: Path) -> None:
    path = write(tmp_path, shipped_text())
    holder = RulesHolder(path, interval=3600)
    previous = signal.getsignal(signal.SIGHUP)
    try:
        assert holder.install_sighup() is True
        rewrite(path, edited(*GOOD_2))
        assert holder.decide(message("SOCORRO")).transition is Transition.NONE
        os.kill(os.getpid(), signal.SIGHUP)
        settle(lambda: holder.reloads == 1, "the reload on SIGHUP")  # interval is an hour
        assert holder.decide(message("SOCORRO")).transition is Transition.HELP
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_install_sighup_outside_the_main_thread_does_nothing(tmp_path: Path) -> None:
    holder = RulesHolder(write(tmp_path, shipped_text()))
    result: list[bool] = []
    worker = threading.Thread(target=lambda: result.append(holder.install_sighup()))
    worker.start()
    worker.join()
    assert result == [False]


def test_decisions_stay_right_while_the_file_changes(tmp_path: Path, evaluator: str) -> None:
    backend = evaluator
    path = write(tmp_path, shipped_text())
    holder = RulesHolder(path, interval=3600, backend=backend)  # this test reloads by hand
    versions = {load_rules(path).version}
    texts = [shipped_text(), edited(*GOOD_2), edited(*BROKEN)]
    errors: list[str] = []
    stop = threading.Event()

    def decide() -> None:
        while not stop.is_set():
            try:
                decision = holder.decide(message("STOP"))
                if decision.transition is not Transition.OPT_OUT:
                    errors.append(str(decision))
            except Exception as exc:  # any error at all fails the test
                errors.append(repr(exc))
            time.sleep(0.0002)  # leave the reloading thread some of the GIL

    workers = [threading.Thread(target=decide) for _ in range(4)]
    for w in workers:
        w.start()
    for i in range(30):
        rewrite(path, texts[i % 3])
        if i % 3 != 2:
            versions.add(load_rules(path).version)
        holder.check_now()
    stop.set()
    for w in workers:
        w.join()
    assert errors == []
    assert holder.version in versions
    assert (holder.reloads, holder.failures) == (19, 10)  # the first write changed nothing
    holder.close()


def test_a_closed_engine_refuses_on_either_evaluator(evaluator: str) -> None:
    # The holder retries a decision on EngineClosed with the engine a reload put in force.
    engine = build_engine(load_rules(SHIPPED), evaluator)
    engine.close()
    with pytest.raises(EngineClosed):
        engine.decide(message("STOP"))
