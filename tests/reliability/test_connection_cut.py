"""Drill: the connection to PostgreSQL breaks at every message of a request, one at a time.

A proxy between stopline and PostgreSQL (tests/reliability/pgproxy.py) counts the messages
a request sends and breaks the connection at the Nth: taking it from the pool (a new
connection's startup and SET statements), BEGIN, each statement, the pipeline's sync,
COMMIT, and the rollback and return to the pool after the break. For every N the answer is
200 (201) or 503 with Retry-After, the contact's STOP is stored whole or not at all, no error
escapes ledger.db's translation, and the retry afterwards is stored exactly once.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, func, select
from werkzeug.test import TestResponse

from core.config import Settings
from ledger.tables import consent, consent_events, contacts, inbound_messages
from stopline.wiring import build_services, migrate
from tests.conftest import RULES
from tests.reliability.pgproxy import Cut, PgProxy
from tests.web.helpers import API_TOKEN, BUSINESS, TWILIO_TOKEN, bearer, post_sms, sms
from web import create_app

pytestmark = pytest.mark.postgres

_numbers = itertools.count(1000)
# Logged when an error escaped ledger.db's translation (web/errors.py): a 503 by luck only.
ESCAPED = ("unexpected error", "database error while handling a request")


def new_contact() -> str:
    """A contact number no other request of the test used."""
    return f"+1206555{next(_numbers):04d}"


@dataclass(frozen=True)
class Scenario:
    """One kind of request: how to send it, what it answers, what it stores."""

    name: str
    send: Callable[[FlaskClient, str], TestResponse]
    ok: int
    writes: bool


def _stop(client: FlaskClient, contact: str) -> TestResponse:
    # The MessageSid follows from the contact: a retry is the carrier's retry of the same text.
    return post_sms(client, sms("STOP", contact=contact, sid=f"SM{contact[1:]:0>32}"))


def _opt_out(client: FlaskClient, contact: str) -> TestResponse:
    return client.post("/v1/optouts", json={"phone": contact}, headers=bearer())


def _check(client: FlaskClient, contact: str) -> TestResponse:
    body = {"sender": BUSINESS, "phones": [contact]}
    return client.post("/v1/consent/check", json=body, headers=bearer())


SCENARIOS = (
    Scenario("twilio_stop", _stop, 200, writes=True),
    Scenario("api_opt_out", _opt_out, 201, writes=True),
    Scenario("send_check", _check, 200, writes=False),
)


def _via(url: str, port: int) -> str:
    """The same URL through the proxy (and without TLS, whose bytes the proxy can't read)."""
    parts = urlsplit(url)
    netloc = f"{parts.username}@127.0.0.1:{port}" if parts.username else f"127.0.0.1:{port}"
    query = "&".join(filter(None, [parts.query, "sslmode=disable", "gssencmode=disable"]))
    return urlunsplit(parts._replace(netloc=netloc, query=query))


class Rig:
    """stopline's app over a ledger reached through the proxy, and a direct look at the ledger."""

    def __init__(self, proxy: PgProxy, settings: Settings, direct: Engine) -> None:
        self.proxy = proxy
        self.settings = settings
        self.direct = direct  # to the ledger, not through the proxy
        self.services = build_services(settings)
        self.client = create_app(settings, self.services).test_client()
        # The engine's first connection also reads the server's settings: once per engine.
        assert _check(self.client, new_contact()).status_code == 200

    def stored(self, contact: str) -> tuple[int, ...]:
        """The contact's rows: contacts, consent, consent events, inbound messages.

        One statement, so one snapshot: a COMMIT whose answer the cut lost may land at any
        moment, and it is seen whole or not at all.
        """
        columns = (contacts.c.phone, consent.c.contact, consent_events.c.contact,
                   inbound_messages.c.contact)  # fmt: skip
        counts = [
            select(func.count()).where(column == contact).scalar_subquery() for column in columns
        ]
        with self.direct.connect() as conn:
            return tuple(conn.execute(select(*counts)).one())

    def ready(self, scenario: Scenario, pool: str) -> None:
        """The pool as the request should meet it (one of POOLS)."""
        if pool == "first_connection":  # a new process: the engine also reads server settings
            self.close()
            self.services = build_services(self.settings)
            self.client = create_app(self.settings, self.services).test_client()
            return
        self.services.database.dispose()
        if pool == "pooled":
            assert scenario.send(self.client, new_contact()).status_code == scenario.ok

    def close(self) -> None:
        """Release the app's connections and rules."""
        self.services.close()


# The connection a request is given: one that served a request before, a new one (its
# startup and SET statements), or the process's first (SQLAlchemy reads the server's settings).
POOLS = ("pooled", "new_connection", "first_connection")


@pytest.fixture
def rig(pg_schema_url: str) -> Iterator[Rig]:
    """stopline's app whose ledger is reached through a proxy that can break the connection."""
    migrate(Settings(database_url=pg_schema_url, _env_file=None))  # type: ignore[call-arg]
    host = urlsplit(pg_schema_url)
    proxy = PgProxy((host.hostname or "127.0.0.1", host.port or 5432))
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=_via(pg_schema_url, proxy.port),
        rules_path=RULES,
        twilio_auth_token=TWILIO_TOKEN,
        api_token=API_TOKEN,
        api_token_name="tests",
    )
    direct = create_engine(pg_schema_url)
    rig = Rig(proxy, settings, direct)
    try:
        yield rig
    finally:
        rig.close()
        direct.dispose()
        proxy.close()


def _escaped(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(ESCAPED)]


@pytest.mark.parametrize("cut", list(Cut), ids=[c.value for c in Cut])
@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_a_broken_connection_is_503_or_stored(
    rig: Rig, caplog: pytest.LogCaptureFixture, scenario: Scenario, pool: str, cut: Cut
) -> None:
    caplog.set_level(logging.INFO)
    rig.ready(scenario, pool)
    rig.proxy.arm(None, cut)  # counts what this kind of cut counts
    contact = new_contact()
    assert scenario.send(rig.client, contact).status_code == scenario.ok
    messages = list(rig.proxy.seen)
    whole = rig.stored(contact)
    assert messages and (not scenario.writes or whole[:3] == (1, 1, 1)), (messages, whole)
    problems: list[str] = []
    for n in range(1, len(messages) + 1):
        contact = new_contact()
        rig.ready(scenario, pool)
        caplog.clear()
        rig.proxy.arm(n, cut)
        response = scenario.send(rig.client, contact)
        broken = rig.proxy.broken
        rig.proxy.arm(None)
        where = f"N={n} ({broken or 'never reached'} of {''.join(messages)})"
        after = rig.stored(contact)
        if broken is None:
            problems.append(f"{where}: the request sent fewer messages than measured")
        if response.status_code not in (scenario.ok, 503):
            problems.append(f"{where}: answered {response.status_code} {response.get_data()!r}")
        elif response.status_code == 503 and "Retry-After" not in response.headers:
            problems.append(f"{where}: 503 without Retry-After")
        if after not in (whole, (0,) * len(whole)) and scenario.writes:
            problems.append(f"{where}: half stored {after}, whole is {whole}")
        if response.status_code == scenario.ok and scenario.writes and after != whole:
            problems.append(f"{where}: answered {scenario.ok} but stored {after}")
        problems += [f"{where}: logged {m!r}" for m in _escaped(caplog)]
        retry = scenario.send(rig.client, contact)
        if retry.status_code != scenario.ok:
            first, again = response.status_code, retry.status_code
            problems.append(f"{where}: answered {first}, the retry {again} {retry.get_data()!r}")
        elif scenario.writes and rig.stored(contact) != whole:
            problems.append(f"{where}: after the retry stored {rig.stored(contact)}")
    assert not problems, "\n".join(problems)
