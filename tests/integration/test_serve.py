"""A real `stopline serve` (gunicorn) on 127.0.0.1: a signed Twilio STOP reaches the ledger."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[2]
TWILIO_TOKEN = "serve-test-twilio-token"
API_TOKEN = "serve-test-api-token"
CONTACT = "+12065550142"
SENDER = "+12065550199"
OTHER_SENDER = "+12065550198"
START_TIMEOUT = 60.0

pytestmark = pytest.mark.slow


def stopline_command() -> list[str]:
    """The venv's `stopline` script when installed, else `python -m stopline`."""
    script = Path(sys.executable).parent / "stopline"
    return [str(script)] if script.exists() else [sys.executable, "-m", "stopline"]


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    base: str
    log: Path
    process: subprocess.Popen[bytes]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def environment(tmp_path: Path) -> dict[str, str]:
    """Only the settings under test: no developer .env (cwd is tmp_path), no stray STOPLINE_*."""
    carriers = ("TWILIO_", "TELNYX_", "PLIVO_", "BANDWIDTH_", "VONAGE_", "SINCH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STOPLINE_", *carriers))}
    env.update(
        STOPLINE_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        STOPLINE_RULES_PATH=str(ROOT / "rules.yml"),
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        STOPLINE_API_TOKEN=API_TOKEN,
        PYTHONPATH=str(ROOT),
    )
    return env


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn and its workers (its own process group), forcefully if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def start_server(tmp_path: Path, **extra_env: str) -> Server:
    """Migrate a fresh ledger and start `stopline serve` on a free port (2 workers)."""
    env = {**environment(tmp_path), **extra_env}
    upgrade = subprocess.run(
        [*stopline_command(), "db", "upgrade"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stderr
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*stopline_command(), "serve", "--port", str(port), "--workers", "2"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    running = Server(f"http://127.0.0.1:{port}", log, process)
    try:
        wait_healthy(running)
    except BaseException:
        stop(process)
        raise
    return running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module; each test uses its own contact."""
    running = start_server(tmp_path_factory.mktemp("serve"))
    try:
        yield running
    finally:
        stop(running.process)


def wait_healthy(server: Server) -> None:
    """Poll /healthz until it answers 200; fail with the server's output otherwise."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"stopline serve exited early:\n{server.output()}")
        try:
            with urllib.request.urlopen(f"{server.base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"stopline serve did not become healthy in {START_TIMEOUT}s:\n{server.output()}")


def post_twilio(server: Server, params: dict[str, str], signature: str | None) -> tuple[int, str]:
    url = f"{server.base}/webhooks/twilio"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    body = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def sign(server: Server, params: dict[str, str]) -> str:
    """Twilio's signature over the exact URL the hook is served at."""
    signature: str = RequestValidator(TWILIO_TOKEN).compute_signature(
        f"{server.base}/webhooks/twilio", params
    )
    return signature


def consent(server: Server, phone: str, sender: str) -> dict[str, object]:
    query = urllib.parse.urlencode({"sender": sender})
    path = urllib.parse.quote(phone)
    request = urllib.request.Request(
        f"{server.base}/v1/consent/{path}?{query}",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        found: dict[str, object] = json.load(response)
        return found


def message(body: str, sid: str, contact: str = CONTACT) -> dict[str, str]:
    """Twilio's form fields for a contact's text to SENDER."""
    return {"From": contact, "To": SENDER, "Body": body, "MessageSid": sid, "AccountSid": "AC1"}


def test_banner_says_where_and_what_is_configured(server: Server) -> None:
    out = server.output()
    assert f"listening on {server.base}" in out
    assert "Twilio:   configured" in out
    assert f"{server.base}/webhooks/twilio" in out
    assert "API:      configured" in out
    assert "SLACK_BOT_TOKEN" in out  # Slack is not configured: the banner says what to set


def test_signed_stop_opts_out_through_real_server(server: Server) -> None:
    params = message("STOP", "SM" + "1" * 32)
    status, body = post_twilio(server, params, sign(server, params))
    assert status == 200
    assert "<Response>" in body and "<Message>" in body  # one confirmation

    assert consent(server, CONTACT, SENDER) | {"since": None} == {
        "phone": CONTACT,
        "sender": SENDER,
        "status": "opted_out",
        "can_send": False,
        "opted_out_by": "contact",
        "scope": "sender",
        "since": None,
    }
    # STOP covers the number texted, not the business's other numbers.
    assert consent(server, CONTACT, OTHER_SENDER)["can_send"] is True

    # Twilio retries the same MessageSid: the same answer, nothing recorded twice.
    again_status, again_body = post_twilio(server, params, sign(server, params))
    assert (again_status, again_body) == (status, body)


@pytest.mark.parametrize("signature", [None, "Zm9yZ2Vk"])
def test_unsigned_or_forged_stop_is_refused(server: Server, signature: str | None) -> None:
    contact = "+12065550143"
    status, _ = post_twilio(server, message("STOP", "SM" + "2" * 32, contact), signature)
    assert status == 403
    assert consent(server, contact, SENDER)["status"] == "subscribed"


def test_broken_rules_and_sighup_keep_the_last_good_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text((ROOT / "rules.yml").read_text())
    running = start_server(
        tmp_path, STOPLINE_RULES_PATH=str(rules), STOPLINE_RULES_RELOAD_INTERVAL="0.1"
    )
    try:
        rules.write_text("keywords: [\n")  # someone saves a broken file
        time.sleep(0.3)
        for n, contact in enumerate(("+12065550150", "+12065550151", "+12065550152")):
            params = message("STOP", f"SM{n:032d}", contact)
            status, body = post_twilio(running, params, sign(running, params))
            assert (status, "<Message>" in body) == (200, True)
        # SIGHUP to gunicorn's master restarts the workers; they must boot with good rules
        # (a worker failing to boot would halt the whole server).
        os.kill(running.process.pid, signal.SIGHUP)
        time.sleep(2)
        params = message("STOP", "SM" + "9" * 32, "+12065550153")
        status, body = post_twilio(running, params, sign(running, params))
        assert (status, "<Message>" in body) == (200, True)
        assert running.process.poll() is None, running.output()
        assert "failed to boot" not in running.output()
    finally:
        stop(running.process)
