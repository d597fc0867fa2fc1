"""Failure drill "Hostile carrier input": what a carrier signs, or what a replay of it can become.

Numbers: any From/To a carrier may deliver (digits with or without '+', separators, channel
prefixes, short codes, unassigned country codes, 3 to 20 digits) is answered 2xx through the
real signed Twilio hook, and a STOP opts that key out; the same number in another shape is the
same contact. Boundaries: a genuine Twilio form re-split so that its signature still matches
(fields merged, a name's or a value's edge moved) is refused or is the retry it is; it never
records a new message or event.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from core.config import Settings
from core.errors import InvalidPhoneNumber
from core.phone import normalize_phone
from ledger import tables
from stopline.wiring import Services, build_services
from tests.web.helpers import HOOK, HOOK_URL, TWILIO_TOKEN, new_sid, sign
from web import create_app

_drill = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_KEY = re.compile(r"\+?[0-9]{3,19}|#[0-9a-f]{19}")


@pytest.fixture
def hook(settings: Settings) -> Iterator[tuple[FlaskClient, Engine]]:
    """The real app over a migrated ledger (SQLite and PostgreSQL), and the ledger's engine."""
    services: Services = build_services(settings)
    try:
        yield create_app(settings, services).test_client(), services.database.engine
    finally:
        services.close()


def _form(body: str, contact: str, sender: str, sid: str | None = None) -> dict[str, str]:
    """Every field Twilio posts for an inbound SMS (names sorted as Twilio signs them)."""
    sid = sid or new_sid()
    return {
        "AccountSid": "AC" + "3f" * 16, "ApiVersion": "2010-04-01", "Body": body,
        "From": contact, "FromCity": "SEATTLE", "FromCountry": "US", "FromState": "WA",
        "FromZip": "98101", "MessageSid": sid, "MessagingServiceSid": "MG" + "9c" * 16,
        "NumMedia": "0", "NumSegments": "1", "SmsMessageSid": sid, "SmsSid": sid,
        "SmsStatus": "received", "To": sender, "ToCity": "", "ToCountry": "US",
        "ToState": "WA", "ToZip": "98052",
    }  # fmt: skip


def _post(client: FlaskClient, form: dict[str, str], signature: str | None = None) -> int:
    headers = {"X-Twilio-Signature": signature or sign(form)}
    return client.post(HOOK, data=MultiDict(list(form.items())), headers=headers).status_code


# --- numbers ---------------------------------------------------------------------------------

_separators = st.sampled_from(["", "", "", " ", "-", ".", "(", ")"])
_separated = st.lists(
    st.tuples(st.sampled_from("0123456789"), _separators),
    min_size=3,
    max_size=20,
)
_prefixes = st.sampled_from(["", "", "", "whatsapp:", "WhatsApp:", "tel:", "sms:", "mms:", "rcs:"])
_known = st.sampled_from(
    ["+99912345", "+999123456789", "+1206001234", "+12060012345", "+447700900123", "12345",
     "1234", "+894546", "12345678", "447700900123", "14155550100", "+2901234", "+" + "9" * 20,
     "٠١٢٣٤٥", "＋１２０６５５５０１００", "+1 (206) 555-0100"]
)  # fmt: skip


@st.composite
def carrier_numbers(draw: st.DrawFn) -> str:
    """A From or To as some carrier may write it."""
    if draw(st.booleans()):
        return draw(_known)
    pairs = draw(_separated)
    plus = "+" if draw(st.booleans()) else ""
    return draw(_prefixes) + plus + "".join(digit + sep for digit, sep in pairs).strip("-.()")


def _e164(number: str) -> str | None:
    try:
        return normalize_phone(number)
    except InvalidPhoneNumber:
        return None


def _reshaped(number: str) -> str:
    """The same number in another shape: a channel prefix and spaces added or removed."""
    bare = number.split(":", 1)[1] if ":" in number else number
    spaced = " ".join(bare) if len(bare) <= 20 else bare
    return spaced if ":" in number else "whatsapp:" + spaced


def _stored(engine: Engine, sid: str) -> tuple[str, str, str | None, str | None, str | None]:
    messages = tables.inbound_messages
    with engine.connect() as conn:
        contact, sender, received, to = conn.execute(
            select(messages.c.contact, messages.c.sender, messages.c.contact_received,
                   messages.c.sender_received).where(messages.c.message_id == sid)
        ).one()  # fmt: skip
        status = conn.execute(
            select(tables.consent.c.status).where(
                tables.consent.c.contact == contact, tables.consent.c.scope_key == sender
            )
        ).scalar()
    return contact, sender, status, received, to


@_drill
@given(contact=carrier_numbers(), sender=carrier_numbers())
def test_any_number_a_carrier_sends_is_answered_and_its_stop_honoured(
    hook: tuple[FlaskClient, Engine], contact: str, sender: str
) -> None:
    client, engine = hook
    form = _form("STOP", contact, sender)
    assert _post(client, form) == 200
    key, sender_key, status, received, to = _stored(engine, form["MessageSid"])
    assert status == "opted_out" and (received, to) == (contact, sender)
    for stored, raw in ((key, contact), (sender_key, sender)):
        assert _KEY.fullmatch(stored), stored
        e164 = _e164(raw.split(":", 1)[-1])
        assert e164 is None or stored == e164  # a valid number is keyed by its E.164 form
    # The same contact, to the same sender, in another shape: one contact, so START undoes it.
    again = _form("START", _reshaped(contact), _reshaped(sender))
    assert _post(client, again) == 200
    assert _stored(engine, again["MessageSid"])[:3] == (key, sender_key, "subscribed")


# --- boundaries ------------------------------------------------------------------------------

Pairs = list[tuple[str, str]]


def _merge(pairs: Pairs, i: int) -> Pairs:
    """Field i+1 (name and value) becomes the end of field i's value."""
    name, value = pairs[i]
    after_name, after_value = pairs[i + 1]
    return [*pairs[:i], (name, value + after_name + after_value), *pairs[i + 2 :]]


def _move_name_edge(pairs: Pairs, i: int, by: int) -> Pairs:
    """The edge between field i's name and its value moves by `by` characters."""
    name, value = pairs[i]
    joined, cut = name + value, len(name) + by
    return [*pairs[:i], (joined[:cut], joined[cut:]), *pairs[i + 1 :]]


def _move_value_edge(pairs: Pairs, i: int, by: int) -> Pairs:
    """The edge between field i's value and field i+1's name moves by `by` characters."""
    name, value = pairs[i]
    after_name, after_value = pairs[i + 1]
    joined, cut = value + after_name, len(value) + by
    return [*pairs[:i], (name, joined[:cut]), (joined[cut:], after_value), *pairs[i + 2 :]]


def _still_signed(pairs: Pairs) -> bool:
    names = [name for name, _ in pairs]
    return all(names) and names == sorted(set(names))


@st.composite
def shifts(draw: st.DrawFn, pairs: Pairs) -> Pairs:
    """One to three signature-preserving re-splits of a genuine form."""
    for _ in range(draw(st.integers(1, 3))):
        # Half the time at an id field or just before one: where a new id could be made.
        ids = [n for n, (name, _) in enumerate(pairs) if name.endswith("Sid")]
        near = sorted({j for n in ids for j in (n - 1, n) if 0 <= j < len(pairs) - 1})
        anywhere = st.integers(0, len(pairs) - 2)
        i = draw(st.one_of(st.sampled_from(near), anywhere) if near else anywhere)
        kind = draw(st.sampled_from(["merge", "name", "value"]))
        by = draw(st.integers(-6, 6).filter(bool))
        if kind == "merge":
            candidate = _merge(pairs, i)
        elif kind == "name" and 0 < len(pairs[i][0]) + by <= len(pairs[i][0] + pairs[i][1]):
            candidate = _move_name_edge(pairs, i, by)
        elif kind == "value" and 0 <= len(pairs[i][1]) + by < len(pairs[i][1] + pairs[i + 1][0]):
            candidate = _move_value_edge(pairs, i, by)
        else:
            continue
        if _still_signed(candidate):
            pairs = candidate
    return pairs


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(tables.consent_events)).scalar()
        stored = conn.execute(select(func.count()).select_from(tables.inbound_messages)).scalar()
    return int(events or 0), int(stored or 0)


@_drill
@given(data=st.data(), body=st.sampled_from(["START", "STOP", "HELP", "UNSTOP", "hello"]))
def test_a_re_split_replay_is_refused_or_a_retry_and_records_nothing(
    hook: tuple[FlaskClient, Engine], data: st.DataObject, body: str
) -> None:
    client, engine = hook
    genuine = _form(body, "+12065550123", "+12065550100")
    signature = sign(genuine)
    assert _post(client, genuine, signature) == 200
    before = _counts(engine)
    shifted = data.draw(shifts(sorted(genuine.items())))
    assume(shifted != sorted(genuine.items()))
    # The construction keeps the signed string: Twilio's own validator accepts the replay.
    assert RequestValidator(TWILIO_TOKEN).validate(HOOK_URL, MultiDict(shifted), signature)
    assert _post(client, dict(shifted), signature) in (200, 400)
    assert _counts(engine) == before
