"""Signed Twilio web-hook requests for the benchmarks: a realistic STOP/START/chat mix."""

from __future__ import annotations

import random
import urllib.parse

from twilio.request_validator import RequestValidator

from core.errors import InvalidPhoneNumber
from core.phone import normalize_phone

# The business number every contact texts.
SENDER = "+12065550199"
STOP_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "Stop", "stop.")
START_WORDS = ("START", "UNSTOP", "YES")
ORDINARY = (
    "Thanks, see you Tuesday",
    "What time do you open?",
    "Can I move my appointment to 3pm?",
    "ok",
    "Is the blue one still in stock?",
    "Running 10 minutes late, sorry",
    "Great, thank you!",
    "Do you take walk-ins on Saturday?",
)
# Share of each kind in the mix; the rest is ordinary chat.
STOP_SHARE, START_SHARE = 0.30, 0.10
# Real area codes across the US and Canada, so contacts are spread like a real list.
AREA_CODES = (
    "206", "425", "503", "360", "415", "510", "213", "310", "619", "702", "602", "801",
    "303", "512", "214", "713", "312", "612", "314", "404", "305", "407", "704", "615",
    "202", "212", "718", "617", "215", "412", "216", "313", "317", "502", "816", "901",
    "604", "416", "514", "403",
)  # fmt: skip
# Candidates for seed s start at s * SEED_BLOCK: seeds 0..150 give disjoint contacts for
# n up to about a million each (a run per seed never collides with another's contacts).
SEED_BLOCK = 2_000_000
_SPACE = len(AREA_CODES) * 800 * 10_000


def _candidate(k: int) -> str:
    """The k-th candidate number: area codes in turn, exchanges 200-999, every line."""
    k %= _SPACE
    area = AREA_CODES[k % len(AREA_CODES)]
    rest = k // len(AREA_CODES)
    exchange = 200 + (rest // 10_000) % 800
    return f"+1{area}{exchange}{rest % 10_000:04d}"


def contacts(n: int, seed: int = 1) -> list[str]:
    """n distinct valid E.164 numbers (checked with normalize_phone), disjoint across seeds."""
    found: list[str] = []
    k = seed * SEED_BLOCK
    while len(found) < n:
        number = _candidate(k)
        k += 1
        try:
            found.append(normalize_phone(number))
        except InvalidPhoneNumber:
            continue  # e.g. an N11 exchange: not a number anyone texts from
    return found


def mix_bodies(n: int, seed: int = 1) -> list[str]:
    """n message texts: 30% STOP-family, 10% START-family, the rest chat, shuffled by seed."""
    rng = random.Random(seed)
    stops, starts = round(n * STOP_SHARE), round(n * START_SHARE)
    bodies = [STOP_WORDS[i % len(STOP_WORDS)] for i in range(stops)]
    bodies += [START_WORDS[i % len(START_WORDS)] for i in range(starts)]
    bodies += [ORDINARY[i % len(ORDINARY)] for i in range(n - stops - starts)]
    rng.shuffle(bodies)
    return bodies


def twilio_params(contact: str, body: str, sid: str) -> dict[str, str]:
    """The form fields Twilio posts for an inbound SMS (not only the ones stopline reads)."""
    return {
        "ToCountry": "US", "ToState": "WA", "SmsMessageSid": sid, "NumMedia": "0",
        "ToCity": "SEATTLE", "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received",
        "FromCity": "", "Body": body, "FromCountry": "US", "To": SENDER, "ToZip": "98101",
        "NumSegments": "1", "MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": contact,
        "ApiVersion": "2010-04-01",
    }  # fmt: skip


def twilio_mix(n: int, url: str, token: str, seed: int = 1) -> list[tuple[bytes, dict[str, str]]]:
    """n signed Twilio requests for `url` (exactly as the server sees it): (body, headers).

    Each has its own contact and MessageSid; the same seed gives the same requests, and
    different seeds give disjoint contacts and MessageSids.
    """
    validator = RequestValidator(token)
    requests = []
    for i, (contact, text) in enumerate(zip(contacts(n, seed), mix_bodies(n, seed), strict=True)):
        sid = f"SM{seed:08x}{i:024x}"
        params = twilio_params(contact, text, sid)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(url, params),
        }
        requests.append((urllib.parse.urlencode(params).encode(), headers))
    return requests


def body_text(form: bytes) -> str:
    """The message text inside one of twilio_mix's bodies (to count what was sent)."""
    return urllib.parse.parse_qs(form.decode(), keep_blank_values=True)["Body"][0]
