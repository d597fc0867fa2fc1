"""A throwaway PostgreSQL cluster for failure drills: stopped and started at will, then removed.

The drills stop PostgreSQL mid-load; doing that to the shared server at 127.0.0.1:5432 would
break every other test running against it. So each drill gets its own cluster: `initdb` in a
temporary directory, trust authentication, 127.0.0.1 on a free port, its socket in that
directory. PostgreSQL refuses to run as root, so as root the server runs as the `postgres`
OS user. fsync is off: the drills kill the server process, never the machine, and what a
killed server had written is still in the operating system's cache.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.integration.test_serve import free_port

START_TIMEOUT = 30
PORT_TRIES = 3  # a free port may be taken by someone else before the server binds it


class ClusterUnavailable(Exception):
    """initdb/pg_ctl are missing, or cannot run here; the message says why."""


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl: PATH first, then Debian's versioned dirs."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)],
    )
    for bindir in reversed(versions):
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise ClusterUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) are not installed: "
        "none on PATH nor in /usr/lib/postgresql/*/bin"
    )


def server_user() -> str | None:
    """The OS user to run PostgreSQL as: `postgres` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ClusterUnavailable(
            "running as root and there is no `postgres` OS user to run initdb/postgres as"
        ) from exc
    return "postgres"


class PgCluster:
    """One throwaway cluster: init() once, then start/stop/restart as the drill needs."""

    def __init__(self, bindir: Path, root: Path, user: str | None) -> None:
        self.bindir, self.root, self.user = bindir, root, user
        self.data = root / "data"
        self.logfile = root / "postgres.log"
        self.port = 0

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the cluster's `postgres` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        """initdb, then settings: loopback only, socket in our directory, no fsync."""
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        """Start the server and wait until it accepts connections (a new port if needed)."""
        for attempt in range(PORT_TRIES):
            if not self.port or attempt:
                self._configure(free_port())
            try:
                self._run("pg_ctl", "start", "-w", "-t", str(START_TIMEOUT), "-D", str(self.data),
                          "-l", str(self.logfile))  # fmt: skip
                return
            except ClusterUnavailable:
                if "could not bind" not in self.log_tail() or attempt == PORT_TRIES - 1:
                    raise

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop: 'fast' ends sessions cleanly, 'immediate' kills the server outright."""
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"unknown shutdown mode {mode!r}")
        self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data))

    def restart(self, mode: str = "fast") -> None:
        """Stop, then start again on the same port."""
        self.stop(mode)
        self.start()

    def freeze(self) -> None:
        """SIGSTOP the server and its backends: a hung database that still accepts TCP."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT whatever freeze() stopped (harmless when nothing is frozen)."""
        self._signal(signal.SIGCONT)

    def running(self) -> bool:
        """True while the postmaster is up (pg_ctl status)."""
        return self._run("pg_ctl", "status", "-D", str(self.data), check=False).returncode == 0

    def remove(self) -> None:
        """Kill the server if it still runs, then delete every file of the cluster."""
        try:
            if self.data.exists() and self.running():
                self.thaw()  # a frozen postmaster would never see pg_ctl's signal
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return self.logfile.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def _signal(self, signum: signal.Signals) -> None:
        pidfile = self.data / "postmaster.pid"
        if not pidfile.exists():
            return
        master = int(pidfile.read_text().split()[0])
        backends = [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat")
                    if _parent(stat) == master]  # fmt: skip
        for pid in (master, *backends):
            with suppress(ProcessLookupError):
                os.kill(pid, signum)

    def _configure(self, port: int) -> None:
        self.port = port
        settings = (
            f"\n# stopline drill\nport = {port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.root}'\nfsync = off\n"
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(settings)  # later lines win: a new port replaces the old one

    def _as_user(self) -> dict[str, object]:
        if self.user is None:
            return {"cwd": self.root}
        entry = pwd.getpwnam(self.user)
        return {"cwd": self.root, "user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        try:
            done = subprocess.run(
                [str(self.bindir / tool), *args], env=env, capture_output=True, text=True,
                timeout=START_TIMEOUT + 30, **self._as_user(),
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            raise ClusterUnavailable(f"{tool} could not run: {exc}") from exc
        if check and done.returncode != 0:
            why = (done.stderr or done.stdout).strip().splitlines()
            raise ClusterUnavailable(
                f"{tool} {args[0]} failed ({done.returncode}): {why[-1] if why else ''}\n"
                f"{self.log_tail()}"
            )
        return done


def _parent(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])  # the name may hold spaces
    except (OSError, IndexError, ValueError):
        return None


@contextmanager
def throwaway_cluster() -> Iterator[PgCluster]:
    """A started cluster, always stopped and removed afterwards; ClusterUnavailable if none."""
    bindir, user = find_bindir(), server_user()
    root = Path(tempfile.mkdtemp(prefix="stopline-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    cluster = PgCluster(bindir, root, user)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def pg_cluster() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL cluster; skips, saying why, when initdb/pg_ctl cannot run here."""
    context = throwaway_cluster()
    try:
        cluster = context.__enter__()
    except ClusterUnavailable as exc:
        pytest.skip(f"no throwaway PostgreSQL cluster: {exc}")
    try:
        yield cluster
    finally:
        context.__exit__(None, None, None)
