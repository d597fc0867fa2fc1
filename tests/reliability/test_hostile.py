"""Failure drill "Hostile input": hypothesis throws arbitrary methods, paths, queries, bodies,
headers, encodings and sizes at the consent API, the Twilio hook and the Slack endpoint.

Never a 5xx; without a valid token or signature every ledger table is unchanged (compared row by
row before and after each example); with a valid token never a 500 and every JSON answer is
strict JSON. tests/web/test_hook_fuzz.py and tests/bot/test_slack_fuzz.py fuzz signed forms and
Slack payloads and count one contact's events; this module snapshots the whole ledger instead.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_from_bytes, urlencode

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder, TestResponse
from werkzeug.wrappers import Request

from core.config import Settings
from ledger import tables
from stopline.wiring import Services, build_services, close_app, migrate, wire_app
from tests.bot.fakeslack import FakeSlack
from tests.bot.helpers import BOT_TOKEN, EVENTS, SIGNING_SECRET, SlackDriver, signature
from tests.conftest import RULES
from tests.web.helpers import API_TOKEN, BUSINESS, CONTACT, HOOK, TWILIO_TOKEN, bearer, sign, sms

API_LIMIT = 4096  # STOPLINE_MAX_API_BODY, small so 413 is cheap to reach
HOOK_LIMIT = 64 * 1024  # the default max_webhook_body, which also caps /slack/events
# derandomize: the same examples on every run, so CI never meets a new one by chance.


def drill(examples: int) -> settings:
    """Hypothesis settings of the drill: fixed examples, no deadline, no example database."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


Snapshot = dict[str, list[tuple[Any, ...]]]


@dataclass
class Drill:
    client: FlaskClient
    services: Services
    slack: SlackDriver
    engine: Engine

    def snapshot(self) -> Snapshot:
        """Every row of every ledger table (contacts, consent, events, messages, reviews...)."""
        with self.engine.connect() as conn:
            return {
                table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
                for table in tables.metadata.sorted_tables
            }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    """One app (Slack on, against a fake) over a SQLite ledger seeded with one row everywhere."""
    fake = FakeSlack()
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('hostile')) / 'ledger.db'}"
    migrate(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    values: dict[str, Any] = {
        "database_url": url, "rules_path": RULES, "twilio_auth_token": TWILIO_TOKEN,
        "api_token": API_TOKEN, "api_token_name": "tests", "max_api_body": API_LIMIT,
        "slack_bot_token": BOT_TOKEN, "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.api_url,
    }  # fmt: skip
    config = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    services = build_services(config)
    app = wire_app(config, services)
    client = app.test_client()
    for text in ("STOP", "please stop texting me", "hello"):  # an opt-out, a review, a message
        form = sms(text)
        seeded = client.post(HOOK, data=form, headers={"X-Twilio-Signature": sign(form)})
        assert seeded.status_code == 200
    seeded = client.post("/v1/optouts", json={"phone": "+12065550177"}, headers=bearer())
    assert seeded.status_code == 201
    slack = SlackDriver(app, services, fake)
    assert slack.command("/consent", "2065550123").status_code == 200  # a seen_requests row
    try:
        yield Drill(client, services, slack, services.database.engine)
    finally:
        close_app(app, services)
        fake.close()


def strict_json(raw: bytes) -> object:
    """json.loads that refuses NaN and Infinity, which are not JSON (RFC 8259)."""

    def refuse(name: str) -> object:
        raise AssertionError(f"{name} in a JSON answer: {raw[:200]!r}")

    return json.loads(raw, parse_constant=refuse)


def checked(response: TestResponse) -> TestResponse:
    """Read the whole (maybe streamed) answer; no 5xx, no trace, JSON that is JSON."""
    body = response.get_data()
    assert response.status_code < 500, body[:500]
    assert b"Traceback" not in body
    if response.mimetype == "application/json" and body:
        strict_json(body)
    return response


def chunked(client: FlaskClient, path: str, body: bytes, headers: dict[str, str]) -> TestResponse:
    """POST with no Content-Length, as a chunked request reaches the app (input terminated)."""
    builder = EnvironBuilder(path=path, method="POST", data=body, headers=list(headers.items()))
    environ = builder.get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    return client.open(Request(environ))


# -- what a hostile client can send -------------------------------------------------------------

_latin1 = st.binary(max_size=60).map(lambda raw: raw.decode("latin-1"))  # any bytes, as WSGI sees
_unicode = st.text(max_size=60).map(lambda text: text.encode().decode("latin-1"))
_header = st.one_of(_latin1, _unicode).map(lambda v: v.replace("\r", "").replace("\n", ""))
_PHONES = [CONTACT, BUSINESS, "+12065550177", "2065550123", "+442071838750", "911", "+1", "0"]
_phone = st.one_of(st.sampled_from(_PHONES), st.text(max_size=20))
_digits = st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=6)  # "²", "١٢"
_moment = st.builds(
    lambda moment, offset: moment.isoformat() + offset,
    st.datetimes(),
    st.sampled_from(["", "Z", "+00:00", "+23:59", "-23:59", " 05:00", "+99:00"]),
)
_QUERY = {
    "since": st.one_of(_moment, st.dates().map(str), st.text(max_size=30)),
    "sender": _phone,
    "phone": _phone,
    "limit": st.one_of(st.integers().map(str), _digits, st.text(max_size=8)),
    "reason": st.text(max_size=40),
}
_query = st.one_of(
    st.fixed_dictionaries({}, optional=_QUERY).map(urlencode),
    st.binary(max_size=60).map(lambda raw: quote_from_bytes(raw, safe="=&+%")),
)
_segment = st.one_of(
    st.sampled_from([*_PHONES, "check", "1", "0", str(2**64), "-1", "%", ".."]),
    st.integers(min_value=0).map(str),  # review ids
    _phone,
    st.text(max_size=30),
    st.binary(max_size=30),
).map(lambda s: quote_from_bytes(s) if isinstance(s, bytes) else quote(s, safe=""))
# Every route of the API with its own method (3 times in 4), else any method at all.
_ROUTES = [
    ("GET", "/v1/consent/{}"), ("POST", "/v1/consent/check"), ("POST", "/v1/optouts"),
    ("DELETE", "/v1/optouts/{}"), ("GET", "/v1/optouts"), ("GET", "/v1/contacts/{}/events"),
    ("GET", "/v1/reviews"), ("POST", "/v1/reviews/{}/decision"), ("GET", "/v1/{}/{}"),
]  # fmt: skip
_methods = st.one_of(
    st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "TRACE"]),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=10),
)
_own_method = st.one_of(st.none(), st.none(), st.none(), _methods)
_route = st.tuples(st.sampled_from(_ROUTES), _own_method, _segment, _segment).map(
    lambda t: (t[1] or t[0][0], t[0][1].format(t[2], t[3]))
)
_json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | _phone,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)
_route_body = st.fixed_dictionaries(
    {},
    optional={
        "sender": _phone | _json_value, "phone": _phone | _json_value,
        "phones": st.lists(_phone | _json_value, max_size=8) | _json_value,
        "reason": st.text(max_size=40) | _json_value, "opt_out": st.booleans() | _json_value,
    },
)  # fmt: skip
_VALID = b'{"sender": "+12065550100", "phones": ["+12065550123"]}'
_SPECIAL = [
    b"", b"null", b"[]", b"\x00" * 16, b"[" * 3000, b'{"a":' * 2000, b"1" * 4000, b"1e999999",
    b"-1e999999", b'"\\ud800"', b'{"sender": "+12065550100", "sender": 5, "phones": []}',
    b'{"phones": [NaN, Infinity, -Infinity, 1e999], "sender": "+12065550100"}',
    b'{"opt_out": true, "opt_out": NaN}', b"\xef\xbb\xbf" + _VALID,
    _VALID.decode().encode("utf-16"), _VALID.decode().encode("utf-32"), gzip.compress(_VALID),
    b"\xff\xfe\xfd", b" " * API_LIMIT, b" " * (API_LIMIT + 1),
    _VALID + b" " * (API_LIMIT - len(_VALID)),
]  # fmt: skip
_body = st.one_of(
    st.binary(max_size=300),
    _route_body.map(lambda d: json.dumps(d).encode()),
    _json_value.map(lambda v: json.dumps(v).encode()),
    st.sampled_from(_SPECIAL),
)
_content_type = st.one_of(
    st.none(),
    st.sampled_from([
        "application/json", "application/json; charset=utf-8", "application/json; charset=latin-1",
        "application/json; charset=utf-16", "text/plain", "application/x-www-form-urlencoded",
        "multipart/form-data", "multipart/form-data; boundary=x", "application/json;;;=",
    ]),
    _header,
)  # fmt: skip
_encoding = st.one_of(st.none(), st.sampled_from(["gzip", "deflate", "br", "identity"]), _header)
_auth = st.one_of(
    st.none(),
    st.sampled_from(
        ["", "Bearer", "Bearer ", "Bearer wrong", "Basic dGVzdHM6dA==", "Bearer " + "a" * 9000]
    ),
    _header.map(lambda t: "Bearer " + t),
    _header,
)


def _send(drill_: Drill, method: str, path: str, query: str, body: bytes,
          headers: dict[str, str | None], no_length: bool) -> TestResponse:  # fmt: skip
    """One request; a POST may come without Content-Length, as a chunked one does."""
    sent = {name: value for name, value in headers.items() if value is not None}
    if no_length and method == "POST":
        return checked(chunked(drill_.client, f"{path}?{query}", body, sent))
    return checked(
        drill_.client.open(path, method=method, query_string=query, data=body, headers=sent)
    )


@drill(200)
@given(route=_route, query=_query, body=_body, content_type=_content_type, encoding=_encoding,
       auth=_auth, no_length=st.booleans())  # fmt: skip
def test_api_without_a_valid_token_refuses_and_changes_nothing(
    hostile: Drill, route: tuple[str, str], query: str, body: bytes, content_type: str | None,
    encoding: str | None, auth: str | None, no_length: bool,
) -> None:  # fmt: skip
    assume(API_TOKEN not in (auth or ""))
    before = hostile.snapshot()
    headers = {"Authorization": auth, "Content-Type": content_type, "Content-Encoding": encoding}
    response = _send(hostile, *route, query, body, headers, no_length)
    event(f"{response.status_code}")  # --hypothesis-show-statistics shows what was reached
    # A route that matched checks the token first; only routing (404, 405) answers before it.
    assert response.status_code in (401, 404, 405), response.get_data()[:300]
    assert hostile.snapshot() == before


@drill(300)
@given(route=_route, query=_query, body=_body, content_type=_content_type, encoding=_encoding,
       no_length=st.booleans())  # fmt: skip
def test_api_with_the_token_never_500_and_reads_change_nothing(
    hostile: Drill, route: tuple[str, str], query: str, body: bytes, content_type: str | None,
    encoding: str | None, no_length: bool,
) -> None:  # fmt: skip
    before = hostile.snapshot()
    headers = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": content_type,
               "Content-Encoding": encoding}  # fmt: skip
    response = _send(hostile, *route, query, body, headers, no_length)
    event(f"{response.status_code}")
    if route[0] in ("GET", "HEAD", "OPTIONS"):
        assert hostile.snapshot() == before


@pytest.mark.parametrize(
    "header",
    ["test-api-token", "Basic test-api-token", "Token test-api-token", "Bearer test-api-token2",
     "Bearer test-api-tokenx", "Bearer test-api-token\x00", "Bearer\ttest-api-token",
     "Bearer TEST-API-TOKEN", "Bearer test-api-toke", "Bearer Bearer test-api-token",
     b"Bearer test-api-token".decode("utf-16", "replace").encode().decode("latin-1")],
)  # fmt: skip
def test_near_misses_of_the_token_are_refused(hostile: Drill, header: str) -> None:
    before = hostile.snapshot()
    response = checked(hostile.client.post("/v1/optouts", json={"phone": CONTACT},
                                           headers={"Authorization": header}))  # fmt: skip
    assert response.status_code == 401
    assert hostile.snapshot() == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/v1/contacts/{CONTACT}/events?limit=%C2%B2", None),  # "²".isdigit()
        ("GET", "/v1/optouts?since=9999-12-31T23:59:59-23:59", None),  # past year 9999 in UTC
        ("GET", "/v1/optouts?since=0001-01-01T00:00:00%2B01:00", None),  # before year 1 in UTC
        ("POST", "/v1/consent/check", b'{"sender": "+12065550100", "phones": [NaN]}'),
        ("POST", "/v1/consent/check", b'{"sender": "+12065550100", "phones": [-Infinity]}'),
        ("POST", "/v1/consent/check", b'{"sender": "+12065550100", "phones": [1e999]}'),
    ],
    ids=["superscript-limit", "since-after-9999", "since-before-1", "nan", "infinity", "1e999"],
)
def test_what_the_drill_found_is_a_400(
    hostile: Drill, method: str, path: str, body: bytes | None
) -> None:
    """Regressions: each of these was a 500, or a 200 whose body was not JSON (NaN echoed)."""
    response = checked(hostile.client.open(path, method=method, data=body, headers=bearer()))
    assert response.status_code == 400, response.get_data()


# -- the Twilio hook and the Slack endpoint: forged or unsigned, whatever the body --------------

_FIELDS = ["From", "To", "Body", "MessageSid", "SmsSid", "AccountSid", "NumMedia", "OptOutType"]
_form = st.lists(
    st.tuples(
        st.sampled_from(_FIELDS) | st.text(max_size=12),
        st.sampled_from([CONTACT, BUSINESS, "STOP", "START", "STOPALL", "SM" + "7" * 32])
        | st.text(max_size=40),
    ),
    max_size=8,
)
_near = st.integers(-64, 64)  # bytes around a size limit
_FORGERIES = ["none", "random", "wrong token", "other url", "other form", "stale twin"]


def _forge(kind: str, form: list[tuple[str, str]], random: str) -> str | None:
    """An X-Twilio-Signature that is not the one for this form at this URL."""
    data = MultiDict(form)
    signatures = {
        "none": None,
        "random": random,
        "wrong token": sign(data, token="not-the-token"),
        "other url": sign(data, url="https://localhost" + HOOK),
        "other form": sign(MultiDict([*form, ("Body", "STOP")])),
        # A genuine signature of an earlier text, sent again with this one.
        "stale twin": sign(sms("STOP", sid="SM" + "0" * 32)),
    }
    return signatures[kind]


@drill(150)
@given(form=_form, kind=st.sampled_from(_FORGERIES), random=_header, pad=st.none() | _near,
       raw=st.none() | st.binary(max_size=200), content_type=_content_type,
       no_length=st.booleans())  # fmt: skip
def test_hook_unsigned_or_forged_changes_nothing(
    hostile: Drill, form: list[tuple[str, str]], kind: str, random: str, pad: int | None,
    raw: bytes | None, content_type: str | None, no_length: bool,
) -> None:  # fmt: skip
    if pad is not None:  # a body around the 64 KiB cap, the size counted exactly
        size = len(urlencode(form).encode()) + len("&Pad=")
        form = [*form, ("Pad", "a" * max(0, HOOK_LIMIT - size + pad))]
    body = raw if raw is not None else urlencode(form).encode()
    signature = _forge(kind, form, random)
    headers = {"Content-Type": content_type or "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    before = hostile.snapshot()
    if no_length:
        response = checked(chunked(hostile.client, HOOK, body, headers))
    else:
        response = checked(hostile.client.post(HOOK, data=body, headers=headers))
    expected = 413 if len(body) > HOOK_LIMIT else 403
    assert response.status_code == expected, response.get_data()[:300]
    assert hostile.snapshot() == before


def _slack_forge(kind: str, body: bytes, random: str, skew: int) -> dict[str, str]:
    """Slack's two headers, wrong in one way or another for this body."""
    now = int(time.time())
    stamp = str(now)
    headers = {
        "random": {"X-Slack-Request-Timestamp": random, "X-Slack-Signature": random},
        "stale": {"X-Slack-Request-Timestamp": str(now - 301 - skew)},
        "future": {"X-Slack-Request-Timestamp": str(now + 301 + skew)},
        "other body": {"X-Slack-Signature": signature(body + b"&x=1", stamp)},
        "wrong secret": {"X-Slack-Signature": signature(body, stamp, "not-the-secret")},
        "upper case": {"X-Slack-Signature": signature(body, stamp).upper()},
        "v1": {"X-Slack-Signature": "v1=" + signature(body, stamp)[3:]},
        "no timestamp": {"X-Slack-Request-Timestamp": ""},
        "padded timestamp": {"X-Slack-Request-Timestamp": f" {stamp}"},
        "none": {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""},
    }[kind]
    stamp = headers.setdefault("X-Slack-Request-Timestamp", stamp)
    headers.setdefault("X-Slack-Signature", signature(body, stamp))
    return headers


_slack_bodies = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda command, text: urlencode({"command": command, "text": text}).encode(),
        st.sampled_from(["/optout", "/optin", "/consent"]),
        st.text(max_size=60),
    ),
    _near.map(lambda n: b"a" * (HOOK_LIMIT + n)),
)


@drill(150)
@given(body=_slack_bodies, kind=st.sampled_from(
    ["random", "stale", "future", "other body", "wrong secret", "upper case", "v1",
     "no timestamp", "padded timestamp", "none"]),
       random=_header, skew=st.integers(0, 10**9), content_type=_content_type)  # fmt: skip
def test_slack_unsigned_or_forged_changes_nothing(
    hostile: Drill, body: bytes, kind: str, random: str, skew: int, content_type: str | None
) -> None:
    headers = _slack_forge(kind, body, random, skew)
    if content_type is not None:
        headers["Content-Type"] = content_type
    before = hostile.snapshot()
    response = checked(hostile.client.post(EVENTS, data=body, headers=headers))
    expected = 413 if len(body) > HOOK_LIMIT else 401
    assert response.status_code == expected, response.get_data()[:300]
    assert hostile.snapshot() == before


# -- sizes: a body of exactly the limit is read, one byte more is 413 and changes nothing -------


def _padded(make: Any, limit: int) -> bytes:
    """make(padding) -> body; the body with enough padding to be exactly `limit` bytes."""
    bare: bytes = make("")
    body: bytes = make("a" * (limit - len(bare)))
    assert len(body) == limit
    return body


FORM = "application/x-www-form-urlencoded"
Built = tuple[str, bytes, dict[str, str]]


def _hook_request(drill_: Drill, extra: int, phone: str) -> Built:
    form = sms("hello", contact=phone)
    body = _padded(lambda pad: urlencode({**form, "Pad": pad}).encode(), HOOK_LIMIT + extra)
    signed = sign(dict(parse_qsl(body.decode())))
    return HOOK, body, {"X-Twilio-Signature": signed, "Content-Type": FORM}


def _api_request(drill_: Drill, extra: int, phone: str) -> Built:
    # Padded with JSON whitespace: a reason is capped at 1,000 characters (core.text).
    make = lambda pad: (json.dumps({"phone": phone}) + " " * len(pad)).encode()  # noqa: E731
    return (
        "/v1/optouts",
        _padded(make, API_LIMIT + extra),
        {**bearer(), "Content-Type": "application/json"},
    )


def _slack_request(drill_: Drill, extra: int, phone: str) -> Built:
    command = drill_.slack.command_body("/consent", phone)
    body = _padded(lambda pad: command + b"&pad=" + pad.encode(), HOOK_LIMIT + extra)
    stamp = str(int(time.time()))
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature(body, stamp)}
    return EVENTS, body, {**headers, "Content-Type": FORM}


_LIMITS = [(kind, extra, no_length) for kind in ("hook", "api", "slack") for extra in (0, 1)
           for no_length in (False, True)]  # fmt: skip


@pytest.mark.parametrize(("kind", "extra", "no_length"), _LIMITS)
def test_a_body_at_the_limit_is_read_and_one_byte_over_is_413(
    hostile: Drill, kind: str, extra: int, no_length: bool
) -> None:
    phone = f"+120655501{40 + _LIMITS.index((kind, extra, no_length)):02d}"  # one per case
    build = {"hook": _hook_request, "api": _api_request, "slack": _slack_request}[kind]
    path, body, headers = build(hostile, extra, phone)
    before = hostile.snapshot()
    if no_length:
        response = checked(chunked(hostile.client, path, body, headers))
    else:
        response = checked(hostile.client.post(path, data=body, headers=headers))
    if extra:
        assert response.status_code == 413
        assert hostile.snapshot() == before
    else:
        assert response.status_code in (200, 201), response.get_data()[:300]
        # Signed and within the limit: the hook and the API record it, Slack remembers it.
        assert hostile.snapshot() != before


def test_a_replayed_slack_request_is_refused_and_changes_nothing(hostile: Drill) -> None:
    body = hostile.slack.command_body("/consent", "2065550123")
    stamp = str(int(time.time()))
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature(body, stamp)}
    assert checked(hostile.client.post(EVENTS, data=body, headers=headers)).status_code == 200
    before = hostile.snapshot()
    assert checked(hostile.client.post(EVENTS, data=body, headers=headers)).status_code == 401
    assert hostile.snapshot() == before
