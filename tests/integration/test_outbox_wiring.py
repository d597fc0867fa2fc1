"""The outbox in the composed app: built when a carrier's replies are stopline's, started
after the fork, woken by the service, counted, closed; and migration 0005 both ways."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, inspect

from core.config import Settings
from core.model import InboundMessage
from core.services import utcnow
from stopline.outbox_worker import OutboxWorker
from stopline.wiring import Services, build_services, close_app, migrate, start_outbox, wire_app
from tests.integration.test_migration_numbers import _downgrade
from tests.outbox_fakes import FakeSender

MESSAGE_ID = "7ee4241c-f127-47e5-9c34-3aac291f8058"


@pytest.fixture
def telnyx(settings: Settings) -> Settings:
    """Settings with Telnyx's door on and its replies sent by stopline."""
    return settings.model_copy(
        update={"telnyx_public_key": "test-telnyx-public-key", "telnyx_api_key": "KEYtest"}
    )


@pytest.fixture
def services(telnyx: Settings) -> Iterator[Services]:
    """The real services over the test's ledger (closed by close_app or here)."""
    built = build_services(telnyx)
    yield built
    built.close()


def stop(services: Services) -> None:
    services.consent.receive_message(InboundMessage(
        "telnyx", MESSAGE_ID, "+12065550100", "+12065550199", "STOP", utcnow(), reply_by_api=True,
    ))  # fmt: skip


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("not in time")
        time.sleep(0.01)


def test_a_worker_is_built_not_started_then_sends_once_woken_and_is_counted(
    telnyx: Settings, services: Services
) -> None:
    sender = FakeSender()
    app = wire_app(telnyx, services, senders={"telnyx": sender})
    worker = app.extensions["stopline.outbox"]
    assert isinstance(worker, OutboxWorker)
    assert not worker.running  # a thread started here would not cross gunicorn's fork
    start_outbox(app)  # post_fork
    assert worker.running
    stop(services)
    wait_for(lambda: len(sender.sent) == 1)
    wait_for(lambda: b'stopline_outbox_replies_total{outcome="sent"} 1.0'
             in app.test_client().get("/metrics").data)  # fmt: skip
    close_app(app, services)
    assert not worker.running


@pytest.mark.parametrize("replies", ["carrier", "none"])
def test_no_worker_when_no_carrier_replies_through_stopline(
    telnyx: Settings, services: Services, replies: str
) -> None:
    chosen = telnyx.model_copy(update={"telnyx_replies": replies})
    app = wire_app(chosen, services, senders={})
    assert "stopline.outbox" not in app.extensions
    start_outbox(app)  # nothing to start, nothing raised


@pytest.mark.skipif(
    importlib.util.find_spec("outbound") is not None, reason="the outbound package is installed"
)
def test_without_the_senders_package_the_app_says_what_to_set(
    telnyx: Settings, services: Services
) -> None:
    with pytest.raises(RuntimeError, match="TELNYX_REPLIES"):
        wire_app(telnyx, services)


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migration_0005_adds_and_removes_the_outbox(database_url: str) -> None:
    assert "outbox" in _tables(database_url)
    _downgrade(database_url, "0004")
    assert "outbox" not in _tables(database_url)
    migrate(Settings(database_url=database_url, _env_file=None))  # type: ignore[call-arg]
    assert "outbox" in _tables(database_url)
