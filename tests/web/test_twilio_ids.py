"""Signed requests Twilio would never send: ids of the wrong shape, shifted boundaries, repeats."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from core.carriers import FORMATS, TWILIO, NotACarrierDelivery, id_format
from core.model import InboundMessage
from stopline.wiring import Services
from tests.web.helpers import (
    BUSINESS,
    CONTACT,
    HOOK_URL,
    TWILIO_TOKEN,
    messages,
    new_sid,
    post_sms,
    sign,
    sms,
)


def _status(services: Services) -> str:
    return str(services.consent.status(CONTACT, BUSINESS).status)


def _events(services: Services) -> int:
    return len(services.consent.events(CONTACT))


def _refused(response: object) -> dict[str, str]:
    assert getattr(response, "status_code", None) == 400, response
    body: dict[str, str] = response.get_json()  # type: ignore[attr-defined]
    assert body["error"] == "not_a_carrier_delivery"
    return body


def test_the_boundary_shift_replay_keeps_its_signature_and_is_refused(
    client: FlaskClient, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    captured = sms("START")  # a START an attacker captured, with NumMedia=0 after MessageSid
    signature = sign(captured)
    messages(post_sms(client, captured, signature=signature))  # 200, TwiML
    assert messages(post_sms(client, sms("STOP"))) and _status(services) == "opted_out"
    before = _events(services)

    shifted = {k: v for k, v in captured.items() if k != "NumMedia"}
    shifted["MessageSid"] = captured["MessageSid"] + "NumMedia" + captured["NumMedia"]
    # The signature Twilio made for the captured request matches the shifted one too.
    assert RequestValidator(TWILIO_TOKEN).validate(HOOK_URL, shifted, signature)
    body = _refused(post_sms(client, shifted, signature=signature))
    assert "MessageSid" in body["detail"] and "32 hexadecimal" in body["detail"]
    assert _status(services) == "opted_out" and _events(services) == before
    assert "refused a checked Twilio request that Twilio would not send" in caplog.text


HEX32 = "e287d7109a5a925f182f0e07fe5b223b"


@pytest.mark.parametrize(
    "sid",
    [
        "SM" + HEX32[:31],  # one digit short
        "SM" + HEX32 + "0",  # one digit more
        "SM" + HEX32 + "NumMedia0",  # a neighbour absorbed
        "SM" + HEX32[:31] + "g",  # not hex
        "sm" + HEX32,  # the prefix is upper case
        "MG" + HEX32,  # a Messaging Service sid, not a message
        "AC" + HEX32,
        "SM" + HEX32 + "\n",
        " SM" + HEX32,
        "SM" + "٠" * 32,  # Arabic-Indic zeros are not hex digits
        "SM" + "０" * 32,  # nor are full-width ones
        "00000000-0000-0000-0000-000000000001",  # another carrier's format
        "SMlock",
    ],
)
def test_message_sids_not_in_twilios_format_are_refused(
    client: FlaskClient, services: Services, sid: str
) -> None:
    _refused(post_sms(client, sms("STOP", sid=sid)))
    assert _status(services) == "subscribed" and _events(services) == 0


@pytest.mark.parametrize("sid", ["SM" + HEX32, "SM" + HEX32.upper(), "MM" + HEX32])
def test_message_sids_in_twilios_format_are_accepted(
    client: FlaskClient, services: Services, sid: str
) -> None:
    assert len(messages(post_sms(client, sms("STOP", sid=sid)))) == 1
    assert _status(services) == "opted_out"


@pytest.mark.parametrize("twin", ["SmsSid", "SmsMessageSid"])
def test_a_twin_id_must_equal_the_message_sid(
    client: FlaskClient, services: Services, twin: str
) -> None:
    form = sms("STOP")
    _refused(post_sms(client, {**form, twin: new_sid()}))
    assert _events(services) == 0
    assert len(messages(post_sms(client, {**form, twin: form["MessageSid"]}))) == 1


def test_a_twin_alone_must_be_in_twilios_format(client: FlaskClient, services: Services) -> None:
    form = sms("STOP")
    form["SmsSid"] = form.pop("MessageSid") + "NumMedia0"
    _refused(post_sms(client, form))
    assert _events(services) == 0


@pytest.mark.parametrize(
    "repeated",
    [("Body", "hello"), ("Body", "STOP"), ("From", "+12065550199"), ("To", BUSINESS),
     ("MessageSid", None), ("NumMedia", "1"), ("BrandNewField2027", "x")],
)  # fmt: skip
def test_any_repeated_field_is_refused(
    client: FlaskClient, services: Services, repeated: tuple[str, str | None]
) -> None:
    form = sms("STOP")
    name, value = repeated
    pairs = [*form.items(), (name, value if value is not None else form[name])]
    if name == "BrandNewField2027":
        pairs.append((name, "y"))
    body = _refused(post_sms(client, MultiDict(pairs)))
    assert name in body["detail"]
    assert _events(services) == 0


def test_every_declared_carrier_id_fits_the_ledger() -> None:
    # inbound_messages.message_id and consent_events.carrier_message_id are String(64).
    for carrier, fmt in FORMATS.items():
        assert fmt.carrier == carrier and len(fmt.example) <= 64
        assert fmt.pattern.fullmatch(fmt.example)
        assert "+" not in fmt.pattern.pattern and "*" not in fmt.pattern.pattern


def test_the_service_refuses_ids_of_any_door(services: Services) -> None:
    now = datetime.now(UTC)
    with pytest.raises(NotACarrierDelivery, match="twilio message id"):
        services.consent.receive_message(
            InboundMessage("twilio", "SM" + HEX32 + "x", CONTACT, BUSINESS, "START", now)
        )
    with pytest.raises(NotACarrierDelivery, match="no message-id format"):
        services.consent.receive_message(
            InboundMessage("pigeon", "SM" + HEX32, CONTACT, BUSINESS, "STOP", now)
        )
    assert _events(services) == 0
    assert id_format("twilio") is TWILIO


def test_a_text_written_to_look_like_fields_cannot_be_re_split_into_another_message(
    client: FlaskClient, services: Services
) -> None:
    # A contact texts fields of their own; whoever captures the signed request re-splits it
    # into a START "from" someone else, with the same signature.
    victim, fake = "+12065550177", "SM" + "f" * 32
    crafted = f"hiFrom{victim}MessageSid{fake}SmsSid{fake}To{BUSINESS}Zz"
    genuine = sms(crafted, contact="+12065550166")
    signature = sign(genuine)
    messages(post_sms(client, genuine, signature=signature))  # a genuine text: recorded
    assert messages(post_sms(client, sms("STOP", contact=victim)))
    pairs = sorted(genuine.items())
    rest = "".join(name + value for name, value in pairs[2:])  # everything after Body
    shifted = {name: value for name, value in pairs[:1]}
    shifted.update(Body="hi", From=victim, MessageSid=fake, SmsSid=fake, To=BUSINESS, Zz=rest)
    assert RequestValidator(TWILIO_TOKEN).validate(HOOK_URL, shifted, signature)
    body = _refused(post_sms(client, shifted, signature=signature))
    assert genuine["MessageSid"] in body["detail"] and "re-split" in body["detail"]
    assert not services.consent.status(victim, BUSINESS).can_send


def test_a_text_that_mentions_fields_without_an_id_is_an_ordinary_text(
    client: FlaskClient, services: Services
) -> None:
    for text in ("What is a MessageSid? From To Body SmsSid SM123", "MessageSid" + "SM" * 20):
        messages(post_sms(client, sms(text)))  # 200 and TwiML: an ordinary text
