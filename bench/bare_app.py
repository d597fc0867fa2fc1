"""The serve benchmark's baseline: a bare Flask hook that parses Twilio's form, answers fixed TwiML.

Served by gunicorn like `stopline serve`: `gunicorn 'bench.bare_app:create_app()'`.
"""

from __future__ import annotations

from flask import Flask, Response, request

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def create_app() -> Flask:
    """A Flask app with only POST /webhooks/twilio: no signature, no database, no rules."""
    app = Flask(__name__)

    @app.post("/webhooks/twilio")
    def inbound() -> Response:
        form = request.form
        # Read what stopline reads, so the form is parsed the same way.
        missing = [name for name in ("From", "To", "MessageSid") if not form.get(name)]
        if missing:
            return Response(f"missing {', '.join(missing)}", status=400)
        form.get("Body", "")
        return Response(TWIML, mimetype="text/xml")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok", mimetype="text/plain")

    return app
