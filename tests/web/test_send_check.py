"""POST /v1/consent/check: the streamed answer is the service's answer, as valid JSON."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from stopline.bootstrap import Services
from tests.web.helpers import BUSINESS, bearer

NEAR_MISSES = ["+1206001234", "+12060012345", "+12061012345", "+15555550100", "+120655501001"]


def check(client: FlaskClient, phones: list[object]) -> dict[str, list[object]]:
    response = client.post(
        "/v1/consent/check", json={"sender": BUSINESS, "phones": phones}, headers=bearer()
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    answer: dict[str, list[object]] = json.loads(response.get_data())
    return answer


@pytest.mark.parametrize("phone", NEAR_MISSES)
def test_near_misses_come_back_invalid(client: FlaskClient, phone: str) -> None:
    answer = check(client, [phone, "+13125550100"])
    assert answer == {"sendable": ["+13125550100"], "suppressed": [], "invalid": [phone]}


@pytest.mark.parametrize(
    "entry",
    ['say "hi"', "back\\slash", "\x00", "\u2028", "é", "1,2", "", 7, 2.5, None, True, [], {}],
)
def test_invalid_entries_come_back_as_given(client: FlaskClient, entry: object) -> None:
    # Whatever a caller sent is echoed in valid JSON, quotes and control characters escaped.
    answer = check(client, ["+13125550100", entry, entry])
    assert answer["invalid"] == [entry, entry]
    assert answer["sendable"] == ["+13125550100"]


def test_a_check_over_many_batches_is_the_services_answer(
    client: FlaskClient, services: Services
) -> None:
    for n in range(0, 40, 4):
        client.post("/v1/optouts", json={"phone": f"+1312555{n:04d}"}, headers=bearer())
    phones: list[object] = [f"+1{area}555{n:04d}" for area in (312, 415, 206) for n in range(9_000)]
    phones += ["(312) 555-0001", "+12060012345", "nonsense", None, "+13125550002"]
    answer = check(client, phones)
    expected = services.consent.check(BUSINESS, phones)
    assert answer == {
        "sendable": expected.sendable,
        "suppressed": expected.suppressed,
        "invalid": expected.invalid,
    }
    assert len(answer["suppressed"]) == 10 and len(answer["invalid"]) == 3
