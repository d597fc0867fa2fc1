"""GET /v1/optouts streams the database-built CSV: csv.writer's bytes, in chunks, closed early."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import insert

from core.model import Actor, Source
from ledger.export import CHUNK_ROWS, HEADER_LINE
from ledger.tables import consent
from stopline.wiring import Services
from tests.web.helpers import BUSINESS, bearer

NASTY = ["=1+1", 'said "stop", twice', "line\r\nbreak", "-", "@x", "\ttab", "é☎", "", None]


def expected(services: Services, since: datetime | None = None, sender: str | None = None
             ) -> bytes:  # fmt: skip
    """csv.writer's output of the service's rows, as the export wrote it before."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(services.consent.export_optouts(since, sender))
    return buffer.getvalue().encode()


def test_the_api_sends_csv_writers_bytes(client: FlaskClient, services: Services) -> None:
    for index, text in enumerate(NASTY):
        sender = BUSINESS if index % 2 else None
        services.consent.opt_out(f"+1206555{index:04d}", sender, Actor(Source.API, "crm"), text)
    response = client.get("/v1/optouts", headers=bearer())
    assert response.status_code == 200
    assert response.get_data() == expected(services)
    filtered = client.get(f"/v1/optouts?sender={BUSINESS}&since=2000-01-01", headers=bearer())
    since = datetime(2000, 1, 1, tzinfo=UTC)
    assert filtered.get_data() == expected(services, since, BUSINESS)
    assert 'filename="stopline-optouts-12065550100-' in filtered.headers["Content-Disposition"]


def test_a_long_export_is_streamed_in_chunks(client: FlaskClient, services: Services) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [{"contact": f"+1206555{i:04d}", "scope_key": "*", "status": "opted_out",
             "source": "import", "actor": "list.csv", "since": start + timedelta(seconds=i)}
            for i in range(CHUNK_ROWS * 2 + 1)]  # fmt: skip
    with services.database.write() as conn:
        conn.execute(insert(consent), rows)
    response = client.get("/v1/optouts", headers=bearer(), buffered=False)
    assert response.is_streamed
    chunks = list(response.iter_encoded())
    assert chunks[0] == HEADER_LINE and len(chunks) == 4  # header, two full chunks, one row
    assert b"".join(chunks) == expected(services)
    response.close()


def test_a_download_left_half_way_gives_its_connection_back(
    client: FlaskClient, services: Services
) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with services.database.write() as conn:
        conn.execute(
            insert(consent),
            [{"contact": f"+1206555{i:04d}", "scope_key": "*", "status": "opted_out",
              "since": start} for i in range(CHUNK_ROWS * 3)],
        )  # fmt: skip
    pool = services.database.engine.pool
    response = client.get("/v1/optouts", headers=bearer(), buffered=False)
    assert next(response.iter_encoded()) == HEADER_LINE
    assert pool.checkedout() == 1  # type: ignore[attr-defined]
    response.close()  # what the server does when the client goes away
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
