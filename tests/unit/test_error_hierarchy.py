"""Every package's errors sit under StoplineError and carry their data as attributes."""

from __future__ import annotations

import pytest

from bot.errors import UploadFailed, UsageError
from core.errors import (
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    InvalidPhoneNumber,
    NotFound,
    ServiceFailure,
    StoplineError,
)
from ledger.errors import GateTimeout, GateUnavailable
from rules.errors import EngineClosed, RulesEngineError, RulesError, RulesProblem
from stopline.errors import NotMigrated


def test_conflict_names_who_decided_first() -> None:
    conflict = Conflict(7, "slack:T1:U2")
    assert (conflict.review_id, conflict.decided_by) == (7, "slack:T1:U2")
    assert conflict.message == "review item 7 was already decided by slack:T1:U2"


def test_a_conflict_without_a_decider_says_someone() -> None:
    assert Conflict(7, None).message == "review item 7 was already decided by someone"


def test_not_found_says_what_was_not_found() -> None:
    missing = NotFound("there is no review item 3", what="review item", key=3)
    assert (missing.what, missing.key, missing.message) == (
        "review item",
        3,
        "there is no review item 3",
    )


def test_the_data_of_each_error_is_an_attribute() -> None:
    phone = InvalidPhoneNumber("12", "too short")
    assert (phone.raw, phone.reason) == ("12", "too short")
    assert DatabaseUnavailable("down", kind="busy").kind == "busy"
    problem = RulesProblem("rules.yml", 3, "keywords", "not a list")
    rules = RulesError("rules.yml", [problem])
    assert (rules.file, rules.problems) == ("rules.yml", [problem])
    assert GateTimeout("slow", timeout_s=2.0).timeout_s == 2.0
    assert GateUnavailable("no file", path="/x-writelock").path == "/x-writelock"
    assert UploadFailed("HTTP 500", status=500).status == 500
    assert NotMigrated("old", current="a1", head="b2").head == "b2"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (EngineClosed("these rules were replaced"), ServiceFailure),
        (RulesEngineError("no rule matched"), ServiceFailure),
        (GateTimeout("slow"), ServiceFailure),
        (GateUnavailable("no file"), ServiceFailure),
        (UploadFailed("HTTP 500"), ServiceFailure),
        (NotMigrated("old"), ServiceFailure),
        (UsageError("the command needs a phone number"), InvalidInput),
    ],
)
def test_every_package_error_is_a_stopline_error(error: StoplineError, kind: type) -> None:
    assert isinstance(error, StoplineError)
    assert isinstance(error, kind)
    assert error.message == str(error)


def test_engine_closed_is_still_a_runtime_error() -> None:
    assert isinstance(EngineClosed("replaced"), RuntimeError)
