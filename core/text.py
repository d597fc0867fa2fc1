"""Free text as the ledger stores it: what a contact wrote, minus what no database can hold."""

from __future__ import annotations

ACTOR_LIMIT = 200
MESSAGE_ID_LIMIT = 64


def clean_text(text: str | None) -> str | None:
    """The text without NUL bytes (PostgreSQL refuses them) and with lone surrogates replaced.

    A contact's words are otherwise kept exactly as written, for the audit trail.
    """
    if text is None:
        return None
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A client that cut a string inside an emoji sends half a surrogate pair.
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def clean_name(name: str) -> str:
    """An actor's name, cleaned and cut to what the ledger's column holds."""
    return (clean_text(name) or "")[:ACTOR_LIMIT]
