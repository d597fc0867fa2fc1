"""The URL a carrier signed, shared by the doors whose signatures cover it (Twilio, Plivo)."""

from __future__ import annotations

from flask import Request

from core.config import Settings


def signed_url(settings: Settings, req: Request) -> str:
    """The URL the carrier signed: the public URL behind a proxy, else the URL as received."""
    if not settings.public_url:
        return req.url
    query = req.query_string.decode("latin-1")
    url = settings.public_url.rstrip("/") + req.path
    return f"{url}?{query}" if query else url
