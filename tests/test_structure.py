"""The package's shape: every module imports on its own, no module imports
another that (through others) imports it back, and what the views share is
written once, in directory/web.py.

A blueprint package's `__init__.py` creates `bp` and then imports its view
modules, which take `bp` from it (microblog's layout): that edge from a
module to its own parent package is the one allowed way back."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import directory
from directory import create_app

pytestmark = pytest.mark.same_on_every_database

PACKAGE = "directory"
ROOT = Path(directory.__file__).resolve().parent
SHARED_HELPERS = ("wants_fragment", "safe_next", "or_404", "signed_in_user")


def module_files(name: str = PACKAGE, folder: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by dotted name (packages by their
    __init__.py), found without importing any (pkgutil.walk_packages would
    import the subpackages)."""
    files = {name: folder / "__init__.py"}
    for info in pkgutil.iter_modules([str(folder)]):
        if info.ispkg:
            files.update(module_files(f"{name}.{info.name}", folder / info.name))
        else:
            files[f"{name}.{info.name}"] = folder / f"{info.name}.py"
    return files


MODULES = module_files()


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute name `from <node.module> import …` refers to inside `module`."""
    if not node.level:
        return node.module or ""
    package = module if is_package(module) else module.rpartition(".")[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imports_of(module: str) -> set[str]:
    """The package's modules `module` imports, at module level or inside a
    function. Importing a.b.c runs the packages a.b first: those count too,
    unless they are the importer's own ancestors (already being imported)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    named: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = resolve(module, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                named.add(submodule if submodule in MODULES else source)
    targets = set()
    for name in named:
        if name not in MODULES:
            continue
        targets.add(name)
        targets.update(p for p in ancestors(name) if p not in ancestors(module))
    targets.discard(module)
    return targets


def import_graph() -> dict[str, set[str]]:
    """Edges between the package's modules, without the allowed one: a
    module taking `bp` (or anything) from its own parent package."""
    graph = {}
    for module in MODULES:
        parent = module.rpartition(".")[0]
        graph[module] = {target for target in imports_of(module) if target != parent}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        state[node] = "done"
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


# Run in a fresh interpreter. Importing any directory.x first runs all of
# directory/__init__.py, so the modules it loads are loaded before any other
# in every real import: they stay, and each other module is imported after
# the rest are forgotten (quick: the models are mapped once, not 60 times).
ISOLATED_IMPORTS = """
import importlib, sys, traceback

def ours():
    return {name for name in sys.modules if name == "directory" or name.startswith("directory.")}

def forget(names):
    for name in names:
        module = sys.modules.pop(name)
        parent, _, child = name.rpartition(".")
        if getattr(sys.modules.get(parent), child, None) is module:
            delattr(sys.modules[parent], child)

failures = []
try:
    importlib.import_module("directory")
except BaseException:
    failures.append("directory:\\n" + traceback.format_exc())
else:
    always = ours()
    for name in sys.argv[1:]:
        forget(ours() - always)
        try:
            importlib.import_module(name)
        except BaseException:
            failures.append(name + ":\\n" + traceback.format_exc())
print("\\n".join(failures))
sys.exit(1 if failures else 0)
"""


def test_every_module_imports_on_its_own():
    """Each module imported first, in a fresh interpreter (see ISOLATED_IMPORTS)."""
    result = subprocess.run(
        [sys.executable, "-c", ISOLATED_IMPORTS, *sorted(MODULES)],
        capture_output=True, text=True, timeout=300, cwd=ROOT.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_graph_sees_the_imports_it_must():
    """The parser resolves relative, nested and function-level imports (else
    the cycle test below would pass by seeing nothing)."""
    graph = import_graph()
    assert "directory.web" in graph["directory.admin.routes"]  # from ..web import …
    assert "directory.admin.forms" in graph["directory.admin.imports"]  # from .forms import …
    assert "directory.admin.routes" in graph["directory.admin"]  # from . import routes, imports
    assert "directory.admin" in graph["directory"]  # inside create_app: from .admin import bp
    assert "directory.admin" not in graph["directory.admin.routes"]  # the allowed `from . import bp`


def test_no_import_cycle_in_the_package():
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()) or [])


def test_the_admin_import_view_and_the_admin_routes_do_not_import_each_other():
    graph = import_graph()
    assert "directory.admin.exchange" not in MODULES  # the old name of the import view
    view, routes = "directory.admin.imports", "directory.admin.routes"
    assert routes not in reachable(graph, view)
    assert view not in reachable(graph, routes)


def test_only_a_package_imports_its_own_view_modules():
    """Views share through directory/web.py, never through a routes module:
    the one module that imports a view module is its package's __init__."""
    imports = [
        (module, target)
        for module, targets in import_graph().items()
        for target in targets
        if target.rpartition(".")[2].endswith("routes") or target == "directory.admin.imports"
    ]
    assert [(module, target) for module, target in imports if target.rpartition(".")[0] != module] == []


BLUEPRINTS = ("public", "auth", "manage", "referrals", "admin", "ops", "api")


def test_no_blueprint_imports_another():
    """An audience's pages lean on shared modules, never on another
    audience's: importing the centre pages must not load the admin's."""
    crossings = []
    for module, targets in import_graph().items():
        home = module.split(".")[1] if module.count(".") >= 1 else None
        for target in targets:
            other = target.split(".")[1] if target.count(".") >= 1 else None
            if home in BLUEPRINTS and other in BLUEPRINTS and other != home:
                crossings.append((module, target))
    assert crossings == []


def test_shared_view_helpers_are_defined_only_in_web():
    definitions: dict[str, list[str]] = {}
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                bare = node.name.lstrip("_")
                if bare in SHARED_HELPERS or node.name == "_me":
                    definitions.setdefault(bare, []).append(module)
    assert definitions == {name: ["directory.web"] for name in SHARED_HELPERS}


def test_every_blueprint_package_makes_its_blueprint_in_its_init():
    for name in ("public", "auth", "manage", "referrals", "admin", "ops", "api"):
        tree = ast.parse(MODULES[f"{PACKAGE}.{name}"].read_text(encoding="utf-8"))
        assigned = {target.id for node in tree.body if isinstance(node, ast.Assign)
                    for target in node.targets if isinstance(target, ast.Name)}
        assert "bp" in assigned, name
    factory = MODULES[PACKAGE].read_text(encoding="utf-8")
    assert "noqa: F401" not in factory


def test_every_view_says_what_it_is_for():
    """A one-line docstring on each view function: what the page or endpoint is for."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    undocumented = [
        endpoint for endpoint, view in app.view_functions.items()
        if endpoint != "static" and not (view.__doc__ or "").strip()
    ]
    assert undocumented == []
