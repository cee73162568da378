"""The Kustomization dependency graph of each cluster: edges, dangling `dependsOn`, cycles, and drawings."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ...escape import dot_text, mermaid_text, printable  # names come from the repository: inert in every format
from ...record import factory, record

if TYPE_CHECKING:
    from .objects import Cluster, FluxKs, Index

Node = tuple  # (namespace, name)


@record
class Dep:
    source: FluxKs  # the dependent
    target: tuple[str | None, str]  # (namespace, name) it names
    line: int
    index: int


@record(mutable=True)
class Graph:
    cluster: Cluster
    nodes: list[FluxKs] = factory(list)
    edges: list[Dep] = factory(list)  # resolving
    missing: list[Dep] = factory(list)  # dangling
    cycles: list[list[tuple[str | None, str]]] = factory(list)

    def in_cycle(self, dep: Dep) -> bool:
        for cycle in self.cycles:
            pairs = set(zip(cycle, cycle[1:] + cycle[:1], strict=True))
            if (dep.source.key, dep.target) in pairs:
                return True
        return False


def deps_of(ks: FluxKs) -> list[Dep]:
    items = ks.obj.spec.get("dependsOn")
    out = []
    if not isinstance(items, list):
        return out
    for i, item in enumerate(items):
        # A name with ${VAR} is substituted by a parent's postBuild: not knowable statically.
        if isinstance(item, dict) and isinstance(item.get("name"), str) and "${" not in item["name"]:
            ns = item.get("namespace") if isinstance(item.get("namespace"), str) else ks.obj.namespace
            line = items.line_of(i) if hasattr(items, "line_of") else ks.obj.line
            out.append(Dep(ks, (ns, item["name"]), line, i))
    return out


def graph_of(cluster: Cluster) -> Graph:
    g = Graph(cluster, nodes=_ordered(list(cluster.kustomizations.values())))
    known = {ks.key for ks in g.nodes}
    known_all = known | {(o.namespace, o.name) for o in cluster.objects if o.kind == "Kustomization"}
    for ks in g.nodes:
        for dep in deps_of(ks):
            (g.edges if dep.target in known_all else g.missing).append(dep)
    g.cycles = _cycles({ks.key for ks in g.nodes}, [(d.source.key, d.target) for d in g.edges])
    return g


def _ordered(nodes: list[FluxKs]) -> list[FluxKs]:
    """Apply order: a node after what it depends on, discovery order otherwise; cycles last.

    At each step the earliest (in discovery order) node whose dependencies inside the graph are all
    placed comes next; when none is ready, the rest follow in discovery order. A heap of ready
    positions gives that order without rescanning every node per step (quadratic on 200 nodes).
    """
    keys = {ks.key for ks in nodes}
    waiting: list[set] = []  # per node: the targets in the graph it still waits for
    dependents: dict = {}  # target -> positions of the nodes waiting for it
    ready: list[int] = []
    for i, ks in enumerate(nodes):
        wait = {d.target for d in deps_of(ks) if d.target in keys}
        waiting.append(wait)
        for target in wait:
            dependents.setdefault(target, []).append(i)
        if not wait:
            ready.append(i)
    heapq.heapify(ready)
    placed: list[FluxKs] = []
    done = [False] * len(nodes)
    while ready:
        i = heapq.heappop(ready)
        placed.append(nodes[i])
        done[i] = True
        for j in dependents.get(nodes[i].key, ()):
            if not done[j] and nodes[i].key in waiting[j]:
                waiting[j].discard(nodes[i].key)
                if not waiting[j]:
                    heapq.heappush(ready, j)
    placed.extend(ks for i, ks in enumerate(nodes) if not done[i])
    return placed


def _cycles(nodes: set, edges: list[tuple]) -> list[list]:
    """Every elementary cycle found by a depth-first walk, each once, from its smallest node."""
    succ: dict = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    found: dict[tuple, list] = {}

    def walk(start: tuple, node: tuple, path: list, on: set) -> None:
        for nxt in succ.get(node, []):
            if nxt == start:
                found.setdefault(tuple(_rotate(path)), _rotate(path))
            elif nxt not in on and _key(nxt) > _key(start) and len(path) < 50:
                on.add(nxt)
                walk(start, nxt, path + [nxt], on)
                on.discard(nxt)

    for start in sorted(nodes, key=_key):
        walk(start, start, [start], {start})
        if len(found) > 100:
            break
    return list(found.values())


def _key(node: tuple) -> tuple:
    return (node[0] or "", node[1])


def _rotate(path: list) -> list:
    i = min(range(len(path)), key=lambda k: _key(path[k]))
    return path[i:] + path[:i]


def show(node: tuple, base_ns: str | None = None) -> str:
    return node[1] if node[0] in (base_ns, None) else f"{node[0]}/{node[1]}"


def closest(name: str, candidates: list[str]) -> str | None:
    """The existing name closest to a misspelt one: a prefix or part of it first, then similarity."""
    parts = [c for c in candidates if c.startswith(name) or name.startswith(c) or name in c]
    if parts:
        return min(parts, key=lambda c: (abs(len(c) - len(name)), c))
    import difflib  # only for a name that was not found

    best = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
    return best[0] if best else None


# -- drawing ------------------------------------------------------------------------------


def render(model: Index, fmt: str, marks: Mapping[str, str] | None = None) -> str:
    """`marks`: file path -> the worst severity of its findings; mermaid colours those Kustomizations. When no
    cluster was found, the drawing starts with the model's note saying what was searched and which key to set
    (as a comment in mermaid and dot)."""
    graphs = [graph_of(c) for c in model.clusters if c.kustomizations]
    lead = {"mermaid": "%% ", "dot": "// "}.get(fmt, "note: ")
    head = "".join(f"{lead}{n}\n" for n in model.notes if n.startswith("no Flux cluster found"))
    if not graphs:
        return "" if fmt == "mermaid" else head  # a mermaid block of only a comment draws nothing
    if fmt == "mermaid":
        body = _mermaid(graphs, marks or {})
        return body.replace("\n", "\n" + head, 1) if head else body  # mermaid must start with its type
    if fmt == "dot":
        return head + _dot(graphs)
    return head + _text(graphs)


def _label(ks: FluxKs) -> str:
    return f"{ks.obj.namespace}/{ks.obj.name}" if ks.obj.namespace else ks.obj.name


def _ids(graphs: list[Graph]) -> dict:
    ids = {}
    for ci, g in enumerate(graphs):
        for ni, ks in enumerate(g.nodes):
            ids[(ci, ks.key)] = f"c{ci}n{ni}"
        for mi in range(len(g.missing)):
            ids[(ci, ("missing", mi))] = f"c{ci}m{mi}"
    return ids


FINDING_STYLE = {"error": "fill:#fdd,stroke:#d00", "warning": "fill:#ffd,stroke:#b80", "note": "fill:#def,stroke:#06c"}


def _mermaid(graphs: list[Graph], marks: Mapping[str, str]) -> str:
    ids = _ids(graphs)
    used: set[str] = set()
    out = ["flowchart LR"]
    cyc_edges, broken = [], []
    edge_no = 0
    for ci, g in enumerate(graphs):
        out.append(f'  subgraph c{ci}["{mermaid_text(g.cluster.label)}"]')
        cyc_nodes = {n for c in g.cycles for n in c}
        for ks in g.nodes:
            mark = marks.get(ks.obj.path)
            cls = ":::cycle" if ks.key in cyc_nodes else f":::{mark}" if mark in FINDING_STYLE else ""
            used.add(cls[3:])
            out.append(f'    {ids[(ci, ks.key)]}["{mermaid_text(_label(ks))}"]{cls}')
        for mi, dep in enumerate(g.missing):
            out.append(f'    {ids[(ci, ("missing", mi))]}["{mermaid_text(show(dep.target))} (missing)"]:::missing')
        out.append("  end")
        for dep in g.edges:
            src = ids.get((ci, dep.target))
            if src is None:
                continue
            if g.in_cycle(dep):
                out.append(f"  {src} -->|cycle| {ids[(ci, dep.source.key)]}")
                cyc_edges.append(edge_no)
            else:
                out.append(f"  {src} --> {ids[(ci, dep.source.key)]}")
            edge_no += 1
        for mi, dep in enumerate(g.missing):
            out.append(f"  {ids[(ci, ('missing', mi))]} -.->|missing| {ids[(ci, dep.source.key)]}")
            broken.append(edge_no)
            edge_no += 1
    out.append("  classDef missing stroke:#d00,stroke-dasharray:4 2,color:#d00")
    out.append("  classDef cycle stroke:#d00,stroke-width:3px")
    for severity in sorted(used & set(FINDING_STYLE)):
        out.append(f"  classDef {severity} {FINDING_STYLE[severity]}")
    for n in cyc_edges + broken:
        out.append(f"  linkStyle {n} stroke:#d00")
    return "\n".join(out) + "\n"


def _dot(graphs: list[Graph]) -> str:
    ids = _ids(graphs)
    out = ["digraph flux {", "  rankdir=LR;", "  node [shape=box];"]
    for ci, g in enumerate(graphs):
        out.append(f'  subgraph cluster_{ci} {{')
        out.append(f'    label="{dot_text(g.cluster.label)}";')
        cyc_nodes = {n for c in g.cycles for n in c}
        for ks in g.nodes:
            extra = ', color=red, penwidth=2' if ks.key in cyc_nodes else ""
            out.append(f'    {ids[(ci, ks.key)]} [label="{dot_text(_label(ks))}"{extra}];')
        for mi, dep in enumerate(g.missing):
            out.append(f'    {ids[(ci, ("missing", mi))]} [label="{dot_text(show(dep.target))} (missing)", '
                       f'style=dashed, color=red];')
        out.append("  }")
        for dep in g.edges:
            src = ids.get((ci, dep.target))
            if src is None:
                continue
            attr = ' [label="cycle", color=red]' if g.in_cycle(dep) else ""
            out.append(f"  {src} -> {ids[(ci, dep.source.key)]}{attr};")
        for mi, dep in enumerate(g.missing):
            out.append(f'  {ids[(ci, ("missing", mi))]} -> {ids[(ci, dep.source.key)]} '
                       f'[label="missing", style=dashed, color=red];')
    out.append("}")
    return "\n".join(out) + "\n"


def _text(graphs: list[Graph]) -> str:
    out = []
    for g in graphs:
        out.append(f"cluster {printable(g.cluster.label)}")
        for ks in g.nodes:
            deps = [d for d in g.edges if d.source is ks]
            after = ", ".join(printable(show(d.target, ks.obj.namespace)) for d in deps)
            out.append(f"  {printable(_label(ks))}" + (f"  <- {after}" if after else ""))
        for dep in g.missing:
            out.append(f"  BROKEN: {printable(_label(dep.source))} depends on {printable(show(dep.target))}, "
                       "which does not exist")
        for cycle in g.cycles:
            out.append("  CYCLE: " + " -> ".join(printable(show(n)) for n in cycle + cycle[:1]))
    return "\n".join(out) + "\n"
