"""GET /v1/optouts: a streamed CSV, filtered by date and sender, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from core.errors import StoplineError
from tests.web.helpers import BUSINESS, CONTACT, OTHER_BUSINESS, bearer, post_sms, sms
from web.csv_export import parse_since


def _rows(client: FlaskClient, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/v1/optouts{query}", headers=bearer())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert "attachment; filename=" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_export_lists_opt_outs_with_formula_cells_neutralised(client: FlaskClient) -> None:
    post_sms(client, sms("STOP"))
    client.post(
        "/v1/optouts",
        json={"phone": "+13125550100", "reason": '=HYPERLINK("http://x")'},
        headers=bearer(),
    )
    rows = {row["phone"]: row for row in _rows(client)}
    assert set(rows) == {CONTACT, "+13125550100"}
    assert rows[CONTACT]["message_text"] == "STOP"
    assert rows["+13125550100"]["reason"].startswith("'=")


def test_export_filters_by_sender(client: FlaskClient) -> None:
    post_sms(client, sms("STOP"))
    post_sms(client, sms("STOP", contact="+13125550100", sender=OTHER_BUSINESS))
    assert [row["phone"] for row in _rows(client, f"?sender={BUSINESS}")] == [CONTACT]


@pytest.mark.parametrize("since", ["2999-01-01", "2999-01-01T00:00:00Z"])
def test_export_filters_by_date(client: FlaskClient, since: str) -> None:
    post_sms(client, sms("STOP"))
    assert _rows(client, f"?since={since}") == []
    assert len(_rows(client, "?since=2000-01-01")) == 1


@pytest.mark.parametrize("query", ["?since=yesterday", "?sender=abc"])
def test_bad_export_filters_are_400(client: FlaskClient, query: str) -> None:
    response = client.get(f"/v1/optouts{query}", headers=bearer())
    assert response.status_code == 400
    assert response.is_json


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("2026-01-31", datetime(2026, 1, 31, tzinfo=UTC)),
        ("2026-01-31T09:30:00Z", datetime(2026, 1, 31, 9, 30, tzinfo=UTC)),
        ("2026-01-31T09:30:00", datetime(2026, 1, 31, 9, 30, tzinfo=UTC)),
        ("2026-01-31T11:30:00+02:00", datetime(2026, 1, 31, 9, 30, tzinfo=UTC)),
        ("2026-01-31T11:30:00 02:00", datetime(2026, 1, 31, 9, 30, tzinfo=UTC)),  # bare "+"
        ("2026-01-31 09:30", datetime(2026, 1, 31, 9, 30, tzinfo=UTC)),
    ],
)
def test_parse_since(raw: str | None, expected: datetime | None) -> None:
    assert parse_since(raw) == expected


@pytest.mark.parametrize("raw", ["yesterday", "2026-13-01", "31/01/2026", "2026-01-31 x"])
def test_parse_since_refuses_what_it_cannot_read(raw: str) -> None:
    with pytest.raises(StoplineError, match="YYYY-MM-DD"):
        parse_since(raw)
