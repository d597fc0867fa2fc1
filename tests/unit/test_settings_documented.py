"""Every setting is in the README's configuration table and in .env.example, under its own name."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def variable(name: str) -> str:
    """The name an operator sets: the carrier's or Slack's own, else STOPLINE_<NAME>."""
    alias = Settings.model_fields[name].validation_alias
    choices = [str(c) for c in getattr(alias, "choices", [])] or [f"STOPLINE_{name.upper()}"]
    plain = [c for c in choices if not c.startswith("STOPLINE_")]
    return (plain or choices)[0]


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_the_setting_is_documented(name: str) -> None:
    table = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    assert f"`{variable(name)}" in table or f"{variable(name)}`" in table
    assert variable(name) in (ROOT / ".env.example").read_text()
