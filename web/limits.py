"""Request-size caps: the API takes big send checks, the hook and everything else 64 KiB."""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

from web.context import state


def cap_body(limit: int) -> None:
    """Refuse a body over `limit` bytes with 413, whether or not it declares its length."""
    too_large = RequestEntityTooLarge(f"The request body is over the limit of {limit} bytes.")
    if request.content_length is not None:
        if request.content_length > limit:
            raise too_large
        request.max_content_length = limit
        return
    # No Content-Length (chunked): werkzeug would silently cut the stream at the cap, so read
    # one byte past it and refuse when that byte exists. The body is cached for the view.
    request.max_content_length = limit + 1
    try:
        body = request.get_data(cache=True)
    except HTTPException:
        raise
    except Exception as exc:
        # The server decodes the chunks while we read: gunicorn raises its own parse errors
        # (InvalidChunkSize...) for a malformed chunked body, a client's mistake, not a 500.
        raise BadRequest(f"The chunked request body is malformed ({type(exc).__name__}).") from None
    if len(body) > limit:
        raise too_large


def cap_small_bodies() -> None:
    """App-wide hook: every route outside the API gets the webhook cap."""
    # The API caps its own bodies after checking the token, so no stranger makes it read 64 MiB.
    if request.blueprint != "api":
        cap_body(state().settings.max_webhook_body)


def cap_api_body() -> None:
    """API hook, run after the token check."""
    cap_body(state().settings.max_api_body)
