"""The Slack request handler web/ routes POST /slack/events to: signature, replay, then Bolt."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from flask import Request, Response, jsonify
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_bolt.request.internals import parse_body

from core.config import Settings
from core.errors import DatabaseUnavailable
from core.services import utcnow
from ledger.db import Database
from ledger.replay import ReplayGuard

log = logging.getLogger(__name__)
MAX_SKEW = 300  # seconds, as Slack documents
MAX_TIMESTAMP_DIGITS = 12  # Unix seconds have 10 digits until the year 2286
# A fingerprint is kept longer than a timestamp stays acceptable, so no replay outlives it.
REPLAY_WINDOW = timedelta(minutes=10)
TRY_AGAIN = (
    ":warning: stopline could not take this because of a problem on its side (it was logged), "
    "so nothing was changed. Try again in a minute."
)
UNREACHABLE = (
    ":warning: stopline could not reach Slack's Web API to check its bot token, so it did not "
    "act on this. Check SLACK_BOT_TOKEN and SLACK_API_URL, or try again in a minute."
)


def fresh_timestamp(timestamp: str, now: float) -> bool:
    """True for Unix seconds within MAX_SKEW of now (never raises, whatever the header holds)."""
    # Bounded before int(): 309 digits overflow float arithmetic and 4,301 exceed int()'s
    # limit, each a 500 to anyone, before the signature is even looked at.
    if not 0 < len(timestamp) <= MAX_TIMESTAMP_DIGITS:
        return False
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    return abs(int(now) - int(timestamp)) <= MAX_SKEW


def signature_ok(secret: bytes, body: bytes, timestamp: str, signature: str, now: float) -> bool:
    """Slack's v0 signature over the raw bytes, with a fresh timestamp (never raises)."""
    if not fresh_timestamp(timestamp, now):
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def malformed(body: bytes, content_type: str | None) -> str | None:
    """Why a correctly signed body still cannot be a Slack request, or None."""
    try:
        # Bolt's own parser, so what passes here is exactly what Bolt can read (it raises
        # on a body that starts with "{" but is no JSON, or a payload= that is no JSON).
        parsed = parse_body(body.decode("utf-8"), content_type)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return f"the body is not a Slack request ({type(exc).__name__})"
    if not isinstance(parsed, dict):
        return "the body is not a JSON object"
    return None


SlackHandler = Callable[[Request], "Response | tuple[Response, int]"]


def build_slack_handler(settings: Settings, bolt: App, database: Database) -> SlackHandler:
    """The handler of /slack/events for the Bolt app (commands and interactivity share it)."""
    handler = SlackRequestHandler(bolt)
    assert settings.slack_signing_secret is not None
    secret = settings.slack_signing_secret.get_secret_value().encode()
    guard = ReplayGuard(database, utcnow, REPLAY_WINDOW)

    def slack_events(request: Request) -> Response | tuple[Response, int]:
        # The raw body, never request.form: the signature covers these exact bytes.
        body = request.get_data(cache=True)
        headers = request.headers
        signature = headers.get("X-Slack-Signature", "")
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        if not signature_ok(secret, body, timestamp, signature, time.time()):
            return jsonify(error="invalid request"), 401
        # The content type as Bolt reads it (everything before ";", as sent).
        problem = malformed(body, headers.get("Content-Type", "").split(";")[0] or None)
        if problem:
            return jsonify(error=problem), 400
        try:
            fresh = guard.first_sight("slack:" + hashlib.sha256(signature.encode()).hexdigest())
        except DatabaseUnavailable as exc:
            return jsonify(response_type="ephemeral", text=f":warning: {exc.message}"), 200
        except Exception:
            # The ledger failed in a way ledger.db does not translate (a file that is no
            # database): the agent reads that it is ours and to retry, not "dispatch_failed".
            log.exception("the Slack request's replay check failed")
            return jsonify(response_type="ephemeral", text=TRY_AGAIN), 200
        if not fresh:
            log.warning("refused a replayed Slack request")
            return jsonify(error="replayed request"), 401
        response: Response = handler.handle(request)
        if response.status_code >= 500:
            # Bolt answers 500 when Slack's Web API cannot be reached (auth.test before the
            # first listener): Slack would show "dispatch_failed", so the agent is told why.
            log.error("the Slack app failed before answering (status %d)", response.status_code)
            return jsonify(response_type="ephemeral", text=UNREACHABLE), 200
        return response

    return slack_events
