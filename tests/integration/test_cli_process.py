"""The `stopline` command as a real process: a port already taken, `make run`'s port and host,
and output piped into a reader that leaves early (`stopline export | head`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RULES
from tests.integration.test_serve import ROOT, Server, stop, stopline_command, wait_healthy
from tests.rawsqlite import raw_sqlite

QUICK = 60  # seconds: far more than any of these takes; a hang fails instead of blocking


def environment(cwd: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STOPLINE_", "TWILIO_"))}
    env.update({"STOPLINE_RULES_PATH": str(RULES), "PYTHONUNBUFFERED": "1", **extra})
    return env


def stopline(cwd: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*stopline_command(), *args], cwd=cwd, env=environment(cwd, **extra),
        capture_output=True, text=True, timeout=QUICK,
    )  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory with a migrated ledger named the default way (./stopline.db)."""
    assert stopline(tmp_path, "db", "upgrade").returncode == 0
    return tmp_path


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("how", ["--port", ".env", "environment"])
def test_a_port_in_use_is_one_clear_message_and_a_failure(
    project: Path, taken_port: int, how: str
) -> None:
    args, extra = ["serve"], {}
    if how == "--port":
        args += ["--port", str(taken_port)]
    elif how == ".env":  # what `make run` relies on: serve reads STOPLINE_PORT itself
        (project / ".env").write_text(f"STOPLINE_PORT={taken_port}\n")
    else:
        extra = {"STOPLINE_PORT": str(taken_port)}
    result = stopline(project, *args, **extra)
    assert result.returncode == 1
    assert result.stderr.count("already in use") == 1
    assert f"port {taken_port} on 127.0.0.1 is already in use" in result.stderr
    assert "another stopline" in result.stderr and "STOPLINE_PORT=" in result.stderr
    assert "--port" in result.stderr
    assert "listening" not in result.stdout
    assert "Traceback" not in result.stderr and "Retrying" not in result.stderr
    # The project's ledger is empty and named relatively: serve says so before anything else.
    assert f"the ledger sqlite:///{project / 'stopline.db'} is empty" in result.stderr


def test_a_taken_ipv6_port_is_named_in_brackets_free(project: Path) -> None:
    try:
        sock = socket.socket(socket.AF_INET6)
        sock.bind(("::1", 0))
    except OSError as error:
        pytest.skip(f"no IPv6 loopback here: {error}")
    with sock:
        sock.listen()
        port = sock.getsockname()[1]
        result = stopline(project, "serve", "--host", "::1", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.count(f"port {port} on ::1 is already in use") == 1


@pytest.mark.slow
def test_serve_listens_where_env_says_ipv6_included(project: Path) -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
            port = probe.getsockname()[1]
    except OSError as error:
        pytest.skip(f"no IPv6 loopback here: {error}")
    (project / ".env").write_text(f"STOPLINE_HOST=::1\nSTOPLINE_PORT={port}\n")
    log = project / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*stopline_command(), "serve", "--workers", "1"], cwd=project,
            env=environment(project), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = Server(f"http://[::1]:{port}", log, process)
    try:
        wait_healthy(server)
        assert f"listening on http://[::1]:{port}" in server.output()
    finally:
        stop(process)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--port", "99999"], "99999 is not a port number"),
        (["--port", "0"], "0 is not a port number"),
        (["--host", "no-such-host.invalid"], "cannot listen on no-such-host.invalid"),
        (["--host", "192.0.2.1"], "cannot listen on 192.0.2.1"),  # not this machine's
    ],
)
def test_an_address_stopline_cannot_listen_on_is_one_clear_message(
    project: Path, args: list[str], says: str
) -> None:
    result = stopline(project, "serve", *args)
    assert result.returncode == 1
    assert says in result.stderr and "STOPLINE_" in result.stderr
    assert "listening" not in result.stdout and "Traceback" not in result.stderr


def make_run(tmp_path: Path, *make_args: str, **env: str) -> str:
    """`make -n run` in a copy of the Makefile: the commands it would run."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").touch()  # the install stamp's prerequisite
    (tmp_path / ".env").write_text("STOPLINE_PORT=8123\nSTOPLINE_HOST=0.0.0.0\n")
    base = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "MAKEFLAGS")}
    result = subprocess.run(
        ["make", "-n", "run", *make_args], cwd=tmp_path, env={**base, **env},
        capture_output=True, text=True, timeout=QUICK,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [serve] = [line for line in result.stdout.splitlines() if "stopline serve" in line]
    return serve


@pytest.mark.parametrize(
    ("make_args", "env", "flags"),
    [
        ([], {}, ""),  # .env's STOPLINE_PORT/STOPLINE_HOST are read by stopline serve
        (["PORT=9001"], {}, " --port 9001"),
        (["HOST=::1", "PORT=9002"], {}, " --port 9002 --host ::1"),
        ([], {"PORT": "9003"}, " --port 9003"),
    ],
)
def test_make_run_passes_flags_only_for_what_make_was_given(
    tmp_path: Path, make_args: list[str], env: dict[str, str], flags: str
) -> None:
    assert make_run(tmp_path, *make_args, **env).endswith(f"stopline serve{flags}")


def many_optouts(project: Path, count: int) -> Path:
    source = project / "big.csv"
    source.write_text("phone,reason\n" + "".join(f"+1206555{i:04d},r\n" for i in range(count)))
    return source


def piped_into_early_exit(project: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run stopline with stdout a pipe whose reader reads one line and closes it."""
    process = subprocess.Popen(
        [*stopline_command(), *args], cwd=project, env=environment(project),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # like `head -1` exiting
    stderr = process.stderr.read()
    process.stderr.close()
    process.wait(timeout=QUICK)
    return subprocess.CompletedProcess(process.args, process.returncode, b"", stderr)


def test_export_into_a_closed_pipe_exits_quietly(project: Path) -> None:
    assert stopline(project, "import", str(many_optouts(project, 6000))).returncode == 0
    result = piped_into_early_exit(project, "export")
    assert result.returncode == 141  # what a shell reports for a pipe closed by its reader
    assert result.stderr.decode() == ""  # no "Error: [Errno 32] Broken pipe", no traceback


def test_an_import_into_a_closed_pipe_finishes_and_says_what_it_stored(project: Path) -> None:
    source = many_optouts(project, 3000)
    process = subprocess.Popen(
        [*stopline_command(), "import", str(source)], cwd=project, env=environment(project),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # `stopline import big.csv | true`: nobody reads the summary
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=QUICK) == 0
    assert "big.csv: 3000 taken, 0 skipped (already opted out), 0 invalid." in stderr
    assert "Broken pipe" not in stderr and "Traceback" not in stderr
    with raw_sqlite(project / "stopline.db") as conn:
        assert conn.execute("SELECT count(*) FROM consent").fetchone() == (3000,)


def test_an_import_with_stderr_closed_too_stores_every_row(project: Path) -> None:
    source = many_optouts(project, 2500)
    process = subprocess.Popen(
        [*stopline_command(), "import", str(source)], cwd=project, env=environment(project),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    process.stdout.close()  # `stopline import big.csv 2>&1 | head -0`
    process.wait(timeout=QUICK)
    with raw_sqlite(project / "stopline.db") as conn:
        assert conn.execute("SELECT count(*) FROM consent").fetchone() == (2500,)
