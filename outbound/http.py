"""The one way a sender posts to a carrier's API: one try, bounded, mapped onto SendFailed."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from pydantic import SecretStr
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError

from core.ports import SendFailed

TIMEOUT = (5.0, 10.0)  # seconds to connect, then between bytes of the answer
DETAIL_LIMIT = 300  # characters of a carrier's error text kept in SendFailed.detail
ERROR_BODY_LIMIT = 64 * 1024  # bytes of an error answer read to find that text

ErrorText = Callable[[Any], str | None]
# Raised before anything is sent, for a setting no request can carry.
_UNSENDABLE = (
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidHeader,
    UnicodeError,  # a Basic auth credential outside latin-1
)
_NOT_SENT = "{}: not sent ({}): check its API URL and credentials"


def new_session(auth: tuple[str, str] | None = None) -> requests.Session:
    """A Session that never retries on its own: the outbox's worker decides when to try again."""
    session = requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, HTTPAdapter(max_retries=0))
    session.auth = auth
    return session


def join(base: str, *parts: str) -> str:
    """The base URL and path parts, with exactly one slash between them."""
    return "/".join([base.rstrip("/"), *parts])


def post_json(
    session: requests.Session,
    carrier: str,
    url: str,
    body: Mapping[str, object],
    *,
    headers: Mapping[str, str] | None = None,
    error_text: ErrorText,
    secrets: Iterable[str] = (),
) -> None:
    """POST `body` as JSON once; return on a 2xx answer, else raise SendFailed."""
    hidden = [s for s in secrets if s]
    sent = {"Content-Type": "application/json", **(headers or {})}
    try:
        # Checked here: http.client would raise it mid-send, where it looks like a network error.
        for value in sent.values():
            value.encode("latin-1")
    except UnicodeError:
        raise SendFailed(_NOT_SENT.format(carrier, "UnicodeEncodeError"), retry=False) from None
    try:
        answer = session.post(
            url,
            data=json.dumps(body).encode(),
            headers=sent,
            timeout=TIMEOUT,
            allow_redirects=False,
            # The status line decides: a 2xx is taken without waiting for its body, and an
            # error's body is read only up to ERROR_BODY_LIMIT.
            stream=True,
        )
    except _UNSENDABLE as exc:
        # A URL or credential no request can carry: trying again cannot help. str(exc) would
        # quote it (a header's value is the credential), so only the class is named.
        raise SendFailed(_NOT_SENT.format(carrier, type(exc).__name__), retry=False) from None
    except requests.RequestException as exc:
        # str(exc) names the URL (an account id in the path): the class name is enough.
        raise SendFailed(f"{carrier}: no answer ({type(exc).__name__})", retry=True) from None
    with answer:
        status = answer.status_code
        if 200 <= status < 300:
            return
        text = _truncate(_scrub(_carrier_text(answer, error_text), hidden))
        detail = f"{carrier}: HTTP {status}: {text}"
        if status == 429:
            after = retry_after(answer.headers.get("Retry-After"))
            raise SendFailed(detail, retry=True, retry_after=after)
        raise SendFailed(detail, retry=status >= 500)


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), None if unusable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": RFC 9110 dates are always GMT
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _carrier_text(answer: requests.Response, error_text: ErrorText) -> str:
    try:
        data = answer.raw.read(ERROR_BODY_LIMIT, decode_content=True) or b""
    except (OSError, HTTPError, requests.RequestException):
        # A body cut off or garbled: the status alone still says what happened.
        data = b""
    raw = data.decode(answer.encoding or "utf-8", errors="replace")
    try:
        found = error_text(json.loads(raw))
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        found = None
    return " ".join((found or raw or answer.reason or "").split())


def _truncate(text: str) -> str:
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 1] + "…"


def _scrub(text: str, secrets: list[str]) -> str:
    # A carrier may echo what it was sent; its error text must not carry a credential on
    # (scrubbed before truncating, so no cut-off prefix of a secret is left either).
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def field(payload: Any, *names: str) -> str | None:
    """The first of these keys of a JSON object that holds a non-empty string."""
    if isinstance(payload, dict):
        for name in names:
            value = payload.get(name)
            if isinstance(value, str) and value.strip():
                return value
    return None


def secret(value: SecretStr | None) -> str:
    """A secret setting's value ("" when unset: build_senders builds only set carriers)."""
    return value.get_secret_value() if value is not None else ""
