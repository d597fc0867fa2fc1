"""Read rules.yml with line numbers and validate it; every problem goes into one RulesError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.errors import RulesError, RulesProblem
from rules.checks import semantic_problems
from rules.schema import RulesFile

PathKey = tuple[str | int, ...]
_BOOL_TAG = "tag:yaml.org,2002:bool"


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader whose nodes we walk ourselves, to keep each value's line."""


def format_path(path: PathKey) -> str:
    """('keywords', 'stop_en', 'words', 3) -> 'keywords.stop_en.words[3]'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class LineMap:
    """Where each value of the file is: path -> line, and the raw scalar text."""

    def __init__(self) -> None:
        self.lines: dict[PathKey, int] = {}
        self.raw: dict[PathKey, str] = {}

    def line(self, path: PathKey) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


def _walk(
    loader: _LineLoader, node: yaml.Node, path: PathKey, lines: LineMap, problems: list[tuple]
) -> Any:
    lines.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, int) and not isinstance(key, bool):
                key = str(key)  # an unquoted short code such as 12345 is meant as text
            if key in out:
                problems.append((key_node.start_mark.line + 1, (*path, key), "key appears twice"))
            lines.lines[(*path, key)] = key_node.start_mark.line + 1
            if key_node.tag == _BOOL_TAG:
                lines.raw[(*path, key)] = str(key_node.value)
            out[key] = _walk(loader, value_node, (*path, key), lines, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _walk(loader, item, (*path, i), lines, problems) for i, item in enumerate(node.value)
        ]
    if node.tag == _BOOL_TAG:
        lines.raw[path] = str(node.value)
    return loader.construct_object(node, deep=True)


def parse_yaml(text: str, file: str) -> tuple[Any, LineMap, list[RulesProblem]]:
    """Parse YAML into plain data plus a line map; syntax errors become problems."""
    lines = LineMap()
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc)
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start is not None:
            what += f" ({context} that starts on line {start.line + 1})"
        return None, lines, [RulesProblem(file, line, "", f"not valid YAML: {what}")]
    finally:
        loader.dispose()
    if node is None:
        return None, lines, [RulesProblem(file, 1, "", "the file is empty")]
    raw: list[tuple] = []
    data = _walk(loader, node, (), lines, raw)
    return data, lines, [RulesProblem(file, ln, format_path(p), msg) for ln, p, msg in raw]


def _message(error: Any, path: PathKey, lines: LineMap) -> str:
    kind, msg = error["type"], error["msg"]
    if path in lines.raw and kind in ("string_type", "literal_error", "enum"):
        word = lines.raw[path]
        return f'{word} was read by YAML as true/false, not as text; write it in quotes: "{word}"'
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see the comments in the shipped rules.yml)"
    if kind == "missing":
        return "required key is missing"
    return str(msg)


def validate(data: Any, lines: LineMap, file: str) -> tuple[RulesFile | None, list[RulesProblem]]:
    """Validate parsed data with the pydantic schema, then the semantic checks and the floor."""
    if not isinstance(data, dict):
        return None, [RulesProblem(file, 1, "", "the file must be a mapping of keys to values")]
    try:
        model = RulesFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = tuple(p for p in error["loc"] if isinstance(p, str | int))
            # pydantic adds "[key]" segments for dict keys it could not validate
            clean = tuple(p for p in path if p != "[key]")
            problems.append(
                RulesProblem(
                    file, lines.line(clean), format_path(clean), _message(error, clean, lines)
                )
            )
        return None, problems
    problems = [
        RulesProblem(file, lines.line(path), format_path(path), msg)
        for path, msg in semantic_problems(model)
    ]
    return (None if problems else model), problems


def read_rules_file(path: str | Path) -> tuple[RulesFile, bytes]:
    """Read and validate a rules file; raise RulesError listing every problem."""
    file = str(path)
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise RulesError(
            file, [RulesProblem(file, None, "", f"cannot read: {exc.strerror}")]
        ) from exc
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RulesError(file, [RulesProblem(file, None, "", "not UTF-8 text")]) from exc
    data, lines, problems = parse_yaml(text, file)
    if problems:
        raise RulesError(file, problems)
    model, problems = validate(data, lines, file)
    if model is None:
        raise RulesError(file, problems)
    return model, content
