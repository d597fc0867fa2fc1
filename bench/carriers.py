"""Benchmark 1c: each carrier's inbound hook in-process, against a bare Flask app doing the least.

For every carrier, stopline and a bare Flask app get the same genuine deliveries (30% STOP,
10% START, 60% chat, a new contact each), signed as that carrier signs them, as WSGI calls
built before the clock starts. The bare app parses the same body (the form, or the JSON) and
answers 200. Runs are interleaved; medians are printed with the ratio, on SQLite.
"""

from __future__ import annotations

import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.test import EnvironBuilder

from bench.carrier_requests import CARRIERS, SETTINGS, message_id
from bench.common import Timing, heading, ratio_line
from bench.hook import WsgiApp
from bench.signed import SENDER, contacts, mix_bodies
from core.carrier_settings import CARRIER_NAMES, DOOR_PATHS
from core.config import Settings
from stopline.wiring import Services, build_services, migrate
from web.app import create_app

BASE = "http://localhost"
ROOT = Path(__file__).resolve().parent.parent


def bare_app() -> Flask:
    """The baseline: every carrier's path, parsing its body, answering an empty 200."""
    app = Flask("bare")

    def inbound() -> Response:
        if request.mimetype == "application/json":
            if json.loads(request.get_data()) is None:
                return Response("no body", status=400)
        elif not request.form:
            return Response("no form", status=400)
        return Response(status=200)

    for name in CARRIER_NAMES:
        app.add_url_rule(DOOR_PATHS[name][0], f"bare_{name}", inbound, methods=["POST"])
    return app


def environs(carrier: str, n: int, seed: int) -> list[dict[str, Any]]:
    """n signed deliveries of `carrier`, one new contact each, as ready WSGI environs."""
    build = CARRIERS[carrier]
    out = []
    texts = zip(contacts(n, seed), mix_bodies(n, seed), strict=True)
    for i, (contact, text) in enumerate(texts):
        made = build(BASE, message_id(carrier, seed, i), contact, SENDER, text)
        builder = EnvironBuilder(
            path=made.path, method="POST", headers=list(made.headers.items()),
            input_stream=io.BytesIO(made.body), content_length=len(made.body),
        )  # fmt: skip
        out.append(builder.get_environ())
    return out


def drive(app: WsgiApp, batch: list[dict[str, Any]]) -> float:
    """Send every environ through the app; wall seconds per request (2xx only)."""
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, _exc: Any = None) -> None:
        statuses.append(status)

    started = time.perf_counter()
    for environ in batch:
        b"".join(app(environ, start_response))
    elapsed = time.perf_counter() - started
    bad = [s for s in statuses if not s.startswith("2")]
    if bad:
        raise SystemExit(f"carrier benchmark: {len(bad)} answers were not 2xx, e.g. {bad[0]}")
    return elapsed / len(batch)


def stopline_app(database_url: str) -> tuple[Flask, Services]:
    """stopline with every carrier's door on, on a fresh migrated ledger and the shipped rules."""
    settings = Settings(
        database_url=database_url, rules_path=ROOT / "rules.yml",
        _env_file=None, **SETTINGS,  # type: ignore[call-arg, arg-type]
    )  # fmt: skip
    migrate(settings)
    services = build_services(settings)
    return create_app(settings, services), services


def run(quick: bool) -> None:
    """Benchmark 1c: each carrier's hook vs bare Flask, in-process, on SQLite."""
    heading("Each carrier's inbound hook in-process (signed; 30% STOP, 10% START, 60% chat)")
    n, runs = (200, 2) if quick else (1000, 5)
    with tempfile.TemporaryDirectory(prefix="stopline-bench-carriers-") as tmp:
        app, services = stopline_app(f"sqlite:///{tmp}/carriers.db")
        bare = bare_app()
        try:
            for index, carrier in enumerate(CARRIER_NAMES):
                # Seeds below 150 give disjoint contacts (bench.signed): none texts twice.
                drive(app, environs(carrier, 100, 130 + 2 * index))  # warm: first-call costs
                drive(bare, environs(carrier, 100, 131 + 2 * index))
                ours, base = [], []
                for r in range(runs):
                    base.append(drive(bare, environs(carrier, n, 70 + index * 10 + r)))
                    ours.append(drive(app, environs(carrier, n, 2 + index * 10 + r)))
                subject, baseline = Timing("stopline", ours), Timing("bare Flask", base)
                ours_us, base_us = subject.median * 1e6, baseline.median * 1e6
                print(f"  {carrier}: stopline {ours_us:.0f} µs, bare Flask {base_us:.0f} µs "
                      f"per request ({n} × {runs} runs)")  # fmt: skip
                print(ratio_line(f"{carrier}, wall", subject, baseline, None))
        finally:
            services.close()
