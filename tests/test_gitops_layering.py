"""No import loop inside the Flux model's package (stack/gitops/).

`import_graph` and `import_cycles` work for any package of the project (imports inside functions and under
TYPE_CHECKING count: a loop there is still a loop in the design); the test asks only about stack/gitops for
now, as other packages still have loops of their own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import cloudlab_lint

PACKAGE_ROOT = Path(cloudlab_lint.__file__).parent


def _module_name(path: Path, root: Path, top: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([top, *parts])


def import_graph(package: Path = PACKAGE_ROOT, top: str = "cloudlab_lint") -> dict[str, set[str]]:
    """module -> the modules of `top` it imports anywhere in its source (relative imports resolved; `from x
    import y` counts as importing x.y when that is a module, else x)."""
    modules = {_module_name(p, package, top): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name.split(".")[0] == top)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_pkg else 0)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                if source.split(".")[0] != top:
                    continue
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    out.add(sub if sub in modules else source)
        graph[name] = {m for m in out if m in modules and m != name}
    return graph


def import_cycles(graph: dict[str, set[str]], within: str = "") -> list[list[str]]:
    """The strongly connected groups of more than one module (or a module importing itself) among the
    modules whose names start with `within`; empty when there is no loop."""
    nodes = sorted(n for n in graph if n.startswith(within))
    edges = {n: {m for m in graph[n] if m.startswith(within)} for n in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan; the package is small enough for recursion
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in edges[v]:
                groups.append(sorted(group))

    for n in nodes:
        if n not in index:
            visit(n)
    return groups


def test_the_graph_sees_imports_inside_functions_and_relative_ones() -> None:
    graph = import_graph()
    assert "cloudlab_lint.stack.gitops.objects" in graph["cloudlab_lint.stack.gitops.tree"]
    assert "cloudlab_lint.stack.gitops.graph" in graph["cloudlab_lint.stack.gitops.tree"]  # inside a function
    assert import_cycles({"a.x": {"a.y"}, "a.y": {"a.x"}, "a.z": {"a.x"}}, "a.") == [["a.x", "a.y"]]


def test_no_import_loop_in_the_flux_model() -> None:
    assert import_cycles(import_graph(), "cloudlab_lint.stack.gitops.") == []
