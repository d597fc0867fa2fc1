"""/metrics after real requests: latency by route and method, database errors by kind."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from core.config import Settings
from core.errors import DatabaseUnavailable
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database
from ledger.dberrors import kind_of as _kind
from stopline.wiring import Services
from tests.web.helpers import CONTACT, bearer, post_sms, sms
from web import create_app
from web.metrics import DATABASE_ERROR_KINDS, LATENCY_BUCKETS, use_process_files
from web.request_metrics import database_error_kind

LATENCY = "stopline_http_request_duration_seconds"
ERRORS = "stopline_database_errors_total"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(params=["per_app", "shared"])
def metrics_mode(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Counters on the app's registry (one process) or in files (`stopline serve`)."""
    if request.param == "shared":
        directory = tmp_path / "metrics"
        directory.mkdir()
        use_process_files(directory)
    try:
        yield request.param
    finally:
        if request.param == "shared":
            use_process_files(None)


def scrape(client: FlaskClient) -> Samples:
    """Every sample of /metrics, by name and labels (without a worker's pid)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    found: Samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "pid"))
            found[(sample.name, labels)] = found.get((sample.name, labels), 0.0) + sample.value
    return found


def latency(samples: Samples, endpoint: str, method: str, part: str = "count") -> float:
    return samples.get((f"{LATENCY}_{part}", (("endpoint", endpoint), ("method", method))), 0.0)


def errors(samples: Samples, kind: str) -> float:
    return samples[(ERRORS, (("kind", kind),))]


def test_latency_is_observed_per_route_and_method(
    metrics_mode: str, settings: Settings, services: Services
) -> None:
    client = create_app(settings, services).test_client()
    post_sms(client, sms("STOP"))
    for phone in (CONTACT, "+14155550100", "(206) 555-0100"):
        assert client.get(f"/v1/consent/{phone}", headers=bearer()).status_code == 200
    for path in ("/nowhere", "/wp-login.php", "/a/b/c"):
        assert client.get(path).status_code == 404
    assert client.open("/healthz", method="BREW").status_code == 405
    exported = client.get("/v1/optouts", headers=bearer())  # a streamed CSV
    assert exported.status_code == 200
    exported.close()  # as a WSGI server does once the last byte is sent
    samples = scrape(client)
    assert latency(samples, "/webhooks/twilio", "POST") == 1
    assert latency(samples, "/v1/consent/<phone>", "GET") == 3  # the route, not each number
    assert latency(samples, "unmatched", "GET") == 3  # every unknown path shares one label
    assert latency(samples, "unmatched", "other") == 1  # a 405: and every unknown method
    assert latency(samples, "/v1/optouts", "GET") == 1
    hook_sum = latency(samples, "/webhooks/twilio", "POST", "sum")
    assert 0 < hook_sum < 30
    buckets = {
        labels: value for (name, labels), value in samples.items() if name == f"{LATENCY}_bucket"
    }
    hook = [v for labels, v in buckets.items() if ("endpoint", "/webhooks/twilio") in labels]
    assert len(hook) == len(LATENCY_BUCKETS) + 1 and max(hook) == 1  # ... and +Inf
    endpoints = {dict(labels)["endpoint"] for labels in buckets}
    assert not any("+1" in e or "wp-login" in e for e in endpoints)


def test_requests_are_counted_with_the_same_bounded_labels(
    settings: Settings, services: Services
) -> None:
    client = create_app(settings, services).test_client()
    for method in ("BREW", "PROPFIND", "X" * 300):
        client.open("/nowhere", method=method)
    samples = scrape(client)
    counted = [dict(labels) for (name, labels) in samples if name == "stopline_http_requests_total"]
    assert {"endpoint": "unmatched", "method": "other", "status": "404"} in counted
    assert all(entry["method"] in {"GET", "other"} for entry in counted)


def test_a_streamed_export_is_timed_until_its_end(settings: Settings, services: Services) -> None:
    client = create_app(settings, services).test_client()
    response = client.get("/v1/optouts", headers=bearer(), buffered=False)
    assert latency(scrape(client), "/v1/optouts", "GET") == 0  # still streaming
    time.sleep(0.05)
    response.get_data()
    response.close()
    samples = scrape(client)
    assert latency(samples, "/v1/optouts", "GET") == 1
    assert latency(samples, "/v1/optouts", "GET", "sum") >= 0.05


def _unreachable(settings: Settings, services: Services, tmp_path: Path) -> Services:
    database = Database(f"sqlite:///{tmp_path / 'missing' / 'ledger.db'}")
    consent = ConsentService(SqlLedger(database), services.rules, region=settings.default_region)
    return Services(settings=settings, database=database, rules=services.rules, consent=consent)


def test_database_errors_are_counted_by_kind(
    metrics_mode: str, settings: Settings, services: Services, tmp_path: Path
) -> None:
    client = create_app(settings, _unreachable(settings, services, tmp_path)).test_client()
    before = scrape(client)
    assert {kind: errors(before, kind) for kind in DATABASE_ERROR_KINDS} == dict.fromkeys(
        DATABASE_ERROR_KINDS, 0.0
    )  # every kind is there from the start, so rate() works at once
    assert post_sms(client, sms("STOP")).status_code == 503
    assert client.get(f"/v1/consent/{CONTACT}", headers=bearer()).status_code == 503
    assert client.get("/healthz").status_code == 503  # a health probe is not a failed request
    assert client.get(f"/v1/consent/{CONTACT}x", headers=bearer()).status_code == 400
    after = scrape(client)
    assert errors(after, "unavailable") == 2
    assert sum(errors(after, kind) for kind in DATABASE_ERROR_KINDS) == 2
    assert latency(after, "/webhooks/twilio", "POST") == 1  # failed requests are timed too


def test_a_contact_locked_too_long_counts_as_busy_or_timeout(
    settings: Settings, database_url: str, services: Services, databases: Callable[..., Database]
) -> None:
    database = databases(database_url, busy_timeout_ms=500)
    consent = ConsentService(SqlLedger(database), services.rules, region=settings.default_region)
    slow = Services(settings=settings, database=database, rules=services.rules, consent=consent)
    client = create_app(settings, slow).test_client()
    assert post_sms(client, sms("HELP")).status_code == 200  # the contact's row exists
    other = create_engine(database_url)
    try:
        with other.connect() as holder:
            if database.dialect == "sqlite":
                holder.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                holder.execute(
                    text("SELECT phone FROM contacts WHERE phone = :p FOR UPDATE"), {"p": CONTACT}
                )
            assert post_sms(client, sms("STOP")).status_code == 503
            holder.rollback()
    finally:
        other.dispose()
        database.dispose()
    samples = scrape(client)
    expected = "busy" if database.dialect == "sqlite" else "timeout"
    assert errors(samples, expected) == 1, samples
    assert errors(samples, "unavailable") == 0


def test_an_unexpected_database_error_is_counted(settings: Settings, services: Services) -> None:
    app = create_app(settings, services)

    @app.get("/clash")
    def clash() -> str:
        raise IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed"))

    client = app.test_client()
    assert client.get("/clash").status_code == 503  # a failure of ours: the carrier retries
    assert errors(scrape(client), "integrity") == 1


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (DatabaseUnavailable("x", kind="busy"), "busy"),
        (DatabaseUnavailable("x", kind="nonsense"), "unavailable"),
        (DatabaseUnavailable("x"), "unavailable"),
        (IntegrityError("s", {}, Exception("dup")), "integrity"),
        (OperationalError("s", {}, Exception("no such table: consent")), "other"),
        (psycopg.errors.DataError("bad"), "other"),
        (ValueError("not the database"), None),
    ],
)
def test_database_error_kind(exc: BaseException, kind: str | None) -> None:
    assert database_error_kind(exc) == kind


@pytest.mark.parametrize(
    ("driver_error", "kind"),
    [
        (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), "timeout"),
        (psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"), "timeout"),
        (psycopg.OperationalError("connection refused"), "unavailable"),
        (Exception("database is locked"), "busy"),
        (Exception("unable to open database file"), "unavailable"),
    ],
)
def test_the_core_says_how_the_ledger_was_unavailable(driver_error: Exception, kind: str) -> None:
    assert _kind(OperationalError("SELECT 1", {}, driver_error)) == kind
