"""The package's structure: each switch read in one place, no import circles, generic modules
free of the ads task."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import carbs_lite
from carbs_lite import Heuristics

PACKAGE = Path(carbs_lite.__file__).resolve().parent
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


MODULES = {_module(p): p for p in SOURCES}


def _runtime_imports(tree: ast.AST) -> set[str]:
    """carbs_lite modules imported anywhere in ``tree`` (functions included), except under
    ``if TYPE_CHECKING:``. ``from package import module`` is an edge to the module only (a
    package's ``__init__`` runs before any of its modules anyway)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _is_type_checking_block(node):
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("carbs_lite"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("carbs_lite"):
            submodules = {f"{node.module}.{a.name}" for a in node.names} & set(MODULES)
            found.update(submodules or {node.module})
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _import_graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        imported = _runtime_imports(ast.parse(path.read_text()))
        graph[name] = {m for m in imported if m in MODULES and m != name}
    return graph


def test_there_are_no_import_circles():
    graph = _import_graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            # importing a package runs its __init__ only; a submodule import is its own edge
            if state.get(target) == 1:
                cycle = stack[stack.index(target) :] + [target]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_each_switch_is_read_in_exactly_one_place_which_its_doc_names():
    fields = [f.name for f in dataclasses.fields(Heuristics)]
    reads: dict[str, list[str]] = {name: [] for name in fields}
    for path in SOURCES:
        if path.name == "heuristics.py" and path.parent == PACKAGE:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr in reads):
                continue
            owner = node.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if owner_name == "heuristics":
                reads[node.attr].append(f"{_module(path)}:{node.lineno}")
    assert {k: v for k, v in reads.items() if len(v) != 1} == {}
    source = (PACKAGE / "heuristics.py").read_text()
    for name, (where,) in reads.items():
        doc = re.search(rf"\n    {name}: .*?\n    \"\"\"(.*?)\"\"\"", source, re.S)
        reader = re.search(r"Read in\s+``([\w.]+)``", doc.group(1)).group(1)
        module, _, function = reader.partition(".")
        assert where.startswith(f"carbs_lite.{module}:"), (name, reader, where)
        lines = (PACKAGE / f"{module}.py").read_text().splitlines()
        line = int(where.split(":")[1])
        enclosing = [text for text in lines[:line] if re.match(r"\s*def \w+", text)][-1]
        assert enclosing.strip().startswith(f"def {function.split('.')[-1]}("), (name, enclosing)


def test_generic_modules_know_nothing_of_the_ads_task():
    graph = _import_graph()
    generic = [m for m in graph if not m.startswith(("carbs_lite.tasks", "carbs_lite.bench"))]
    generic.remove("carbs_lite")  # the public API re-exports tune_arch by name
    for module in generic:
        assert not any(t.startswith("carbs_lite.tasks.ads") for t in graph[module]), module
        text = (PACKAGE.parent / (module.replace(".", "/"))).with_suffix(".py")
        if not text.exists():
            text = PACKAGE.parent / module.replace(".", "/") / "__init__.py"
        assert not re.search(r"\bqps\b|\['arch'\]|\"arch\"", text.read_text()), module


def test_importing_the_package_does_not_import_plotly():
    import subprocess
    import sys

    code = "import sys, carbs_lite; print(any(m.startswith('plotly') for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
