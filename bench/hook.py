"""Benchmark 1a: the Twilio web hook in-process, against a bare Flask app doing the least.

Both apps get the same kind of signed Twilio form (30% STOP-family, 10% START-family, 60%
chat, a new contact each) as a WSGI call: the environ is built before the clock starts, so
only the apps are timed. The bare app parses the same form and returns a fixed TwiML.
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from werkzeug.test import EnvironBuilder

from bench.common import Timing, heading, postgres_schema, ratio_line
from bench.signed import STOP_WORDS, body_text, twilio_mix
from core.config import Settings
from stopline.wiring import Services, build_services, migrate
from web.app import create_app

TOKEN = "bench-twilio-token"
URL = "http://localhost/webhooks/twilio"
BARE_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'
TARGET = 2.5
ROOT = Path(__file__).resolve().parent.parent
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def bare_app() -> Flask:
    """The baseline: parse the form Twilio posts, answer a fixed empty TwiML."""
    app = Flask("bare")

    @app.post("/webhooks/twilio")
    def inbound() -> Response:
        form = request.form
        if not (form.get("From") and form.get("To") and form.get("MessageSid")):
            return Response("missing field", status=400)
        return Response(BARE_TWIML, mimetype="text/xml")

    return app


def environs(requests: list[tuple[bytes, dict[str, str]]]) -> list[dict[str, Any]]:
    """One ready WSGI environ per signed request (built before any timing)."""
    out = []
    for body, headers in requests:
        builder = EnvironBuilder(
            path="/webhooks/twilio", method="POST", headers=list(headers.items()),
            input_stream=io.BytesIO(body), content_length=len(body),
        )  # fmt: skip
        out.append(builder.get_environ())
    return out


def drive(app: WsgiApp, batch: list[dict[str, Any]]) -> tuple[float, float]:
    """Send every environ through the app; wall and CPU seconds per request (200s only)."""
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, _exc: Any = None) -> None:
        statuses.append(status)

    started, cpu = time.perf_counter(), time.process_time()
    for environ in batch:
        b"".join(app(environ, start_response))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    bad = [s for s in statuses if not s.startswith("200")]
    if bad:
        raise SystemExit(f"hook benchmark: {len(bad)} answers were not 200, e.g. {bad[0]}")
    return elapsed / len(batch), cpu / len(batch)


def stopline_app(database_url: str) -> tuple[Flask, Services]:
    """stopline's app on a fresh, migrated ledger with the shipped rules."""
    settings = Settings(
        database_url=database_url, rules_path=ROOT / "rules.yml",
        twilio_auth_token=SecretStr(TOKEN),
        _env_file=None,  # type: ignore[call-arg]
    )  # fmt: skip
    migrate(settings)
    services = build_services(settings)
    return create_app(settings, services), services


def stored_optouts(database_url: str) -> int:
    """How many contacts the ledger holds as opted out (any scope)."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(DISTINCT contact) FROM consent WHERE status = 'opted_out'")
        ).scalar_one()
    engine.dispose()
    return int(count)


def measure(label: str, database_url: str, n: int, runs: int) -> None:
    """Time stopline against the bare app, interleaved, and print the medians and ratio."""
    app, services = stopline_app(database_url)
    bare = bare_app()
    drive(app, environs(twilio_mix(200, URL, TOKEN, seed=90)))  # warm both: first-call costs
    drive(bare, environs(twilio_mix(200, URL, TOKEN, seed=91)))
    stops = 0
    ours_t: list[tuple[float, float]] = []
    bare_t: list[tuple[float, float]] = []
    for run in range(runs):
        ours = twilio_mix(n, URL, TOKEN, seed=run + 1)
        stops += sum(body_text(body) in STOP_WORDS for body, _ in ours)
        bare_t.append(drive(bare, environs(twilio_mix(n, URL, TOKEN, seed=run + 50))))
        ours_t.append(drive(app, environs(ours)))
    target = TARGET if label.startswith("SQLite") else None
    for kind, index in (("wall", 0), ("CPU", 1)):
        subject = Timing("stopline", [t[index] for t in ours_t])
        base = Timing("bare Flask", [t[index] for t in bare_t])
        print(f"  {label}, {kind} time per request ({n} requests × {runs} runs): stopline "
              f"{subject.median * 1e6:.0f} µs, bare Flask {base.median * 1e6:.0f} µs")  # fmt: skip
        print(ratio_line(f"{label}, {kind}", subject, base, target if index == 0 else None))
    held = stored_optouts(database_url) - sum(  # the warm-up's STOPs are in the ledger too
        body_text(body) in STOP_WORDS for body, _ in twilio_mix(200, URL, TOKEN, seed=90)
    )
    print(f"  {label}: STOPs sent {stops}, contacts opted out in the ledger {held}"
          f"{'' if held == stops else '  <- MISMATCH'}")  # fmt: skip
    services.close()


def run(quick: bool) -> None:
    """Benchmark 1a: stopline's hook vs bare Flask, in-process, SQLite and PostgreSQL."""
    heading("Web hook in-process (signed Twilio form; 30% STOP, 10% START, 60% chat)")
    n, runs = (300, 2) if quick else (2000, 5)
    with tempfile.TemporaryDirectory(prefix="stopline-bench-hook-") as tmp:
        measure("SQLite (WAL, synchronous=NORMAL)", f"sqlite:///{tmp}/hook.db", n, runs)
    with postgres_schema("bench_hook") as pg:
        if pg is not None:
            measure("PostgreSQL", pg[0], n, runs)
