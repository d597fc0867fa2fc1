"""Which rules evaluator decides, as operators see it: /healthz, `rules check`, banner, log."""

from __future__ import annotations

import logging
import sys
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from core.config import Settings
from rules import RulesHolder
from stopline.cli.main import main
from stopline.server.serve import banner
from stopline.wiring import Services
from tests.conftest import RULES


def expected() -> str:
    """Worked out apart from stopline: durable-rules' C engine does not import on 3.13+."""
    if sys.version_info >= (3, 13):
        return f"python (durable-rules cannot load on Python 3.{sys.version_info[1]})"
    return f"durable-rules {metadata.version('durable-rules')}"


def test_healthz_names_the_evaluator(client: FlaskClient) -> None:
    rules = client.get("/healthz").get_json()["rules"]
    assert rules["evaluator"] == expected()
    assert rules["backend"] == expected().split()[0].removesuffix("-rules")


def test_rules_check_names_the_evaluator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["rules", "check", str(RULES)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"evaluator: {expected()}"


def test_a_broken_file_is_reported_without_an_evaluator_line(tmp_path: Path) -> None:
    broken = tmp_path / "rules.yml"
    broken.write_text("keywords: [")
    result = CliRunner().invoke(main, ["rules", "check", str(broken)])
    assert result.exit_code == 1 and "evaluator:" not in result.output


def test_the_banner_names_the_evaluator(settings: Settings, services: Services) -> None:
    assert f"  evaluator: {expected()}" in banner(settings, services)


def test_the_start_log_names_the_evaluator_once(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="rules.holder"):
        services.rules.log_evaluator()
    said = [r for r in caplog.records if "rules evaluator:" in r.getMessage()]
    assert len(said) == 1 and expected() in said[0].getMessage()
    if sys.version_info >= (3, 13):  # and why: the import error durable-rules met
        assert said[0].levelno == logging.WARNING and "durable" in said[0].getMessage()


def test_building_engines_does_not_repeat_the_fallback_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A CLI command (`stopline export | head`) on 3.13 must not warn on every run.
    with caplog.at_level(logging.INFO):
        RulesHolder(RULES, interval=0).close()
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []


def test_a_chosen_python_evaluator_says_so() -> None:
    holder = RulesHolder(RULES, interval=0, backend="python")
    try:
        assert holder.evaluator == "python (chosen)"
    finally:
        holder.close()
