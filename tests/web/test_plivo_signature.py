"""Plivo's V3 signature (the published vector, the signed string, several tokens); its XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.web.plivo_helpers import sign
from web.carriers.plivo import plivo_xml, signature, signature_matches, signed_string

# carriers-2026.md §3.4 (re-derived with plivo-python's signature_v3).
VECTOR_URL = "https://example.com/plivo/sms?b=2&a=1"
VECTOR_PARAMS = {
    "From": "14155550100",
    "To": "14155550199",
    "Text": "STOP",
    "Type": "sms",
    "MessageUUID": "00000000-0000-0000-0000-000000000001",
    "MessageIntent": "optout",
}
VECTOR_NONCE = "12345678901234567890"
VECTOR_STRING = (
    "https://example.com/plivo/sms?a=1&b=2.From14155550100MessageIntentoptout"
    "MessageUUID00000000-0000-0000-0000-000000000001TextSTOPTo14155550199Typesms"
    ".12345678901234567890"
)
VECTOR_SIGNATURE = "OYgt1w+QVr/ur+JVaeTCIyNkDNFrLBpLb2I7DAUNG+8="


def test_the_published_vector() -> None:
    params = VECTOR_PARAMS.items()
    assert signed_string(VECTOR_URL, params, VECTOR_NONCE) == VECTOR_STRING
    assert signature("MY_AUTH_TOKEN", VECTOR_URL, params, VECTOR_NONCE) == VECTOR_SIGNATURE
    # The tests' own signer, written apart from the adapter, agrees with the vector too.
    assert sign(VECTOR_PARAMS, VECTOR_URL, "MY_AUTH_TOKEN", VECTOR_NONCE) == VECTOR_SIGNATURE


@pytest.mark.parametrize(
    ("url", "params", "expected"),
    [
        # plivo-python: '?' before the form even without a query; '.' only between the two.
        ("https://h/p", [("b", "2"), ("a", "1")], "https://h/p?a1b2.n"),
        ("https://h/p?z=&y=1", [], "https://h/p?y=1&z=.n"),
        ("https://h/p", [], "https://h/p.n"),
        ("https://h/p?q=1&q=0", [("k", "b"), ("k", "a")], "https://h/p?q=0&q=1.kakb.n"),
        ("https://h/p?t=%20x", [("Text", "a b&c")], "https://h/p?t= x.Texta b&c.n"),
    ],
)
def test_the_signed_string(url: str, params: list[tuple[str, str]], expected: str) -> None:
    assert signed_string(url, params, "n") == expected


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (VECTOR_SIGNATURE, True),
        (f"c29tZXRoaW5nIGVsc2U=,{VECTOR_SIGNATURE}", True),  # two tokens active, ours second
        (f"{VECTOR_SIGNATURE}, c29tZXRoaW5nIGVsc2U=", True),
        ("c29tZXRoaW5nIGVsc2U=,c29tZXRoaW5nIGVsc2U=", False),
        ("", False),
        (",", False),
        (VECTOR_SIGNATURE[:-1], False),
        (VECTOR_SIGNATURE + VECTOR_SIGNATURE, False),
        ("é,\x00", False),
    ],
)
def test_any_one_of_several_signatures_matches(header: str, accepted: bool) -> None:
    assert signature_matches(VECTOR_SIGNATURE, header) is accepted


@pytest.mark.parametrize(
    ("sender", "contact", "reply"),
    [
        ("14155550199", "14155550100", "You are unsubscribed. Reply START to resubscribe."),
        ("12345", "+447700900123", 'Terms & "conditions" <here>: \u00e9t\u00e9 ok'),
        ('1"><x a="', "1&2", "]]> </Message>"),
    ],
)
def test_the_reply_is_escaped_plivo_xml(sender: str, contact: str, reply: str) -> None:
    root = ET.fromstring(plivo_xml(sender, contact, reply))
    [message] = list(root)
    assert (root.tag, message.tag) == ("Response", "Message")
    assert (message.get("src"), message.get("dst"), message.text) == (sender, contact, reply)


def test_no_reply_is_an_empty_response() -> None:
    assert plivo_xml("1", "2", None) == "<Response />"
