"""Hostile YAML made harmless: no anchors or aliases, bounded depth and size, clear problems."""

from __future__ import annotations

from typing import Any

import yaml

from rules.errors import RulesProblem

MAX_BYTES = 1024 * 1024  # a rules file is a few kilobytes; anything this big is a mistake
MAX_DEPTH = 40  # rules.yml nests five levels; Python's own recursion limit is far deeper
# Keys and values together. The shipped file has about 700; a file at every count cap of
# rules.caps stays under 20,000. Pure-Python YAML costs ~40 µs a value, so this bounds the
# time any file (even a refused one) can take to parse to about a second.
MAX_NODES = 30_000


class Refused(yaml.YAMLError):
    """YAML we will not read: an anchor, an alias, or nesting too deep."""

    def __init__(self, problem: str, mark: Any, path: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark
        self.path = path  # where in the file, when known: "filler_words[29998]"


class GuardedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses anchors and aliases (billion laughs) and deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self._path: list[str] = []  # the keys and indexes down to the node being composed
        self.last_mark: Any = None  # where the node being composed starts (for any error)

    def where(self) -> str:
        """The path of the node being composed: 'keywords.stop_en.words[3]'."""
        parts = (p if p.startswith("[") else f".{p}" for p in self._path if p)
        return "".join(parts).lstrip(".")

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node, refusing anchors, aliases and nesting past MAX_DEPTH."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise Refused(
                "anchors (&name) and aliases (*name) are not allowed in a rules file; "
                "write each value out in full",
                event.start_mark,
            )
        self.last_mark = event.start_mark
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise Refused(
                f"the file holds more than {MAX_NODES:,} keys and values (the cap on a whole "
                "file), reached here; each list has a smaller cap of its own: see the limits "
                "in the README",
                event.start_mark,
                self.where(),
            )
        if isinstance(index, yaml.ScalarNode):  # a mapping's value: its key names it
            self._path.append(str(index.value)[:40])
        elif isinstance(index, int) and not isinstance(index, bool):
            self._path.append(f"[{index}]")
        else:
            self._path.append("")  # the root, or a key itself
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise Refused(
                    f"nested more than {MAX_DEPTH} levels deep (rules.yml needs five)",
                    event.start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._path.pop()


def too_big(size: int, file: str) -> RulesProblem | None:
    """A problem when a rules file is larger than MAX_BYTES (checked before parsing)."""
    if size <= MAX_BYTES:
        return None
    return RulesProblem(
        file, None, "", f"is {size:,} bytes; a rules file may be at most {MAX_BYTES:,} bytes"
    )


def reader_problem(exc: yaml.reader.ReaderError, text: str, file: str) -> RulesProblem:
    """A character YAML refuses (a NUL byte, a control character), with its line."""
    position = max(0, min(exc.position, len(text)))
    line = text.count("\n", 0, position) + 1
    char = exc.character
    code = f"U+{ord(char) if isinstance(char, str) else char:04X}"
    name = " (a NUL byte)" if code == "U+0000" else ""
    return RulesProblem(
        file, line, "", f"contains the character {code}{name}, which YAML does not allow; remove it"
    )


def syntax_problem(exc: yaml.YAMLError, file: str) -> RulesProblem:
    """A YAML syntax error, or a refusal, as one problem with its line."""
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    what = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, Refused):
        return RulesProblem(file, line, exc.path, what)
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and start is not None:
        what += f" ({context} that starts on line {start.line + 1})"
    return RulesProblem(file, line, "", f"not valid YAML: {what}")
