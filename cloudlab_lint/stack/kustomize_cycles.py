"""Cycles among kustomization files through `resources`, `bases` and `components` (kustomize: "cycle detected").

The build (`gitops_kustomize.Builder`) stops quietly at a loop so the other rules can judge the rest of the tree;
this says where the loop is, once per loop, in the order kustomize would follow it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

FOLDER_FIELDS = ("resources", "bases", "components")


def edges(kfiles: Mapping[str, Any], kfile_of: Any) -> dict[str, list[tuple[str, int]]]:
    """kustomization file -> the kustomization files its folder entries name, with the entry's line."""
    out: dict[str, list[tuple[str, int]]] = {}
    for path, kf in kfiles.items():
        for entry in kf.entries:
            if entry.field in FOLDER_FIELDS and not entry.remote and entry.target is not None:
                target = kfile_of(entry.target)
                if target is not None and target in kfiles:
                    out.setdefault(path, []).append((target, entry.line))
    return out


def cycles(graph: dict[str, list[tuple[str, int]]]) -> Iterator[tuple[list[str], int]]:
    """Each cycle once: (its files, starting from the smallest and back to it; the line of its first entry).

    Strongly connected components (Tarjan, iterative: no recursion limit on a long chain), then in each the
    shortest way from its smallest file back to itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = graph.get(node, [])
            if i < len(targets):
                work.append((node, i + 1))
                nxt = targets[i][0]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    for component in components:
        members = set(component)
        first = min(component)
        if len(component) == 1 and not any(t == first for t, _ in graph.get(first, [])):
            continue
        yield _shortest_loop(graph, first, members)


def _shortest_loop(graph: dict[str, list[tuple[str, int]]], first: str,
                   members: set[str]) -> tuple[list[str], int]:
    came: dict[str, str] = {}
    frontier = [first]
    while frontier:
        following = []
        for node in frontier:
            for target, _ in sorted(graph.get(node, [])):
                if target not in members:
                    continue
                if target == first:
                    path = [node]
                    while path[-1] != first:
                        path.append(came[path[-1]])
                    loop = [first, *reversed(path[:-1]), first] if node != first else [first, first]
                    line = next(line for t, line in graph[first] if t == loop[1])
                    return loop, line
                if target not in came:
                    came[target] = node
                    following.append(target)
        frontier = following
    return [first, first], 1  # unreachable: a component with a cycle has a loop through each member
