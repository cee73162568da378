"""The layering the architecture never breaks, read from the source, not from what happens to import: no
import loops anywhere in the package; `checks` and `stack` import neither the runner (its caches, its fork) nor
the writer (`atomic`); the runner imports no check family (it reaches checks through the registry).

A loop that only closes through an import inside a function still couples the two modules both ways and
breaks as soon as someone hoists the import, so those count. Imports under `if TYPE_CHECKING:` do not:
they never run.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cloudlab_lint"


def _module_name(path: Path) -> str:
    """The dotted name of a source file, from the packages (folders with `__init__.py`) above it."""
    parts = [] if path.name == "__init__.py" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth (functions, classes, try blocks), except under TYPE_CHECKING."""
    out: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return out


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    """The modules of `known` an import statement loads (`from . import x` loads the submodule x)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([node.module] if node.module else []))
        names = [base] + [f"{base}.{alias.name}" for alias in node.names]
    out = set()
    for name in names:
        # `import a.b.c` loads a, a.b and a.b.c; an edge to the deepest one we know is enough for loops.
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            out.add(name)
    return out


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module -> the modules under `package_dir` it imports (anywhere in its code)."""
    files = {_module_name(path): path for path in sorted(package_dir.rglob("*.py"))}
    known = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        graph[module] = set().union(*(_targets(module, is_package, n, known) for n in _imports(tree)))
    return graph


def import_cycles(package_dir: Path) -> list[list[str]]:
    """The import loops among the modules under `package_dir`: each strongly connected group of more than
    one module, sorted (Tarjan, iterative: a deep package cannot overflow the stack)."""
    graph = import_graph(package_dir)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            nxt = next(edges, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return sorted(groups)


def test_no_import_loop_anywhere_in_the_package() -> None:
    assert import_cycles(PACKAGE) == []


@functools.cache
def _package_graph() -> dict[str, set[str]]:
    return import_graph(PACKAGE)


def _loaded(module: str, graph: dict[str, set[str]]) -> set[str]:
    """What importing each module named by `module`'s imports runs: every package above it too."""
    out = set()
    for target in graph[module]:
        parts = target.split(".")
        out.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
    return out


def test_checks_and_models_import_no_runner_cache_fork_or_writer() -> None:
    graph = _package_graph()
    banned = ("cloudlab_lint.runner", "cloudlab_lint.atomic")
    wrong = {m: sorted(t for t in _loaded(m, graph) if t.startswith(banned))
             for m in graph if m.startswith(("cloudlab_lint.checks", "cloudlab_lint.stack"))}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_the_runner_imports_no_check_family() -> None:
    graph = _package_graph()
    allowed = {"cloudlab_lint.checks", "cloudlab_lint.checks.index"}
    wrong = {m: sorted(t for t in _loaded(m, graph) if t.startswith("cloudlab_lint.checks") and t not in allowed)
             for m in graph if m.startswith("cloudlab_lint.runner")}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_the_helper_finds_a_loop_through_an_import_inside_a_function(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import x\n")
    (pkg / "b.py").write_text("def f():\n    from . import a\nx = 1\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .sub import d\n")
    (pkg / "sub" / "d.py").write_text("from ..c import y\nimport pkg.a\n")
    assert import_cycles(pkg) == [["pkg.a", "pkg.b"]]
