"""Each carrier's settings (on, off, what is missing, who replies) and rules.yml's carrier_scope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.carrier_settings import CARRIER_NAMES, DOOR_PATHS
from core.config import Settings
from core.model import Scope
from rules import PythonEngine, load_rules
from rules.errors import RulesError
from tests.unit.test_rules_support import SHIPPED, shipped_text, write


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_every_carrier_is_off_by_default_and_names_what_to_set() -> None:
    for name in CARRIER_NAMES:
        carrier = settings().carrier(name)
        assert not carrier.configured and carrier.missing
        assert all(v in carrier.banner() for v in carrier.missing)
        assert DOOR_PATHS[name][0] == f"/webhooks/{name}"


@pytest.mark.parametrize(
    ("name", "values", "summary"),
    [
        ("twilio", {"twilio_auth_token": "t"}, "on; replies by stopline"),
        ("plivo", {"plivo_auth_token": "t"}, "on; replies by stopline"),
        ("telnyx", {"telnyx_public_key": "k"}, "on; no replies (set TELNYX_API_KEY to send them)"),
        ("telnyx", {"telnyx_public_key": "k", "telnyx_api_key": "a"}, "on; replies by stopline"),
        ("telnyx", {"telnyx_public_key": "k", "telnyx_api_key": "a", "telnyx_replies": "carrier"},
         "on; replies by carrier"),
        ("bandwidth", {"bandwidth_callback_username": "u"},
         "off: set BANDWIDTH_CALLBACK_PASSWORD"),
        ("sinch", {"sinch_callback_username": "u", "sinch_callback_password": "p",
                   "sinch_replies": "stopline"},
         "on; replies need SINCH_SERVICE_PLAN_ID, SINCH_API_TOKEN"),
        ("vonage", {"vonage_signature_secret": "  "}, "off: set VONAGE_SIGNATURE_SECRET"),
    ],
)  # fmt: skip
def test_what_the_banner_says(name: str, values: dict[str, str], summary: str) -> None:
    assert settings(**values).carrier(name).banner() == summary


@pytest.mark.parametrize("prefix", ["", "STOPLINE_"])
def test_the_carriers_own_variable_names_are_read(
    monkeypatch: pytest.MonkeyPatch, prefix: str
) -> None:
    monkeypatch.setenv(f"{prefix}TELNYX_PUBLIC_KEY", "key")
    monkeypatch.setenv(f"{prefix}BANDWIDTH_CALLBACK_USERNAME", "user")
    monkeypatch.setenv(f"{prefix}BANDWIDTH_CALLBACK_PASSWORD", "secret")
    read = Settings(_env_file=None)  # type: ignore[call-arg]
    assert read.carrier("telnyx").configured and read.carrier("bandwidth").configured


def test_an_unknown_replies_mode_is_refused() -> None:
    with pytest.raises(ValueError) as info:
        settings(twilio_replies="sometimes")
    assert "TWILIO_REPLIES" in str(info.value) and "'carrier' or 'none'" in str(info.value)


def test_carrier_scope_defaults_to_the_sender() -> None:
    engine = PythonEngine(load_rules(SHIPPED))
    assert all(engine.carrier_scope(name) is Scope.SENDER for name in CARRIER_NAMES)
    assert engine.carrier_scope("unknown") is Scope.SENDER


def test_carrier_scope_account_is_read(tmp_path: Path) -> None:
    text = shipped_text().replace("  telnyx: sender", "  telnyx: account")
    engine = PythonEngine(load_rules(write(tmp_path, text)))
    assert engine.carrier_scope("telnyx") is Scope.ACCOUNT
    assert engine.carrier_scope("twilio") is Scope.SENDER


@pytest.mark.parametrize(
    ("line", "words"),
    [("  twilio: everyone", ["carrier_scope", "twilio"]), ("  aws: account", ["aws"])],
)
def test_a_bad_carrier_scope_is_refused_with_its_line(
    tmp_path: Path, line: str, words: list[str]
) -> None:
    text = shipped_text().replace("  twilio: sender", line)
    with pytest.raises(RulesError) as info:
        load_rules(write(tmp_path, text))
    shown = " ".join(str(p) for p in info.value.problems)
    assert all(w in shown for w in words), shown
