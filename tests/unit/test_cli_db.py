"""Where the ledger is: run from another directory, stopline never creates an empty ledger by
reading, names the database by its absolute path, and `db status`/`db upgrade` say where the
schema stands. Database URLs: postgres:// works, an unknown scheme says what to write."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from core.config import Settings
from core.dburl import BadDatabaseUrl, normalize_database_url
from ledger.dburl import display_url
from stopline.cli.main import main
from stopline.dbfile import empty_relative_warning
from stopline.wiring import build_database, migrate
from tests.conftest import POSTGRES_URL, RULES, postgres_available
from tests.rawsqlite import raw_sqlite

CONTACT = "+12065550100"
RELATIVE = "sqlite:///./stopline.db"  # the default

# The revisions after 0002, from the migration files, so a new migration needs no edit here.
AFTER_0002 = sorted(
    p.name[:4]
    for p in (Path(__file__).parents[2] / "migrations" / "versions").glob("[0-9]*_*.py")
    if p.name[:4] > "0002"
)


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory that is not the project: no .env, no stopline.db."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def run(*args: str, url: str = RELATIVE) -> Result:
    env = {"STOPLINE_DATABASE_URL": url, "STOPLINE_RULES_PATH": str(RULES)}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


READERS = [
    ["status", CONTACT],
    ["status", CONTACT, "--json"],
    ["export"],
    ["db", "status"],
    ["optout", CONTACT, "--reason", "x"],
    ["serve", "--port", "1"],
]


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_a_missing_ledger_is_named_by_its_absolute_path_and_never_created(
    elsewhere: Path, command: list[str]
) -> None:
    result = run(*command)
    assert result.exit_code == 1
    assert str(elsewhere / "stopline.db") in result.output
    assert "relative to the current directory" in result.output
    assert "STOPLINE_DATABASE_URL" in result.output and "Traceback" not in result.output
    assert "may be texted" not in result.output
    assert list(elsewhere.iterdir()) == []  # no stopline.db, no -wal, no -shm


def test_an_empty_file_is_not_migrated_and_named_absolutely(elsewhere: Path) -> None:
    (elsewhere / "stopline.db").touch()
    result = run("status", CONTACT)
    assert result.exit_code == 1
    assert f"sqlite:///{elsewhere / 'stopline.db'} is not migrated" in result.stderr
    assert "stopline db upgrade" in result.stderr


def test_db_upgrade_says_what_it_created_and_where(elsewhere: Path) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"Created a new, empty ledger at sqlite:///{elsewhere / 'stopline.db'}" in result.stdout
    assert "relative to the current directory" in result.stderr
    again = run("db", "upgrade")
    assert "is up to date (revision " in again.stdout


def test_db_upgrade_says_which_revision_it_moved_from_and_to(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(Settings(_env_file=None, database_url=url), revision="0002")  # type: ignore[call-arg]
    status = run("db", "status", url=url)
    assert status.exit_code == 1
    assert "revision: 0002" in status.stdout
    assert f"pending:  {', '.join(AFTER_0002)}" in status.stdout
    result = run("db", "upgrade", url=url)
    assert result.exit_code == 0
    assert f"upgraded from revision 0002 to {AFTER_0002[-1]}" in result.stdout
    done = run("db", "status", url=url)
    assert done.exit_code == 0 and "pending:  none" in done.stdout


def test_db_status_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    migrate(Settings(_env_file=None, database_url=url), revision="0001")  # type: ignore[call-arg]
    before = path.read_bytes()
    result = run("db", "status", url=url)
    assert result.exit_code == 1
    assert f"database: sqlite:///{path}" in result.stdout
    assert f"pending:  0002, {', '.join(AFTER_0002)}" in result.stdout
    assert path.read_bytes() == before
    with raw_sqlite(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]


def test_serve_warns_when_the_ledger_is_empty_and_relative(elsewhere: Path) -> None:
    settings = Settings(_env_file=None, database_url=RELATIVE)  # type: ignore[call-arg]
    migrate(settings)
    database = build_database(settings)
    try:
        warning = empty_relative_warning(settings, database)
        assert warning is not None and str(elsewhere / "stopline.db") in warning
        assert run("optout", CONTACT, "--reason", "x").exit_code == 0
        assert empty_relative_warning(settings, database) is None  # not empty any more
        absolute = Settings(  # type: ignore[call-arg]
            _env_file=None, database_url=f"sqlite:///{tmp_db(elsewhere)}"
        )
        migrate(absolute)
        other = build_database(absolute)
        assert empty_relative_warning(absolute, other) is None  # empty, but named absolutely
        other.dispose()
    finally:
        database.dispose()


def tmp_db(directory: Path) -> Path:
    return directory / "absolute.db"


URLS = [
    ("postgres://u:pw@db.example.com/consent", "postgresql+psycopg://u:pw@db.example.com/consent"),
    ("postgresql://u@h:5433/d?sslmode=require", "postgresql+psycopg://u@h:5433/d?sslmode=require"),
    ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
    ("sqlite:///./stopline.db", "sqlite:///./stopline.db"),
    ("sqlite:////var/lib/stopline.db", "sqlite:////var/lib/stopline.db"),
]


@pytest.mark.parametrize(("given", "used"), URLS)
def test_postgres_urls_mean_psycopg(given: str, used: str) -> None:
    assert normalize_database_url(given) == used
    assert Settings(_env_file=None, database_url=given).database_url == used  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://u@h/d", "unknown database scheme 'mysql'"),
        ("postgresql+psycopg2://u:secret@h/d", "postgresql+psycopg://"),
        ("postgresql+asyncpg://u@h/d", "postgresql+psycopg://"),
        ("stopline.db", "is not a database URL"),
        ("", "is not a database URL"),
    ],
)
def test_an_unknown_scheme_says_exactly_what_to_write(url: str, says: str) -> None:
    with pytest.raises(BadDatabaseUrl) as caught:
        normalize_database_url(url)
    assert says in str(caught.value) and "secret" not in str(caught.value)
    result = run("status", CONTACT, url=url)
    assert result.exit_code == 1
    assert says in result.stderr
    assert "sqlite:////" in result.stderr or "postgres" in url
    assert "NoSuchModuleError" not in result.stderr and "secret" not in result.stderr


def test_display_url_hides_the_password_and_makes_sqlite_absolute(elsewhere: Path) -> None:
    assert display_url("postgresql+psycopg://u:hunter2@h/d") == "postgresql+psycopg://u:***@h/d"
    assert display_url("sqlite:///x.db") == f"sqlite:///{elsewhere / 'x.db'}"
    assert display_url("sqlite://") == "sqlite://"


@pytest.mark.postgres
def test_a_postgres_url_reaches_the_database_from_every_command(elsewhere: Path) -> None:
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    url = POSTGRES_URL.replace("postgresql+psycopg://", "postgres://", 1)
    assert url.startswith("postgres://")
    status = run("db", "status", url=url)
    assert "NoSuchModuleError" not in status.output and "Traceback" not in status.output
    assert status.stdout.startswith("database: postgresql+psycopg://")
    assert os.listdir(elsewhere) == []


def test_a_ledger_unavailable_mid_command_is_named_by_its_absolute_path(elsewhere: Path) -> None:
    assert run("db", "upgrade").exit_code == 0
    holder = sqlite3.connect(elsewhere / "stopline.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer keeps the ledger's write lock
        env = {"STOPLINE_DATABASE_URL": RELATIVE, "STOPLINE_RULES_PATH": str(RULES),
               "STOPLINE_DB_BUSY_TIMEOUT_MS": "100"}  # fmt: skip
        result = CliRunner().invoke(main, ["optout", CONTACT, "--reason", "x"], env=env)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert "database" in result.stderr and f"sqlite:///{elsewhere / 'stopline.db'}" in result.stderr
    assert "Traceback" not in result.output


def test_status_from_an_empty_relative_ledger_warns_that_it_may_not_be_the_real_one(
    elsewhere: Path,
) -> None:
    assert run("db", "upgrade").exit_code == 0
    result = run("status", CONTACT)
    assert result.exit_code == 0
    assert "may be texted" in result.stdout
    assert f"Warning: the ledger sqlite:///{elsewhere / 'stopline.db'} is empty" in result.stderr
    assert run("optout", "+12065550111", "--reason", "x").exit_code == 0
    assert "Warning" not in run("status", CONTACT).stderr


@pytest.mark.parametrize(
    ("host", "bind"),
    [("127.0.0.1", "127.0.0.1:8000"), ("::1", "[::1]:8000"), ("[::]", "[::]:8000"),
     ("localhost", "localhost:8000")],
)  # fmt: skip
def test_gunicorn_and_the_banner_get_ipv6_addresses_in_brackets(host: str, bind: str) -> None:
    from stopline.server.portcheck import address

    assert address(host, 8000) == bind
