"""GET /v1/reviews?status= and GET /v1/optouts?until=, over the real ledger."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from core.model import InboundMessage
from core.services import ConsentService
from ledger.adapter import SqlLedger
from stopline.wiring import Services
from tests.web.helpers import BUSINESS, CONTACT, bearer, new_sid, post_sms, sms

OTHER = "+13125550100"


def _reviews(client: FlaskClient, query: str = "") -> list[dict[str, object]]:
    response = client.get(f"/v1/reviews{query}", headers=bearer())
    assert response.status_code == 200, response.get_data(as_text=True)
    items: list[dict[str, object]] = response.get_json()["reviews"]
    return items


def _decide(client: FlaskClient, item_id: object, opt_out: bool) -> None:
    url = f"/v1/reviews/{item_id}/decision"
    assert client.post(url, json={"opt_out": opt_out}, headers=bearer()).status_code == 200


def test_reviews_by_status(client: FlaskClient) -> None:
    for contact in (CONTACT, OTHER, "+14155550100"):
        post_sms(client, sms("please stop texting me", contact=contact))
    first, second, third = _reviews(client)
    _decide(client, second["id"], True)
    _decide(client, first["id"], False)  # decided last: listed first among decided ones
    assert [i["id"] for i in _reviews(client)] == [third["id"]]  # the default is unchanged
    assert _reviews(client, "?status=open") == _reviews(client) == _reviews(client, "?status=")
    decided = _reviews(client, "?status=decided")
    assert [(i["id"], i["decision"], i["decided_by"], i["status"]) for i in decided] == [
        (first["id"], "not_opt_out", "tests", "closed"),
        (second["id"], "opt_out", "tests", "closed"),
    ]
    assert _reviews(client, "?status=closed") == decided  # the word the items carry works too
    everything = _reviews(client, "?status=all")
    assert [i["id"] for i in everything] == [third["id"], first["id"], second["id"]]
    assert _reviews(client, "?status=all&limit=2") == everything[:2]
    assert _reviews(client, f"?status=decided&phone={OTHER}") == decided[1:]


@pytest.mark.parametrize(
    "query", ["?status=bogus", "?status=OPEN", "?status=open,decided", "?status=%00"]
)
def test_a_bad_review_status_is_400_naming_the_allowed_values(
    client: FlaskClient, query: str
) -> None:
    response = client.get(f"/v1/reviews{query}", headers=bearer())
    assert response.status_code == 400
    assert "open, decided, all" in response.get_json()["detail"]


@pytest.mark.parametrize("limit", ["0", "-1", "10001", "x", "²", "1.5", ""])
def test_a_bad_review_limit_is_400(client: FlaskClient, limit: str) -> None:
    response = client.get(f"/v1/reviews?limit={limit}", headers=bearer())
    assert response.status_code == 400
    assert "limit" in response.get_json()["detail"]


def test_openapi_describes_review_status_and_export_until(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    params = {p["name"]: p for p in paths["/v1/reviews"]["get"]["parameters"]}
    assert params["status"]["schema"] == {"enum": ["open", "decided", "all"], "default": "open"}
    assert params["limit"]["schema"]["maximum"] == 10000
    export = {p["name"] for p in paths["/v1/optouts"]["get"]["parameters"]}
    assert {"since", "until", "sender"} <= export


# --- GET /v1/optouts?until= ------------------------------------------------------------------

MARCH = datetime(2026, 3, 1, tzinfo=UTC)


def _stop_at(services: Services, contact: str, at: datetime) -> None:
    consent = ConsentService(SqlLedger(services.database), services.rules, clock=lambda: at)
    consent.receive_message(InboundMessage("twilio", new_sid(), contact, BUSINESS, "STOP", at))


def _phones(client: FlaskClient, query: str) -> list[str]:
    response = client.get(f"/v1/optouts{query}", headers=bearer())
    assert response.status_code == 200, response.get_data(as_text=True)
    return [row["phone"] for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))]


def test_export_until_lists_opt_outs_before_it(client: FlaskClient, services: Services) -> None:
    for i, moment in enumerate([MARCH - timedelta(microseconds=1), MARCH, MARCH + timedelta(1)]):
        _stop_at(services, f"+1206555020{i}", moment)
    assert _phones(client, "?until=2026-03-01") == ["+12065550200"]
    assert _phones(client, "?until=2026-03-01T00:00:00.000001Z") == [
        "+12065550200", "+12065550201",
    ]  # fmt: skip
    # An unencoded "+" of an offset arrives as a space, as for since.
    assert _phones(client, "?until=2026-03-01T01:00:00+01:00") == ["+12065550200"]
    assert _phones(client, "?since=2026-03-01&until=2026-03-02") == ["+12065550201"]
    assert _phones(client, f"?until=2026-03-03&sender={BUSINESS}") == [
        "+12065550200", "+12065550201", "+12065550202",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("?since=2026-03-02&until=2026-03-01", "must be later than since"),
        ("?since=2026-03-01&until=2026-03-01", "must be later than since"),
        ("?until=tomorrow", "YYYY-MM-DD"),
        ("?until=9999-12-31T23:59:59-23:59", "out of range"),
    ],
)
def test_bad_export_until_is_400_saying_why(client: FlaskClient, query: str, detail: str) -> None:
    post_sms(client, sms("STOP"))
    response = client.get(f"/v1/optouts{query}", headers=bearer())
    assert response.status_code == 400
    assert detail in response.get_json()["detail"]
