"""Failure drill "Free text and fields": every free-text field has a cap, named in a clear 400,
on every door (the API, Slack, an import); an API body with a key the endpoint does not take is
a 400 that names the key, never a silently different action ("snder" once became an
account-wide opt-out); and the OpenAPI document says so (additionalProperties: false).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.model import Actor, Source, Status
from core.text import ACTOR_LIMIT, REASON_LIMIT
from stopline.cli.main import main
from stopline.wiring import Services
from tests.bot.conftest import bot_database_url, fake_slack, make_slack, slack
from tests.bot.helpers import SlackDriver
from tests.conftest import RULES
from tests.web.conftest import app, client, services
from tests.web.helpers import BUSINESS, CONTACT, bearer
from web.openapi import REQUESTS, document

# The doors' fixtures, imported for pytest to find.
__all__ = ["app", "bot_database_url", "client", "fake_slack", "make_slack", "services", "slack"]

VALID: dict[str, dict[str, Any]] = {
    "/v1/consent/check": {"sender": BUSINESS, "phones": [CONTACT]},
    "/v1/optouts": {"phone": CONTACT, "sender": BUSINESS, "reason": "asked on a call"},
    "/v1/reviews/{review_id}/decision": {"opt_out": True},
    "/v1/carrier-refusals": {"carrier": "twilio", "code": "21610", "phone": CONTACT,
                             "sender": BUSINESS, "message_id": "SM" + "a" * 32},
}


def _url(path: str) -> str:
    return path.replace("{review_id}", "999")


def _schema(doc: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    schema = body["content"]["application/json"]["schema"]
    if "oneOf" in schema:  # one object, or a list of them: the object's schema
        schema = schema["oneOf"][0]
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return dict(schema)


def _json_posts() -> list[tuple[str, dict[str, Any]]]:
    doc = document()
    found = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if body and "application/json" in body["content"]:
                assert method == "post", path
                found.append((path, _schema(doc, body)))
    return found


def test_the_document_refuses_extra_keys_on_every_request_body() -> None:
    doc = document()
    forms = [path for path, item in doc["paths"].items() for operation in item.values()
             if "requestBody" in operation
             and "application/json" not in operation["requestBody"]["content"]]  # fmt: skip
    assert forms == ["/webhooks/twilio"]  # Twilio's own form, whose new parameters are signed
    posts = _json_posts()
    assert {path for path, _ in posts} == set(VALID)  # a new endpoint needs a valid body here
    for path, schema in posts:
        assert schema["additionalProperties"] is False, path
        assert set(schema["required"]) <= set(schema["properties"]), path
    assert REQUESTS["OptOutRequest"]["properties"]["reason"]["maxLength"] == REASON_LIMIT


@pytest.mark.parametrize(("path", "schema"), _json_posts(), ids=lambda v: str(v)[:30])
def test_every_key_the_document_names_is_taken_and_no_other(
    client: FlaskClient, path: str, schema: dict[str, Any]
) -> None:
    valid = VALID[path]
    assert set(valid) == set(schema["properties"])  # the example uses every documented key
    response = client.post(_url(path), json=valid, headers=bearer())
    assert "unknown field" not in response.get_data(as_text=True).lower()
    assert response.status_code < 500
    extra = client.post(_url(path), json={**valid, "extra_key": 1}, headers=bearer())
    assert extra.status_code == 400
    assert '"extra_key"' in extra.get_json()["detail"]


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_a_misspelt_key_is_refused_and_changes_nothing(
    client: FlaskClient, services: Services, data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(sorted(VALID)))
    valid = VALID[path]
    known = set(valid)
    # Misspellings of a real key (a letter dropped, doubled, changed case, a space), or any text.
    key = data.draw(
        st.sampled_from(sorted(known)).flatmap(
            lambda k: st.sampled_from(
                [
                    k[1:],
                    k[:-1],
                    k + k[-1],
                    k.upper(),
                    k.title(),
                    f" {k}",
                    f"{k} ",
                    k + "s",
                    k.replace("e", "", 1),
                    k.replace("_", "-"),
                ]
            )
        )
        | st.text(min_size=1, max_size=30)
    )
    if key in known:
        return
    body = {name: value for name, value in valid.items() if data.draw(st.booleans())}
    body[key] = data.draw(st.sampled_from([BUSINESS, "x", None, True, 7, [], {}]))
    before = services.consent.status(CONTACT)
    response = client.post(_url(path), data=json.dumps(body), headers=bearer())
    assert response.status_code == 400, response.get_data(as_text=True)
    assert json.dumps(key[:40]) in response.get_json()["detail"]
    assert services.consent.status(CONTACT) == before


def test_snder_is_not_an_account_wide_opt_out(client: FlaskClient, services: Services) -> None:
    response = client.post(
        "/v1/optouts", json={"phone": CONTACT, "snder": BUSINESS}, headers=bearer()
    )
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith(
        'Unknown field(s) "snder" (did you mean "sender"?)'
    )
    assert services.consent.status(CONTACT).status is Status.SUBSCRIBED


@pytest.mark.parametrize("size", [REASON_LIMIT + 1, 100_000, 5 * 1024 * 1024])
def test_an_api_reason_over_the_cap_is_refused_and_nothing_stored(
    client: FlaskClient, services: Services, size: int
) -> None:
    body = {"phone": CONTACT, "reason": "é" * size}
    response = client.post("/v1/optouts", json=body, headers=bearer())
    assert response.status_code == 400
    detail = response.get_json()["detail"]
    assert "reason" in detail and f"{REASON_LIMIT:,}" in detail
    assert services.consent.status(CONTACT).status is Status.SUBSCRIBED
    assert services.consent.events(CONTACT) == []


def test_a_reason_at_the_cap_is_stored_whole(client: FlaskClient, services: Services) -> None:
    reason = "ü" * REASON_LIMIT
    response = client.post("/v1/optouts", json={"phone": CONTACT, "reason": reason},
                           headers=bearer())  # fmt: skip
    assert response.status_code == 201
    assert services.consent.events(CONTACT)[0].reason == reason


def test_an_opt_in_reason_in_the_query_is_capped(client: FlaskClient, services: Services) -> None:
    client.post("/v1/optouts", json={"phone": CONTACT}, headers=bearer())
    response = client.delete(
        f"/v1/optouts/{CONTACT}?reason={'r' * (REASON_LIMIT + 1)}", headers=bearer()
    )
    assert response.status_code == 400 and "reason" in response.get_json()["detail"]
    assert services.consent.status(CONTACT).status is Status.OPTED_OUT


def test_an_actor_name_over_the_cap_is_refused(services: Services) -> None:
    actor = Actor(Source.AGENT, "cli:" + "n" * ACTOR_LIMIT)
    with pytest.raises(InvalidInput, match=f"actor name .* the limit is {ACTOR_LIMIT}"):
        services.consent.opt_out(CONTACT, None, actor)
    with pytest.raises(InvalidInput, match="actor name"):
        services.consent.import_optouts([{"phone": CONTACT}], actor)
    assert services.consent.events(CONTACT) == []


def test_an_import_row_with_a_long_reason_is_refused_and_the_others_stored(
    services: Services,
) -> None:
    rows = [
        {"phone": "+12065550101", "reason": "moved away"},
        {"phone": "+12065550102", "reason": "x" * (REASON_LIMIT + 1)},
        {"phone": "+12065550103", "reason": ""},
    ]
    summary = services.consent.import_optouts(rows, Actor(Source.IMPORT, "cli:test"))
    assert (summary.taken, summary.invalid) == (2, 1)
    assert summary.errors == [
        f"row 3: reason is 1,001 characters long; the limit is {REASON_LIMIT:,}"
    ]
    assert services.consent.status("+12065550102").status is Status.SUBSCRIBED


def test_a_slack_reason_over_the_cap_is_refused_plainly(slack: SlackDriver) -> None:
    slack.command("/optout", f"+1 206-555-0123 {'w' * (REASON_LIMIT + 1)}")
    reply = slack.fake.wait_for("respond")[-1].params
    assert "Reason is 1,001 characters long; the limit is 1,000" in reply["text"]
    assert slack.services.consent.status(CONTACT).status is Status.SUBSCRIBED


def _api_operations() -> list[tuple[str, str, tuple[str, ...]]]:
    found = []
    for path, item in document()["paths"].items():
        if path.startswith("/v1/"):
            for method, operation in item.items():
                names = tuple(p["name"] for p in operation.get("parameters", [])
                              if p["in"] == "query")  # fmt: skip
                found.append((path, method.upper(), names))
    return found


@pytest.mark.parametrize(("path", "method", "names"), _api_operations(), ids=str)
def test_a_query_parameter_the_endpoint_does_not_take_is_refused(
    client: FlaskClient, path: str, method: str, names: tuple[str, ...]
) -> None:
    url = path.replace("{phone}", CONTACT.replace("+", "%2B")).replace("{review_id}", "999")
    body = VALID.get(path) if method == "POST" else None
    for name in names:  # each documented parameter is taken (its value may still be refused)
        response = client.open(f"{url}?{name}=x", method=method, json=body, headers=bearer())
        assert "Unknown query" not in response.get_data(as_text=True), name
    response = client.open(f"{url}?sendr=x", method=method, json=body, headers=bearer())
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith('Unknown query parameter(s) "sendr"')


def test_a_misspelt_sender_does_not_lift_the_account_wide_opt_out(
    client: FlaskClient, services: Services
) -> None:
    client.post("/v1/optouts", json={"phone": CONTACT}, headers=bearer())
    response = client.delete(f"/v1/optouts/{CONTACT}?sendr={BUSINESS}", headers=bearer())
    assert response.status_code == 400
    assert '(did you mean "sender"?)' in response.get_json()["detail"]
    assert services.consent.status(CONTACT).status is Status.OPTED_OUT


def test_a_cli_reason_over_the_cap_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env
    env = {"STOPLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "STOPLINE_RULES_PATH": str(RULES)}  # fmt: skip
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(
        main, ["optout", CONTACT, "--reason", "r" * (REASON_LIMIT + 1)], env=env,
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "reason is 1,001 characters long; the limit is 1,000" in result.stderr
    assert "Traceback" not in result.output
    status = runner.invoke(main, ["status", CONTACT], env=env, catch_exceptions=False)
    assert (
        "opted_out" not in status.stdout.lower().replace(" ", "_") or "subscribed" in status.stdout
    )
