"""POST /v1/consent/check: the streamed answer is the service's answer, as valid JSON."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from stopline.wiring import Services
from tests.web.helpers import BUSINESS, CONTACT, bearer, post_sms, sms

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


@pytest.mark.parametrize("sender", ["1234", "12345678", "+99912345", "sms:894546"])
def test_a_stop_sent_to_a_short_code_is_found_by_the_send_check(
    client: FlaskClient, sender: str
) -> None:
    # The hook keys a 4-8 digit sender by its digits; the send check and the status must key
    # the same sender the same way, or the STOP would be recorded but never honoured.
    assert post_sms(client, sms("STOP", sender=sender)).status_code == 200
    digits = "".join(ch for ch in sender if ch.isdigit())
    for asked in (sender, digits):
        response = client.post(
            "/v1/consent/check", json={"sender": asked, "phones": [CONTACT]}, headers=bearer()
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert json.loads(response.get_data())["suppressed"] == [CONTACT]
    status = client.get(f"/v1/consent/{CONTACT}", query_string={"sender": digits},
                        headers=bearer())  # fmt: skip
    assert status.get_json()["status"] == "opted_out"


@pytest.mark.parametrize("contact", ["whatsapp:+12065550123", "12065550123", "+1 206 555 0123"])
def test_a_stop_from_a_prefixed_or_bare_number_suppresses_its_e164_form(
    client: FlaskClient, contact: str
) -> None:
    assert post_sms(client, sms("STOP", contact=contact)).status_code == 200
    assert check(client, [CONTACT])["suppressed"] == [CONTACT]
    history = client.get(f"/v1/contacts/{CONTACT}/events", headers=bearer()).get_json()
    event = history["events"][0]
    assert (event["contact"], event["contact_received"]) == (CONTACT, contact)
    assert (event["sender"], event["sender_received"]) == (BUSINESS, BUSINESS)


def test_a_stopped_number_without_an_e164_form_is_still_reported_invalid(
    client: FlaskClient,
) -> None:
    # Recorded and opted out, but not a number a send may go to: the check says invalid.
    assert post_sms(client, sms("STOP", contact="+99912345678")).status_code == 200
    assert check(client, ["+99912345678"])["invalid"] == ["+99912345678"]
