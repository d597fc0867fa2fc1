"""Bearer tokens for the consent API: each configured token has a name, recorded as the actor."""

from __future__ import annotations

import hmac

from flask import Response, g, request

from core.model import Actor, Source
from web.context import state
from web.errors import json_error

_REALM = 'Bearer realm="stopline"'


def _match(presented: str, tokens: dict[str, str]) -> str | None:
    """The name of the token presented, comparing every token in constant time."""
    found: str | None = None
    if not presented:
        return None
    given = _sent_bytes(presented)
    for secret, name in tokens.items():
        if hmac.compare_digest(given, secret.encode("utf-8")):
            found = name
    return found


def _sent_bytes(header: str) -> bytes:
    """The header's bytes as the client sent them (WSGI decodes headers as latin-1)."""
    try:
        return header.encode("latin-1")
    except UnicodeEncodeError:  # not from a WSGI server (a test client): already text
        return header.encode("utf-8")


def require_token() -> Response | None:
    """before_request hook: stop the request unless it carries a configured token."""
    tokens = state().settings.api_token_names()
    if not tokens:
        return json_error(
            503,
            "api_not_configured",
            "The consent API is off: set STOPLINE_API_TOKEN (or STOPLINE_API_TOKENS) "
            "and send it as 'Authorization: Bearer <token>'.",
        )
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    name = _match(presented.strip(), tokens) if scheme.lower() == "bearer" else None
    if name is None:
        response = json_error(
            401,
            "unauthorized",
            "Send a valid API token as 'Authorization: Bearer <token>'.",
        )
        response.headers["WWW-Authenticate"] = _REALM
        return response
    g.actor = Actor(Source.API, name)
    return None


def current_actor() -> Actor:
    """The actor of the authenticated API request."""
    actor: Actor = g.actor
    return actor
