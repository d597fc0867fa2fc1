"""The layering rules from the style guide, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_CORE = {
    "flask",
    "werkzeug",
    "slack_bolt",
    "slack_sdk",
    "durable",
    "gunicorn",
    "rules",
    "web",
    "bot",
    # The storage adapter's libraries and the other project packages (core/config.py's
    # pydantic_settings stays allowed).
    "sqlalchemy",
    "psycopg",
    "sqlite3",
    "fcntl",
    "socket",
    "alembic",
    "ledger",
    "migrations",
    "stopline",
    "outbound",
    "requests",
}
FORBIDDEN_IN_LEDGER = {
    "flask", "werkzeug", "slack_bolt", "slack_sdk", "durable", "rules", "web", "bot", "stopline",
}  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_imports_no_framework(path: Path) -> None:
    assert not imported_modules(path) & FORBIDDEN_IN_CORE


def test_core_never_reads_the_environment() -> None:
    for path in (ROOT / "core").glob("*.py"):
        assert "os.environ" not in path.read_text(encoding="utf-8"), path.name


def test_only_rules_imports_durable() -> None:
    for folder in ("core", "web", "bot", "stopline"):
        for path in (ROOT / folder).rglob("*.py"):
            assert "durable" not in imported_modules(path), path


@pytest.mark.parametrize("path", sorted((ROOT / "bot").rglob("*.py")), ids=lambda p: p.name)
def test_the_bot_goes_through_the_service_layer(path: Path) -> None:
    # Listeners call core's services; they never touch the database, Flask or the rules.
    assert not imported_modules(path) & {"sqlalchemy", "flask", "werkzeug", "rules", "web"}


PROJECT_PACKAGES = ("core", "ledger", "rules", "web", "bot", "stopline", "migrations", "outbound")
DATABASE_CODE = {"sqlalchemy", "psycopg", "psycopg2", "sqlite3", "ledger", "migrations", "alembic"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PROJECT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def _absolute(node: ast.ImportFrom, path: Path, name: str) -> str:
    """The module a `from ... import` reads from, relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def all_imports(path: Path, name: str, modules: dict[str, Path] | None = None) -> set[str]:
    """Every module an import statement names, top level, in functions and TYPE_CHECKING alike.

    With `modules`, `from pkg import mod` names pkg.mod when that is a module, else pkg (a name
    of its __init__); without, it names both.
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, path, name)
            for alias in node.names:
                inner = f"{module}.{alias.name}"
                if modules is None:
                    names.update((module, inner))
                else:
                    names.add(inner if inner in modules else module)
    return names


def import_graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports.

    Importing pkg.sub runs pkg/__init__ too, yet only the named module is an edge: a package
    __init__ that re-exports a submodule makes a loop only if that submodule imports the
    __init__'s own names back (`from pkg import name`), which is then an edge to pkg.
    """
    modules = project_modules()
    return {
        name: {found for found in all_imports(path, name, modules) if found in modules} - {name}
        for name, path in modules.items()
    }


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def top_packages(path: Path) -> set[str]:
    return {name.split(".")[0] for name in all_imports(path, module_name(path)) if name}


@pytest.mark.parametrize("door", ["web", "bot"])
def test_the_doors_import_neither_the_root_nor_each_other(door: str) -> None:
    other = {"web": "bot", "bot": "web"}[door]
    for path in sorted((ROOT / door).rglob("*.py")):
        assert not top_packages(path) & {"stopline", other}, path


def test_the_carriers_send_clients_are_an_adapter_no_door_reaches() -> None:
    # outbound/ speaks to the carriers' APIs for the outbox; only the composition root wires it.
    for path in sorted((ROOT / "outbound").rglob("*.py")):
        assert not top_packages(path) & {"web", "bot", "stopline", "ledger", "rules"}, path
    for door in ("web", "bot"):
        for path in sorted((ROOT / door).rglob("*.py")):
            assert "outbound" not in top_packages(path), path


def test_rules_import_no_database_code() -> None:
    for path in sorted((ROOT / "rules").rglob("*.py")):
        assert not top_packages(path) & DATABASE_CODE, path


def test_no_two_modules_import_each_other_in_a_loop() -> None:
    assert import_cycles(import_graph()) == []


def test_the_cycle_finder_sees_a_loop_through_three_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]


def test_the_graph_sees_imports_inside_functions_and_type_checking() -> None:
    graph = import_graph()
    # stopline.server.serve imports wiring at the top and cli.common inside run().
    assert {"stopline.wiring", "stopline.cli.common"} <= graph["stopline.server.serve"]
    # web.context names web.metrics under TYPE_CHECKING only.
    assert "web.metrics" in graph["web.context"]


@pytest.mark.parametrize("path", sorted((ROOT / "ledger").glob("*.py")), ids=lambda p: p.name)
def test_ledger_imports_no_door_nor_rules(path: Path) -> None:
    assert not imported_modules(path) & FORBIDDEN_IN_LEDGER


def test_the_packages_export_what_they_name_lazily() -> None:
    import rules
    import rules.normalize  # a submodule named like an export must not shadow it
    import web

    for package in (rules, web):
        for name in package.__all__:
            value = getattr(package, name)
            assert value is not None and not isinstance(value, ModuleType), name


def test_the_cli_starts_without_flask_or_the_rules_engines() -> None:
    # A CLI command that needs neither (status, export, db) should not pay for their import.
    import subprocess
    import sys

    code = (
        "import sys; from stopline.cli import main; "
        "print(sorted(m for m in ('flask', 'durable', 'rules.compile', 'slack_bolt') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
