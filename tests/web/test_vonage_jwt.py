"""Vonage's JWT check on its own: the published vector, the algorithms, exp, iat, payload_hash."""

from __future__ import annotations

import hashlib
from typing import Any

import jwt
import pytest

from tests.web.vonage_helpers import SECRET, token
from web.carriers.vonage import LEEWAY, payload_hash_ok, verify_jwt

# Vonage/vonage-python-sdk jwt/tests/test_verify_jwt.py (carrier_test_vectors.py, §3.5).
VECTOR = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJPbmxpbmUgSldUIEJ1aWxkZXIiLCJpYXQiOjE2OTc2"
    "MzQ2ODAsImV4cCI6MzMyNTQ1NDA4MjgsImF1ZCI6IiIsInN1YiI6IiJ9.88vJc3I2HhuqEDixHXVhc9R30tA6U_HQ"
    "HZTC29y6CGM"
)
VECTOR_SECRET = "qwertyuiopasdfghjklzxcvbnm123456"
NOW = 1_800_000_000


def test_the_published_vector_verifies_with_its_secret() -> None:
    claims = verify_jwt(VECTOR, VECTOR_SECRET)
    assert claims["iss"] == "Online JWT Builder" and claims["iat"] == 1697634680
    # It has no payload_hash: it would pass only for a request without a body.
    assert payload_hash_ok(claims, b"") and not payload_hash_ok(claims, b"{}")


def test_the_published_vector_fails_with_another_secret() -> None:
    # PyJWT also warns that a 4-byte HMAC key is too short for HS256.
    with pytest.warns(jwt.InsecureKeyLengthWarning), pytest.raises(jwt.InvalidSignatureError):
        verify_jwt(VECTOR, "asdf")


@pytest.mark.parametrize(
    ("forged", "error"),
    [
        (token(None, secret="", algorithm="none"), jwt.InvalidAlgorithmError),
        (token(None, algorithm="HS384"), jwt.InvalidAlgorithmError),
        (token(None, algorithm="HS512"), jwt.InvalidAlgorithmError),
        (token(None, secret=SECRET + "x"), jwt.InvalidSignatureError),
        (token(None, iat=NOW - 3600, exp=NOW - LEEWAY - 1), jwt.ExpiredSignatureError),
        (token(None, iat=NOW + LEEWAY + 1), jwt.ImmatureSignatureError),
        (token(None, iat="yesterday"), jwt.ImmatureSignatureError),
        (token(None, exp="tomorrow"), jwt.ExpiredSignatureError),
        ("a.b.c", jwt.DecodeError),
        ("", jwt.DecodeError),
    ],
)
def test_what_is_refused(forged: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        verify_jwt(forged, SECRET, now=NOW)


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": NOW},
        {"iat": NOW + LEEWAY},  # a clock a little ahead of ours
        {"iat": NOW - 86_400},  # a retry a day later: Vonage resends for 24 h
        {"iat": NOW - 60, "exp": NOW - LEEWAY},
        {"exp": NOW + 300},
    ],
)
def test_what_is_accepted(claims: dict[str, Any]) -> None:
    assert verify_jwt(token(None, **claims), SECRET, now=NOW)["iss"] == "Vonage"


def test_an_rs256_token_is_refused_whatever_its_key() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(jwt.InvalidAlgorithmError):
        verify_jwt(jwt.encode({"iat": NOW}, key, algorithm="RS256"), public.decode(), now=NOW)


BODY = b'{"channel":"sms","text":"STOP"}'
HASH = hashlib.sha256(BODY).hexdigest()


@pytest.mark.parametrize(
    ("claims", "body", "ok"),
    [
        ({"payload_hash": HASH}, BODY, True),
        ({"payload_hash": HASH.upper()}, BODY, True),
        ({"payload_hash": HASH}, BODY + b" ", False),
        ({"payload_hash": HASH[:-1]}, BODY, False),
        ({"payload_hash": hashlib.sha256(b"").hexdigest()}, b"", True),
        ({}, BODY, False),  # a body the token does not vouch for
        ({}, b"", True),
        ({"payload_hash": 12}, BODY, False),
        ({"payload_hash": None}, BODY, False),
        ({"payload_hash": "é" * 64}, BODY, False),
    ],
)
def test_payload_hash(claims: dict[str, object], body: bytes, ok: bool) -> None:
    assert payload_hash_ok(claims, body) is ok
