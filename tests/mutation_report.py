"""The score of `make mutate`, per module, from mutmut's results in mutants/.

Every surviving mutant must be killed by a test or listed in tests/mutation-equivalents.txt
with the reason it cannot change behaviour; each module must score at least TARGET. Exits 1
otherwise, naming what is missing. Run by `make mutate` after `mutmut run`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "tests" / "mutation-equivalents.txt"
TARGET = 0.95
# mutmut's exit codes (mutmut.stats.status_by_exit_code): a test failed, or timed out or was
# rejected by the type checker, which are detections too.
KILLED = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout",
          152: "timeout", 255: "timeout", 37: "type check"}  # fmt: skip
SURVIVED = {0: "survived", 5: "no tests", 33: "no tests"}


def equivalents() -> dict[str, str]:
    """Mutant name → why it cannot change behaviour, from the committed list."""
    listed: dict[str, str] = {}
    if not EQUIVALENTS.exists():
        return listed
    for line in EQUIVALENTS.read_text(encoding="utf-8").splitlines():
        name, _, why = line.partition("#")
        if name.strip():
            listed[name.strip()] = why.strip()
    return listed


def modules() -> list[str]:
    """The modules `make mutate` mutates (pyproject.toml's [tool.mutmut] only_mutate)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["mutmut"]["only_mutate"])


def main() -> int:
    """Print each module's score and every unexplained survivor; 1 when any is short."""
    listed = equivalents()
    problems: list[str] = []
    seen: set[str] = set()
    unexplained: list[str] = []
    print(f"{'module':24} {'mutants':>7} {'killed':>7} {'equiv.':>6} {'other':>6} {'score':>7}")
    for module in modules():
        meta = ROOT / "mutants" / f"{module}.meta"
        if not meta.exists():
            problems.append(f"{module}: no results in mutants/ (run `make mutate`)")
            continue
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        seen.update(codes)
        kinds: Counter[str] = Counter()
        for name, code in sorted(codes.items()):
            if code in KILLED:
                kinds["killed"] += 1
                if name in listed:
                    problems.append(f"{EQUIVALENTS.name} lists {name}, killed now: remove it")
            elif name in listed:
                kinds["equivalent"] += 1
            else:
                kinds["other"] += 1
                unexplained.append(name)
                what = SURVIVED.get(code, "not checked" if code is None else f"exit {code}")
                problems.append(
                    f"{name}: {what}; kill it with a test, or list it in {EQUIVALENTS.name} "
                    "with why it cannot change behaviour"
                )
        total = len(codes)
        score = kinds["killed"] / total if total else 1.0
        print(f"{module:24} {total:7} {kinds['killed']:7} {kinds['equivalent']:6} "
              f"{kinds['other']:6} {score:7.1%}")  # fmt: skip
        if score < TARGET:
            problems.append(f"{module}: {score:.1%} of its mutants killed, below {TARGET:.0%}")
    for name in sorted(set(listed) - seen):
        problems.append(f"{EQUIVALENTS.name} lists {name}, which is no longer a mutant: remove it")
    for problem in problems:
        print(f"  {problem}")
    for name in unexplained:  # mutants/ is removed after this report: show each diff now
        shown = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=ROOT,
                               capture_output=True, text=True)  # fmt: skip
        print(shown.stdout)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
