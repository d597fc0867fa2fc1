"""Run the benchmarks: `python -m bench` runs all; `python -m bench hook export` runs some."""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from bench.common import machine

# Name -> module under bench/; each module has run(quick: bool) -> None and prints its table.
BENCHMARKS = {
    "hook": "bench.hook",
    "carriers": "bench.carriers",
    "serve": "bench.serve",
    "check": "bench.check",
    "export": "bench.export",
    "rules": "bench.rules",
    "import": "bench.importing",
}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks (all by default) and print where they ran."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"some of: {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller inputs and fewer runs: checks the benchmarks work")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        known = ", ".join(BENCHMARKS)
        parser.error(f"no benchmark named {', '.join(unknown)}; choose from {known}")
    print(f"machine: {machine()}", flush=True)
    started = time.perf_counter()
    for name in args.names or list(BENCHMARKS):
        module = importlib.import_module(BENCHMARKS[name])
        module.run(quick=args.quick)
    print(f"\nall done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
