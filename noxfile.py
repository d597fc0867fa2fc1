"""The test suite on every CPython >= 3.11 this machine has, each in its own virtualenv.

`make test-all` runs it (nox); `.ci/run` runs it after `make test`, leaving out the version
`make test` used (STOPLINE_NOX_EXCEPT). A version the machine lacks is skipped with a line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox

SUPPORTED = ["3.11", "3.12", "3.13", "3.14"]
EXCEPT = os.environ.get("STOPLINE_NOX_EXCEPT", "")
PYTHONS = [v for v in SUPPORTED if v != EXCEPT]
# The extra versions run the suites that say whether the code works there (unit, web, bot,
# integration on SQLite and PostgreSQL); the slow drills of whole servers run with `make test`.
FAST = ["-m", "not slow", "tests/unit", "tests/web", "tests/bot", "tests/integration"]

nox.options.sessions = ["tests"]
nox.options.error_on_missing_interpreters = False  # "skipped: interpreter not found", printed
nox.options.reuse_venv = "yes"
# Inside .venv, which every tool (and a scan of the source tree) already leaves out.
nox.options.envdir = ".venv/nox"


def _pyenv_versions_on_path() -> None:
    """Put pyenv's interpreters first on PATH: its shims answer only for the selected version."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return
    root = Path(subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip())
    found: dict[str, Path] = {}
    for bin_dir in sorted((root / "versions").glob("3.*/bin")):
        name = bin_dir.parent.name
        minor = ".".join(name.split(".")[:2])
        if minor in SUPPORTED and name.replace(".", "").isdigit():  # CPython, not a venv
            found[minor] = bin_dir  # sorted: the newest patch release wins
    paths = [str(p) for p in found.values()]
    os.environ["PATH"] = os.pathsep.join([*paths, os.environ.get("PATH", "")])


_pyenv_versions_on_path()
if EXCEPT:
    print(f"nox: Python {EXCEPT} left out: `make test` ran the whole suite on it")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Install stopline with its dev extras, say which evaluator decides, run the tests."""
    # -O2: durable-rules' setup.py builds its C engine without optimisation otherwise.
    session.install("-e", ".[dev]", env={"CPPFLAGS": "-O2"})
    session.run("stopline", "rules", "check", "rules.yml", silent=True)
    session.run("python", "-c", "import rules; print('evaluator:', rules.evaluator())")
    session.run("pytest", *(session.posargs or FAST), env={"PYTHONDONTWRITEBYTECODE": "1"})
