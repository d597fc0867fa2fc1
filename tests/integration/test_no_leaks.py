"""Every door closes the ledger connections it opens: none is left for the garbage collector.

A connection dropped unclosed is a file descriptor held until a collection (a leak under
load), and Python 3.13 warns about each. The test counts the process's open descriptors on the
ledger's files after each way stopline opens them, on every Python version.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.config import Settings
from stopline.cli.main import main
from stopline.wiring import build_services, current_revision, migrate
from tests.conftest import RULES
from tests.web.helpers import bearer, post_sms, sms
from web import create_app

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
CONTACT = "+12065550123"


def open_on(ledger: Path) -> list[str]:
    """The descriptors of this process open on the ledger file or its -wal/-shm/-writelock."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed while listing
            continue
        if target.startswith(str(ledger)):
            found.append(target)
    return found


def _settings(ledger: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=f"sqlite:///{ledger}", rules_path=RULES,
        twilio_auth_token="test-twilio-token", api_token="test-api-token", api_token_name="t",
    )  # fmt: skip


def _cli(*args: str) -> Callable[[Path], None]:
    def run(ledger: Path) -> None:
        env = {"STOPLINE_DATABASE_URL": f"sqlite:///{ledger}", "STOPLINE_RULES_PATH": str(RULES)}
        result = CliRunner().invoke(main, list(args), env=env)
        assert result.exit_code in (0, 1), result.output

    return run


def _web(ledger: Path) -> None:
    settings = _settings(ledger)
    services = build_services(settings)
    try:
        client = create_app(settings, services).test_client()
        assert post_sms(client, sms("STOP", contact=CONTACT)).status_code == 200
        assert client.get(f"/v1/consent/{CONTACT}", headers=bearer()).status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/v1/export.csv", headers=bearer()).status_code in (200, 404)
    finally:
        services.close()


def _import(ledger: Path) -> None:
    source = ledger.with_name("list.csv")
    source.write_text(f"phone\n{CONTACT}\n+1206555012x\n")
    _cli("import", str(source))(ledger)


WAYS = {
    "migrate": lambda ledger: migrate(_settings(ledger)),
    "current revision": lambda ledger: current_revision(_settings(ledger)),
    "web app": _web,
    "optout": _cli("optout", CONTACT, "--reason", "asked by phone"),
    "status": _cli("status", CONTACT),
    "export": _cli("export"),
    "import": _import,
    "history": _cli("history", CONTACT),
    "db status": _cli("db", "status"),
    "db upgrade": _cli("db", "upgrade"),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_nothing_is_left_open_on_the_ledger(tmp_path: Path, way: str) -> None:
    ledger = tmp_path / "ledger.db"
    migrate(_settings(ledger))
    gc.disable()  # what is still open must have been closed by stopline, not by a collection
    try:
        WAYS[way](ledger)
        assert open_on(ledger) == []
    finally:
        gc.enable()
        gc.collect()
