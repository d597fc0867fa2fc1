"""The rules package's errors: a rules file that cannot be used, an engine that failed or closed."""

from __future__ import annotations

from core.errors import ServiceFailure


class RulesProblem:
    """One problem in a rules file: where it is and what is wrong."""

    def __init__(self, file: str, line: int | None, path: str, message: str) -> None:
        self.file = file
        self.line = line
        self.path = path
        self.message = message

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        at = f" at {self.path}" if self.path else ""
        return f"{where}{at}: {self.message}"

    def __repr__(self) -> str:
        return f"RulesProblem({self!s})"


class RulesError(ServiceFailure):
    """A rules file that cannot be used, with the file, line and path of each problem."""

    code = "rules_error"

    def __init__(self, file: str, problems: list[RulesProblem]) -> None:
        self.file = file
        self.problems = problems
        lines = [str(p) for p in problems]
        super().__init__(
            f"{file}: {len(problems)} problem(s) in the rules file",
            detail="\n".join(lines),
        )

    def __str__(self) -> str:
        return "\n".join([self.message, *[f"  {p}" for p in self.problems]])


class RulesEngineError(ServiceFailure):
    """The rule engine failed to record a decision (never a silent default)."""

    code = "rules_engine_error"


class EngineClosed(ServiceFailure, RuntimeError):
    """The engine was replaced by a reload; ask the holder for the current one.

    Still a RuntimeError, as it was before it joined the hierarchy: a caller catching that
    keeps working.
    """

    code = "engine_closed"
