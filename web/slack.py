"""POST /slack/events: Slack's signed commands and button clicks, handed to the Bolt app."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from flask import Flask, Response, jsonify, request
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from core.config import Settings
from core.errors import DatabaseUnavailable
from core.replay import ReplayGuard
from core.services import utcnow

if TYPE_CHECKING:
    from stopline.bootstrap import Services

log = logging.getLogger(__name__)
# Slack refuses timestamps more than 5 minutes away; a fingerprint is kept a little longer.
REPLAY_WINDOW = timedelta(minutes=10)


def mount(app: Flask, settings: Settings, services: Services) -> None:
    """Serve the Bolt app at /slack/events (commands and interactivity share it)."""
    from bot import create_bolt_app  # Slack's libraries load only when Slack is configured

    handler = SlackRequestHandler(create_bolt_app(settings, services))
    secret = settings.slack_signing_secret
    verifier = SignatureVerifier(secret.get_secret_value() if secret else "")
    guard = ReplayGuard(services.database, utcnow, REPLAY_WINDOW)

    def slack_events() -> Response | tuple[Response, int]:
        # The raw body, never request.form: Bolt checks the signature over these exact bytes.
        body = request.get_data(cache=True)
        signature = request.headers.get("X-Slack-Signature", "")
        if not verifier.is_valid(
            body, request.headers.get("X-Slack-Request-Timestamp", ""), signature
        ):
            return jsonify(error="invalid request"), 401
        try:
            fresh = guard.first_sight("slack:" + hashlib.sha256(signature.encode()).hexdigest())
        except DatabaseUnavailable as exc:
            return jsonify(response_type="ephemeral", text=f":warning: {exc.message}"), 200
        if not fresh:
            log.warning("refused a replayed Slack request")
            return jsonify(error="replayed request"), 401
        response: Response = handler.handle(request)
        return response

    app.add_url_rule("/slack/events", "slack_events", slack_events, methods=["POST"])
