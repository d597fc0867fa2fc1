"""Free text as the ledger stores it: what a contact wrote, minus what no database can hold."""

from __future__ import annotations

from core.errors import InvalidInput

ACTOR_LIMIT = 200  # the ledger's actor columns are String(200)
REASON_LIMIT = 1000
MESSAGE_ID_LIMIT = 64

# The words that re-subscribe a contact, and who alone may: the planner's refusal, the rules'
# refusal reason and the Slack card all say it from here.
RESUBSCRIBE_WORDS = "START, YES or UNSTOP"
CONTACT_ONLY = (
    "This contact opted out by text; only the contact can re-subscribe, "
    f"by texting {RESUBSCRIBE_WORDS}."
)


def first_line(error: BaseException) -> str:
    """The first line of an error's text (without e.g. SQLAlchemy's link), or its class name."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


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


def capped(text: str | None, field: str, limit: int) -> str | None:
    """The text cleaned, or InvalidInput naming the field and its cap when it is longer.

    Refused rather than cut: a reason is evidence in the audit trail, and a silently
    shortened one says something its author did not write.
    """
    text = clean_text(text)
    if text is not None and len(text) > limit:
        raise InvalidInput(
            f"{field} is {len(text):,} characters long; the limit is {limit:,}",
            detail=f"{field} is {len(text):,} characters long; the limit is {limit:,} "
            f"characters. Shorten it and send it again.",
        )
    return text


def clean_reason(reason: str | None) -> str | None:
    """A reason given by an agent, the API or an import: cleaned, at most REASON_LIMIT long."""
    return capped(reason, "reason", REASON_LIMIT)


def clean_name(name: str) -> str:
    """An actor's name, cleaned; InvalidInput past what the ledger's column holds."""
    return capped(name, "actor name", ACTOR_LIMIT) or ""
