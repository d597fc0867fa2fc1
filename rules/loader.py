"""Read rules.yml with line numbers and validate it; every problem goes into one RulesError."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rules.caps import cap_problems
from rules.checks import semantic_problems
from rules.errors import RulesError, RulesProblem
from rules.schema import RulesFile
from rules.yamlsafe import (
    MAX_BYTES,
    GuardedLoader,
    Refused,
    reader_problem,
    syntax_problem,
    too_big,
)

PathKey = tuple[str | int, ...]
_BOOL_TAG = "tag:yaml.org,2002:bool"


class _LineLoader(GuardedLoader):
    """A SafeLoader whose nodes we walk ourselves, to keep each value's line."""


class Unreadable(Refused):
    """A node we cannot turn into a value: a list as a key, a tag its text does not fit."""


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


def _construct(loader: _LineLoader, node: yaml.Node) -> Any:
    """A scalar's value; a tag that cannot hold it (`!!int abc`, `!!bool maybe`) is a problem."""
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        raise
    except Exception as exc:  # PyYAML's constructors raise ValueError, KeyError, TypeError...
        tag = node.tag.rsplit(":", 1)[-1]
        raise Unreadable(
            f"{str(node.value)[:40]!r} cannot be read as {tag} ({type(exc).__name__}); "
            "remove the tag (!!...) or quote the value",
            node.start_mark,
        ) from exc


def _key(loader: _LineLoader, node: yaml.Node) -> Any:
    """A mapping key: text (or a number, read as text); a list or mapping is refused."""
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        if isinstance(node, yaml.SequenceNode):
            fix = "write the words as the value instead:  words: [STOPALL, STOP ALL]"
        else:
            fix = "write the key as plain text"
        shown = "list" if isinstance(node, yaml.SequenceNode) else "mapping"
        raise Unreadable(
            f"a {shown} cannot be a key (a key is the name before a colon); {fix}",
            node.start_mark,
        )
    key = _construct(loader, node)
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)  # an unquoted short code such as 12345 is meant as text
    try:
        hash(key)
    except TypeError:  # !!set {} and other containers behind a tag
        raise Unreadable(
            f"a {type(key).__name__} cannot be a key; write the key as text", node.start_mark
        ) from None
    return key


def _walk(
    loader: _LineLoader, node: yaml.Node, path: PathKey, lines: LineMap, problems: list[tuple]
) -> Any:
    lines.lines[path] = node.start_mark.line + 1
    loader.last_mark = node.start_mark  # the line to name if anything below fails
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _key(loader, key_node)
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
    return _construct(loader, node)


def parse_yaml(text: str, file: str) -> tuple[Any, LineMap, list[RulesProblem]]:
    """Parse YAML into plain data plus a line map; every error becomes a problem."""
    lines = LineMap()
    try:
        loader = _LineLoader(text)
    except yaml.reader.ReaderError as exc:  # a NUL byte or another forbidden character
        return None, lines, [reader_problem(exc, text, file)]
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines, [RulesProblem(file, 1, "", "the file is empty")]
        raw: list[tuple] = []
        data = _walk(loader, node, (), lines, raw)
    except yaml.reader.ReaderError as exc:
        return None, lines, [reader_problem(exc, text, file)]
    except yaml.YAMLError as exc:
        return None, lines, [syntax_problem(exc, file)]
    except RecursionError:  # a backstop: GuardedLoader limits the depth well before this
        return None, lines, [RulesProblem(file, None, "", "nested too deeply to read")]
    except Exception as exc:  # nobody foresaw it: still one problem, with the line reached
        mark = loader.last_mark
        line = mark.line + 1 if mark is not None else None
        return None, lines, [RulesProblem(file, line, "", f"cannot be read: {describe(exc)}")]
    finally:
        loader.dispose()
    return data, lines, [RulesProblem(file, ln, format_path(p), msg) for ln, p, msg in raw]


def describe(exc: BaseException) -> str:
    """An unexpected exception in one line: its type and first line, never a traceback."""
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


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
    # The caps first: a file over them is refused before the checks that walk every word.
    found = cap_problems(model) or semantic_problems(model)
    problems = [RulesProblem(file, lines.line(path), format_path(path), msg) for path, msg in found]
    return (None if problems else model), problems


def read_rules_file(path: str | Path) -> tuple[RulesFile, bytes]:
    """Read and validate a rules file; raise RulesError listing every problem."""
    file = str(path)
    try:
        with Path(path).open("rb") as handle:
            big = too_big(os.fstat(handle.fileno()).st_size, file)
            content = b"" if big else handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise RulesError(
            file, [RulesProblem(file, None, "", f"cannot read: {exc.strerror}")]
        ) from exc
    big = big or too_big(len(content), file)  # it may have grown since the stat
    if big is not None:
        raise RulesError(file, [big])
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
