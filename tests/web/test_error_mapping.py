"""Only the client's mistakes are 4xx; every failure of stopline's own is 503 with Retry-After.

Carriers do not retry a 4xx and retry a 5xx, so each kind of failure of ours is driven through
a real signed request to the hook (and the API): a Decider that fails the way the rules engine
can, and a ledger that is really broken (a file that is no database, a dropped table, a lock
held by another process).
"""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, request
from flask.testing import FlaskClient
from sqlalchemy.exc import ProgrammingError
from werkzeug.test import TestResponse

from core.config import Settings
from core.errors import DatabaseUnavailable, StoplineError
from core.model import Decision, DecisionRequest
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.errors import GateTimeout, GateUnavailable
from rules.errors import EngineClosed, RulesEngineError, RulesError, RulesProblem
from stopline.wiring import Services, build_services
from tests.rawsqlite import raw_sqlite
from tests.web.helpers import bearer, post_sms, sms
from web import create_app
from web.errors import STATUS

ROOT = Path(__file__).resolve().parents[2]


class FailingDecider:
    """A Decider that raises what it is given, the way a broken engine or reload would."""

    version = "failing-v1"

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def decide(self, request: DecisionRequest) -> Decision:
        raise self.error


class Unmapped(StoplineError):
    """A domain error of no known kind, as a future module might add by mistake."""


OURS = [
    RulesEngineError("durable-rules failed: action broke"),
    RulesEngineError("no rule matched (the catch-all rule is missing)"),
    EngineClosed("these rules were replaced"),
    RulesError("rules.yml", [RulesProblem("rules.yml", 3, "keywords", "not a list")]),
    DatabaseUnavailable("the consent ledger is unavailable; nothing was stored, try again"),
    GateTimeout("the write lock stayed taken"),
    GateUnavailable("no lock file"),
    sqlite3.DatabaseError("database disk image is malformed"),
    ProgrammingError("SELECT", {}, Exception("boom")),
    RuntimeError("a bug"),
    KeyError("transition"),
    Unmapped("nobody mapped this"),
]


Failing = Callable[[BaseException], FlaskClient]


@pytest.fixture
def failing(settings: Settings, services: Services) -> Failing:
    """create_app over the real ledger with a Decider raising a given error."""

    def make(error: BaseException) -> FlaskClient:
        consent = ConsentService(SqlLedger(services.database), FailingDecider(error))
        return create_app(settings, replace(services, consent=consent)).test_client()

    return make


def _assert_retry(response: TestResponse) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"].isdigit()
    body = response.get_json()
    assert set(body) == {"error", "detail"}
    assert "Traceback" not in body["detail"]


@pytest.mark.parametrize("error", OURS, ids=lambda e: type(e).__name__)
def test_a_failure_of_ours_on_the_hook_is_503(failing: Failing, error: BaseException) -> None:
    _assert_retry(post_sms(failing(error), sms("STOP")))


@pytest.mark.parametrize("error", OURS, ids=lambda e: type(e).__name__)
def test_a_failure_of_ours_on_the_api_is_503(failing: Failing, error: BaseException) -> None:
    client = failing(error)
    _assert_retry(client.post("/v1/optouts", json={"phone": "+12065550123"}, headers=bearer()))
    _assert_retry(client.delete("/v1/optouts/+12065550123", headers=bearer()))


def _sqlite_path(settings: Settings) -> Path:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("breaks a SQLite file")
    return Path(settings.database_url.removeprefix("sqlite:///"))


def test_a_ledger_file_that_is_no_database_is_503(settings: Settings) -> None:
    path = _sqlite_path(settings)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(b"this is not a database file, it was overwritten\n" * 200)
    services = build_services(settings)
    try:
        client = create_app(settings, services).test_client()
        _assert_retry(post_sms(client, sms("STOP")))
        _assert_retry(client.get("/v1/consent/+12065550123", headers=bearer()))
    finally:
        services.close()


def test_a_dropped_table_is_503(settings: Settings, services: Services, client: FlaskClient
                                ) -> None:  # fmt: skip
    path = _sqlite_path(settings)
    with raw_sqlite(path) as conn:
        conn.execute("DROP TABLE inbound_messages")
    _assert_retry(post_sms(client, sms("STOP")))


def test_a_ledger_locked_by_another_process_is_503(settings: Settings) -> None:
    path = _sqlite_path(settings)
    quick = settings.model_copy(update={"db_busy_timeout_ms": 200})
    services = build_services(quick)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        client = create_app(quick, services).test_client()
        holder.execute("BEGIN EXCLUSIVE")  # another program (a backup, a sqlite3 shell) writing
        _assert_retry(post_sms(client, sms("STOP")))
    finally:
        holder.close()
        services.close()


@pytest.mark.parametrize(
    ("request_args", "status"),
    [
        ({"json": {"phone": "not a phone"}}, 400),
        ({"json": {"phone": "+12065550123", "reason": "x" * 5000}}, 400),
        ({"json": {"phone": "+12065550123", "snder": "+12065550100"}}, 400),
        ({"data": b"{not json"}, 400),
    ],
)
def test_the_clients_own_mistakes_stay_4xx(
    client: FlaskClient, request_args: dict[str, Any], status: int
) -> None:
    response = client.post("/v1/optouts", headers=bearer(), **request_args)
    assert response.status_code == status
    assert "Retry-After" not in response.headers


def test_not_found_and_conflict_stay_4xx(client: FlaskClient) -> None:
    response = client.post("/v1/reviews/999/decision", json={"opt_out": True}, headers=bearer())
    assert response.status_code == 404


def _every_module() -> Iterator[str]:
    for package in ("core", "rules", "web", "bot", "stopline"):
        yield package
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if not info.name.endswith("__main__"):
                yield info.name


def _subclasses(kind: type) -> Iterator[type]:
    for sub in kind.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_domain_error_in_the_code_is_mapped_on_purpose() -> None:
    for name in _every_module():
        importlib.import_module(name)
    found = {
        kind for kind in _subclasses(StoplineError)
        if kind.__module__.split(".")[0] in {"core", "rules", "web", "bot", "stopline"}
    }  # fmt: skip
    assert len(found) >= 10  # the walk really reached the modules that define them
    unmapped = sorted(
        f"{kind.__module__}.{kind.__name__}"
        for kind in found
        if not any(issubclass(kind, mapped) for mapped, _ in STATUS)
    )
    assert not unmapped, (
        f"{unmapped}: subclass one of web.errors.STATUS's kinds (a client's mistake, or "
        "core.errors.ServiceFailure for a failure of ours) so its status is chosen on purpose"
    )


def test_a_failure_after_the_view_is_503_too(app: Flask) -> None:
    # Flask hands an error raised outside the view (an after_request hook) to the handlers as
    # InternalServerError: still ours, still retried.
    @app.after_request
    def broken(response: Response) -> Response:
        if request.path == "/healthz" and not response.status_code >= 500:
            raise RuntimeError("a hook broke")
        return response

    response = app.test_client().get("/healthz")
    _assert_retry(response)
