"""Every StoplineError in the project has a row in core.errors.ANSWERS, the one table."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

from core.errors import ANSWERS, Conflict, InvalidPhoneNumber, StoplineError, answer_for

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "ledger", "rules", "web", "bot", "stopline")


def _subclasses(kind: type) -> Iterator[type]:
    for sub in kind.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_error_class_has_its_own_row() -> None:
    for package in PACKAGES:
        importlib.import_module(package)
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)
    found = [k for k in _subclasses(StoplineError) if k.__module__.split(".")[0] in PACKAGES]
    assert len(found) >= 15
    missing = sorted(f"{k.__module__}.{k.__name__}" for k in found if k.code not in ANSWERS)
    assert not missing


def test_the_rows_keep_todays_answers() -> None:
    assert (answer_for(InvalidPhoneNumber("1", "short")).exit_code, ANSWERS["conflict"]) == (
        2,
        answer_for(Conflict(1, None)),
    )
    assert answer_for(Conflict(1, None)).http_status == 409
    assert ANSWERS["database_unavailable"].slack == "ledger_down"
