"""HTTP Basic credentials, for the carriers that sign nothing (Bandwidth, Sinch SMS)."""

from __future__ import annotations

import base64
import binascii
import hmac

from flask import Blueprint, Response
from pydantic import SecretStr

CHALLENGE = 'Basic realm="stopline"'


def basic_credentials(header: str) -> tuple[bytes, bytes] | None:
    """The (username, password) of a Basic Authorization header; None when it is not one."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
        raw.decode("utf-8")  # RFC 7617 credentials are UTF-8; other bytes match no setting
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    username, colon, password = raw.partition(b":")
    return (username, password) if colon else None


def basic_ok(header: str, username: str | None, password: SecretStr | None) -> bool:
    """True when the header holds exactly these credentials (both set), in constant time."""
    expected = (
        (username or "").encode(),
        password.get_secret_value().encode() if password is not None else b"",
    )
    given = basic_credentials(header)
    user, secret = given if given is not None else (b"", b"")
    # Both compared, combined without short-circuit: the timing never says which was wrong.
    same = hmac.compare_digest(user, expected[0]) & hmac.compare_digest(secret, expected[1])
    return given is not None and all(expected) and same


def challenge_on_401(bp: Blueprint) -> None:
    """Have the blueprint's 401s name the scheme (RFC 7235), so a client knows what to send."""

    def challenge(response: Response) -> Response:
        if response.status_code == 401:
            response.headers.setdefault("WWW-Authenticate", CHALLENGE)
        return response

    bp.after_request(challenge)
