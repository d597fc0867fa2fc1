"""Health, metrics, OpenAPI, and how the app answers what it does not expect."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from core.config import Settings
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database
from stopline.wiring import Services, build_services
from tests.web.helpers import CONTACT, bearer, messages, post_sms, sms
from web import create_app
from web.metrics import use_process_files


def test_healthz_reports_database_rules_and_configuration(
    client: FlaskClient, services: Services
) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["rules"]["version"] == services.rules.version
    assert body["rules"]["last_error"] is None
    assert body["twilio"] is True and body["api"] is True and body["slack"] == "off"
    carriers = body["carriers"]
    assert list(carriers) == ["twilio", "telnyx", "plivo", "bandwidth", "vonage", "sinch"]
    assert carriers["twilio"] == {"configured": True, "missing": [], "replies": "stopline",
                                  "summary": "on; replies by stopline"}  # fmt: skip
    assert carriers["telnyx"]["configured"] is False
    assert carriers["telnyx"]["missing"] == ["TELNYX_PUBLIC_KEY"]
    assert carriers["bandwidth"]["summary"] == (
        "off: set BANDWIDTH_CALLBACK_USERNAME and BANDWIDTH_CALLBACK_PASSWORD"
    )


def _broken_services(settings: Settings, services: Services, tmp_path: Path) -> Services:
    # A real ledger that cannot be opened: the directory does not exist.
    database = Database(f"sqlite:///{tmp_path / 'missing' / 'ledger.db'}")
    consent = ConsentService(SqlLedger(database), services.rules, region=settings.default_region)
    return Services(settings=settings, database=database, rules=services.rules, consent=consent)


def test_healthz_is_503_when_the_database_is_down(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    broken = _broken_services(settings, services, tmp_path)
    response = create_app(settings, broken).test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "degraded" and body["database"] != "ok"


def test_hook_answers_503_when_the_database_is_down(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    # Never 200 for an opt-out that was not stored: Twilio must retry.
    broken = _broken_services(settings, services, tmp_path)
    client = create_app(settings, broken).test_client()
    response = post_sms(client, sms("STOP"))
    assert response.status_code == 503
    assert response.get_json()["error"] == "database_unavailable"
    assert client.get(f"/v1/consent/{CONTACT}", headers=bearer()).status_code == 503


@pytest.fixture(params=["per_app", "shared"])
def metrics_mode(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Counters on the app's registry (tests, one process) or in files (`stopline serve`)."""
    if request.param == "per_app":
        yield request.param
        return
    directory = tmp_path / "metrics"
    directory.mkdir()
    use_process_files(directory)
    try:
        yield request.param
    finally:
        use_process_files(None)


def _families(text: str) -> dict[str, Metric]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_metrics_count_requests_decisions_and_rules(
    metrics_mode: str, settings: Settings, services: Services
) -> None:
    client = create_app(settings, services).test_client()
    post_sms(client, sms("STOP"))
    client.get("/nowhere")
    text = client.get("/metrics").get_data(as_text=True)
    assert (
        'stopline_http_requests_total{endpoint="/webhooks/twilio",method="POST",status="200"} 1.0'
        in text
    )
    assert 'stopline_http_requests_total{endpoint="unmatched",method="GET",status="404"}' in text
    assert 'stopline_decisions_total{source="contact",transition="opt_out"} 1.0' in text
    # The same names and types whether one process or many answer.
    families = _families(text)
    assert {name: families[name].type for name in families if "rules" in name} == {
        "stopline_rules_reloads": "counter",
        "stopline_rules_reload_failures": "counter",
        "stopline_rules_info": "gauge",
        "stopline_rules_loaded_timestamp_seconds": "gauge",
    }
    [info] = families["stopline_rules_info"].samples
    assert (info.labels["version"], info.value) == (services.rules.version, 1.0)
    if metrics_mode == "shared":  # one row per worker, which says whose rules these are
        assert info.labels["pid"] == str(os.getpid())


def test_metrics_show_only_the_rules_in_force_after_reloads(
    metrics_mode: str, settings: Settings, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yml"
    text = settings.rules_path.read_text(encoding="utf-8")
    rules.write_text(text, encoding="utf-8")
    services = build_services(settings.model_copy(update={"rules_path": rules}))
    try:
        client = create_app(settings, services).test_client()
        client.get("/metrics")
        rules.write_text(text.replace("You are unsubscribed", "Unsubscribed (B)"), "utf-8")
        client.get("/healthz")  # the reload
        families = _families(client.get("/metrics").get_data(as_text=True))
        versions = [s.labels["version"] for s in families["stopline_rules_info"].samples]
        assert versions == [services.rules.version]  # not the replaced version as well
        assert families["stopline_rules_reloads"].samples[0].value == 1.0
        rules.write_text("keywords: [unclosed\n", encoding="utf-8")
        client.get("/healthz")
        families = _families(client.get("/metrics").get_data(as_text=True))
        assert families["stopline_rules_reload_failures"].samples[0].value == 1.0
        assert families["stopline_rules_reloads"].samples[0].value == 1.0
    finally:
        services.close()


def test_two_apps_keep_separate_metrics(settings: Settings, services: Services) -> None:
    first, second = create_app(settings, services), create_app(settings, services)
    first.test_client().get("/healthz")
    text = second.test_client().get("/metrics").get_data(as_text=True)
    assert 'endpoint="/healthz"' not in text


def test_openapi_describes_the_api(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    for path in ("/webhooks/twilio", "/v1/consent/{phone}", "/v1/consent/check", "/v1/optouts",
                 "/v1/optouts/{phone}", "/v1/contacts/{phone}/events", "/v1/reviews"):  # fmt: skip
        assert path in doc["paths"]
    assert {"Error", "ConsentStatus", "CheckResult"} <= set(doc["components"]["schemas"])


def test_openapi_lists_every_route(app: Flask) -> None:
    doc = app.test_client().get("/openapi.json").get_json()
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)  # "<int:id>" is "{id}" in OpenAPI
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and rule.rule != "/openapi.json"
    }
    assert routes <= set(doc["paths"])


@pytest.mark.parametrize("path", ["/nowhere", "/v1", "/v1/consent"])
def test_unknown_route_is_404_json(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers=bearer())
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_unexpected_error_is_503_json_without_a_trace(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 503  # ours: the caller retries (a carrier never retries 4xx)
    assert response.headers["Retry-After"].isdigit()
    body = response.get_json()
    assert body["error"] == "internal_error"
    assert "secret" not in response.get_data(as_text=True)
    assert "secret internals" in caplog.text


def test_a_broken_reload_shows_in_healthz_and_metrics_while_old_rules_serve(
    settings: Settings, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_bytes(settings.rules_path.read_bytes())
    services = build_services(settings.model_copy(update={"rules_path": rules}))
    try:
        client = create_app(settings, services).test_client()
        version = services.rules.version
        rules.write_text("keywords: [unclosed\n", encoding="utf-8")
        response = client.get("/healthz")  # looks at the file itself, no message needed
        assert response.status_code == 200  # the last good rules are still in force
        assert response.get_json()["status"] == "warning"  # but someone must fix the file
        body = response.get_json()["rules"]
        assert body["version"] == version and body["failures"] == 1
        assert body["last_error"] and "rules.yml" in body["last_error"]
        metrics = client.get("/metrics").get_data(as_text=True)
        assert "stopline_rules_reload_failures_total 1.0" in metrics
        assert len(messages(post_sms(client, sms("STOP")))) == 1
        rules.write_bytes(settings.rules_path.read_bytes())
        assert client.get("/healthz").get_json()["status"] == "ok"
    finally:
        services.close()
