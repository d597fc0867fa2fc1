"""Hostile input for the review list, the export window, /metrics' labels and the CLI's output.

Any query on GET /v1/reviews and GET /v1/optouts is a 200 or a 400 that says why (never a 5xx)
and changes nothing; no method or path grows /metrics' label set; a contact's text printed by
the CLI never holds a character that drives the terminal; `stopline history` of any string is
an answer or a clear error.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from core.config import Settings
from stopline.cli.format import one_line
from stopline.cli.main import main
from stopline.wiring import Services, build_services, migrate
from tests.conftest import RULES
from tests.reliability.test_hostile import Drill, checked, drill
from tests.web.helpers import API_TOKEN, HOOK, TWILIO_TOKEN, bearer, sign, sms
from web import create_app

_WORDS = ["open", "decided", "all", "closed", "OPEN", "", " open", "open\x00", "²", "-1", "0",
          "1", "10000", "10001", "1e3", "2026-01-01", "2026-13-01", "9999-12-31T23:59:59-23:59",
          "2026-01-01T00:00:00 01:00", "+12065550123", "2065550123"]  # fmt: skip
_value = st.one_of(st.sampled_from(_WORDS), st.text(max_size=30))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    """One app over a SQLite ledger with an opt-out, an open and a decided review item."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('features')) / 'ledger.db'}"
    migrate(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    config = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=url, rules_path=RULES, twilio_auth_token=TWILIO_TOKEN,
        api_token=API_TOKEN, api_token_name="tests",
    )  # fmt: skip
    services: Services = build_services(config)
    client: FlaskClient = create_app(config, services).test_client()
    for text, contact in [("STOP", "+12065550123"), ("remove me", "+12065550124"),
                          ("wrong number", "+12065550125")]:  # fmt: skip
        form = sms(text, contact=contact)
        assert client.post(HOOK, data=form, headers={"X-Twilio-Signature": sign(form)}).status_code
    first = services.consent.reviews()[0]
    assert client.post(f"/v1/reviews/{first.id}/decision", json={"opt_out": False},
                       headers=bearer()).status_code == 200  # fmt: skip
    try:
        yield Drill(client, services, None, services.database.engine)  # type: ignore[arg-type]
    finally:
        services.close()


@drill(120)
@given(
    path=st.sampled_from(["/v1/reviews", "/v1/optouts"]),
    params=st.lists(
        st.tuples(st.sampled_from(["status", "limit", "phone", "since", "until", "sender"]),
                  _value),
        max_size=4,
    ),
)  # fmt: skip
def test_any_review_or_export_query_is_200_or_a_clear_400(
    hostile: Drill, path: str, params: list[tuple[str, str]]
) -> None:
    before = hostile.snapshot()
    response = checked(hostile.client.get(f"{path}?{urlencode(params)}", headers=bearer()))
    assert response.status_code in (200, 400), response.get_data()[:300]
    if response.status_code == 400:
        assert response.get_json()["detail"]
    assert hostile.snapshot() == before


@drill(150)
@given(
    method=st.one_of(st.sampled_from(["GET", "POST", "BREW", "get", "M-SEARCH"]),
                     st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
                             max_size=20)),
    path=st.one_of(st.sampled_from(["/v1/reviews", "/healthz", "/x", "/v1/consent/+1"]),
                   st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=30)
                   .map(lambda text: "/" + text.replace("?", "").replace("#", "").lstrip("/"))),
)  # fmt: skip
def test_no_method_or_path_grows_the_metrics_labels(
    hostile: Drill, method: str, path: str
) -> None:
    checked(hostile.client.open(path, method=method, headers=bearer()))
    text = hostile.client.get("/metrics").get_data(as_text=True)
    routes = {rule.rule for rule in hostile.client.application.url_map.iter_rules()}
    methods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    for family in text_string_to_metric_families(text):
        if family.name.startswith("stopline_http_request"):
            for sample in family.samples:
                assert sample.labels["endpoint"] in routes | {"unmatched"}, sample
                assert sample.labels["method"] in methods, sample


@drill(300)
@given(text=st.text(max_size=300))
def test_a_contacts_text_is_printed_on_one_harmless_line(text: str) -> None:
    shown = one_line(text)
    assert len(shown) <= 162  # the cut, and its quotes
    for char in shown:
        assert unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs"), (
            repr(char)
        )


@drill(60)
@given(phone=st.one_of(st.sampled_from(["+99912345", "whatsapp:+12065550100", "1-800-FLOWERS",
                                        "+1 (206) 555-0100", "\x1b[2J", "--json", "-1"]),
                       st.text(max_size=25)))  # fmt: skip
def test_history_of_any_string_is_an_answer_or_a_clear_error(
    tmp_path_factory: pytest.TempPathFactory, phone: str
) -> None:
    env = {"STOPLINE_DATABASE_URL": f"sqlite:///{_ledger(tmp_path_factory)}",
           "STOPLINE_RULES_PATH": str(RULES)}  # fmt: skip
    result = CliRunner().invoke(main, ["history", "--", phone], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert "Error" in result.stderr


_ledgers: list[Path] = []


def _ledger(factory: pytest.TempPathFactory) -> Path:
    if not _ledgers:
        path = factory.mktemp("history") / "ledger.db"
        migrate(Settings(database_url=f"sqlite:///{path}", _env_file=None))  # type: ignore[call-arg]
        _ledgers.append(path)
    return _ledgers[0]
