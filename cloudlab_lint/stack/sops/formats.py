"""Readers for the formats SOPS writes: YAML (with comments), JSON/binary, dotenv, INI.

Each returns a `SopsFile` (metadata + every leaf value and comment, with its key
path and line) or None when the text has no SOPS metadata in that format.
Comments matter because SOPS encrypts them too and its comment-regex rules look
at the comments preceding a value (sops.go walkBranch: one list of comments per
nesting level, cleared by every non-comment item). The text itself is parsed in
`parsing/` (yamlnodes, ini, dotenv); what is here is SOPS' reading of it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ...parsing import ParseError
from ...parsing.yamlnodes import Comment, MappingNode, Node, ScalarNode, SequenceNode, compose
from ...record import factory, record
from .document import RECIPIENT_KINDS, Leaf, Meta, SopsFile, Typed, build_meta, unflatten

_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"


class _PosDict(dict):
    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, int] = {}


class _PosList(list):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[int] = []


def _line_of(container: Any, key: Any) -> int:
    return container.lines[key]


def _plain(node: Node) -> Any:
    """Metadata node -> dicts/lists that remember lines; scalars as text (None for null)."""
    if isinstance(node, MappingNode):
        out = _PosDict()
        for k, v in node.value:
            key = k.value if isinstance(k, ScalarNode) else str(k.start_mark.line)
            out[key] = _plain(v)
            out.lines[key] = v.start_mark.line + 1
        return out
    if isinstance(node, SequenceNode):
        seq = _PosList()
        for item in node.value:
            seq.append(_plain(item))
            seq.lines.append(item.start_mark.line + 1)
        return seq
    return None if node.tag == _NULL else node.value


@record(mutable=True)
class _Tree:
    """One document's collections and items, to place comments and build SOPS' comment stacks."""

    coll_col: list[int] = factory(list)
    coll_parent_item: list[int | None] = factory(list)
    coll_path: list[tuple[str, ...]] = factory(list)
    items: list[tuple[int, int, int]] = factory(list)  # (line, col, coll)
    leaves: list[tuple[tuple[str, ...], int, Any, int]] = factory(list)  # (path, line, value, item)
    sops: Node | None = None
    sops_span: tuple[int, int] = (0, 0)

    def walk(self, node: Node, path: tuple[str, ...], parent_item: int | None, top: bool) -> None:
        coll = len(self.coll_col)
        self.coll_col.append(node.start_mark.column + 1)
        self.coll_parent_item.append(parent_item)
        self.coll_path.append(path)
        if isinstance(node, MappingNode):
            for k, v in node.value:
                key = k.value if isinstance(k, ScalarNode) else f"<key at line {k.start_mark.line + 1}>"
                if top and key == "sops":
                    self.sops = v
                    self.sops_span = (k.start_mark.line + 1, v.end_mark.line + 1)
                    continue
                item = len(self.items)
                self.items.append((k.start_mark.line + 1, k.start_mark.column + 1, coll))
                self.child(v, path + (key,), item)
        else:
            for v in node.value:
                item = len(self.items)
                self.items.append((v.start_mark.line + 1, node.start_mark.column + 1, coll))
                self.child(v, path, item)

    def child(self, node: Node, path: tuple[str, ...], item: int) -> None:
        if isinstance(node, (MappingNode, SequenceNode)):
            self.walk(node, path, item, False)
        elif isinstance(node, ScalarNode) and node.tag != _NULL:
            value: Any = node.value
            if node.tag != _STR and not node.style:  # plain: None (pure loader) or "" (libyaml)
                value = Typed(node.value)
            self.leaves.append((path, node.start_mark.line + 1, value, item))

    def ancestors(self, coll: int) -> list[int]:
        """Items leading from the root to collection `coll` (outermost first)."""
        out = []
        parent = self.coll_parent_item[coll]
        while parent is not None:
            out.append(parent)
            parent = self.coll_parent_item[self.items[parent][2]]
        return out[::-1]

    def place(self, line: int, col: int, inline: bool) -> int:
        """The collection a comment belongs to (go-yaml attaches it to the next item, or as a foot comment)."""
        if inline:
            same = [i for i, it in enumerate(self.items) if it[0] == line]
            if same:
                return self.items[same[-1]][2]
        nxt = next((it for it in self.items if it[0] > line), None)
        if nxt is not None and col <= self.coll_col[nxt[2]]:
            return nxt[2]
        prev = [it for it in self.items if it[0] < line]
        if not prev:
            return nxt[2] if nxt is not None else 0
        coll: int | None = prev[-1][2]
        best = 0
        while coll is not None:
            if self.coll_col[coll] <= col:
                best = coll
                break
            parent = self.coll_parent_item[coll]
            coll = None if parent is None else self.items[parent][2]
        return best

    def build(self, comments: list[Comment], doc: int) -> list[Leaf]:
        if not self.coll_col:
            return []
        entries: dict[int, list[tuple[int, int, str, Any]]] = {}
        for index, (line, col, coll) in enumerate(self.items):
            entries.setdefault(coll, []).append((line, col, "item", index))
        for line, col, text, inline in comments:
            if self.sops is not None and self.sops_span[0] <= line <= self.sops_span[1]:
                continue
            coll = self.place(line, col, inline)
            # An inline comment precedes the item on its line (facts a5: "trailed on the same line").
            entries.setdefault(coll, []).append((line, -1 if inline else col, "comment", (text, line)))
        pre: dict[int, tuple[str, ...]] = {}
        comment_leaves: list[tuple[int, int, tuple[str, ...], str]] = []  # (coll, line, level, text)
        for coll, seq in entries.items():
            acc: list[str] = []
            for _line, _col, kind, payload in sorted(seq, key=lambda e: (e[0], e[1])):
                if kind == "item":
                    pre[payload] = tuple(acc)
                    acc = []
                else:
                    acc.append(payload[0])
                    comment_leaves.append((coll, payload[1], tuple(acc), payload[0]))
        out = []
        for path, line, value, item in self.leaves:
            chain = self.ancestors(self.items[item][2]) + [item]
            out.append(Leaf(path, line, value, False, tuple(pre.get(i, ()) for i in chain), doc))
        for coll, line, level, text in comment_leaves:
            chain = self.ancestors(coll)
            stack = tuple(pre.get(i, ()) for i in chain) + (level,)
            out.append(Leaf(self.coll_path[coll], line, text, True, stack, doc))
        return sorted(out, key=lambda leaf: leaf.line)


def _structured(path: str, text: str, fmt: str) -> SopsFile | None:
    try:
        nodes, comments = compose(text.replace("\t", " ") if fmt == "json" else text, comments=fmt == "yaml")
    except ParseError:
        return None
    if not nodes or not isinstance(nodes[0], MappingNode):
        return None
    leaves: list[Leaf] = []
    meta: Meta | None = None
    ends = [n.end_mark.line + 1 for n in nodes]
    for index, node in enumerate(nodes):
        tree = _Tree()
        if isinstance(node, (MappingNode, SequenceNode)):
            tree.walk(node, (), None, isinstance(node, MappingNode))
        if index == 0:
            if not isinstance(tree.sops, MappingNode):
                return None
            block = _plain(tree.sops)
            if not _looks_like_metadata(block):
                return None
            meta = build_meta(block, tree.sops_span[0], _line_of)
        low = ends[index - 1] if index else 0
        high = ends[index] if index < len(nodes) - 1 else float("inf")
        mine = [c for c in comments if low < c[0] <= high]
        leaves += tree.build(mine, index)
    assert meta is not None
    return SopsFile(path, fmt, meta, tuple(leaves))


def _looks_like_metadata(block: dict[str, Any]) -> bool:
    """A `sops:` mapping that SOPS wrote (not, say, a Helm value named sops)."""
    return any(key in block for key in ("lastmodified", "mac", "version", "key_groups", *RECIPIENT_KINDS))


def parse_yaml(path: str, text: str) -> SopsFile | None:
    if not re.search(r"(?m)^sops\s*:", text):
        return None
    return _structured(path, text, "yaml")


def parse_json(path: str, text: str) -> SopsFile | None:
    if not text.lstrip().startswith("{") or '"sops"' not in text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("sops"), dict) or not _looks_like_metadata(data["sops"]):
        return None
    sf = _structured(path, text, "json")
    if sf is not None:
        return sf
    # JSON that PyYAML will not compose: values without exact lines.
    leaves: list[Leaf] = []

    def walk(value: Any, p: tuple[str, ...]) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, p + (k,))
        elif isinstance(value, list):
            for v in value:
                walk(v, p)
        elif value is not None:
            leaves.append(Leaf(p, 1, value if isinstance(value, str) else Typed(json.dumps(value))))

    walk({k: v for k, v in data.items() if k != "sops"}, ())
    return SopsFile(path, "json", build_meta(data["sops"], 1), tuple(leaves))


def parse_dotenv(path: str, text: str) -> SopsFile | None:
    """dotenv: `sops_`-prefixed keys are the flattened metadata; each comment line precedes what follows it."""
    if not re.search(r"(?m)^sops_(mac|version|lastmodified)=", text):
        return None
    from ...parsing.dotenv import parse

    leaves = []
    flat: dict[str, str] = {}
    meta_line = 0
    acc: list[str] = []
    for entry in parse(text, lenient=True):  # SOPS refuses a line without `=`; a linter judges the rest
        if entry.key is None:
            acc.append(entry.value)
            leaves.append(Leaf((), entry.line, entry.value, True, (tuple(acc),)))
        elif entry.key.startswith("sops_"):
            flat[entry.key[len("sops_"):]] = entry.value
            meta_line = meta_line or entry.line
        else:
            leaves.append(Leaf((entry.key,), entry.line, entry.value, False, (tuple(acc),)))
            acc = []
    return SopsFile(path, "dotenv", build_meta(unflatten(flat), meta_line or 1), tuple(leaves))


def parse_ini(path: str, text: str) -> SopsFile | None:
    """INI: each section is a top-level mapping; metadata is the flattened `[sops]` section."""
    if not re.search(r"(?m)^\[sops\]\s*$", text):
        return None
    leaves = []
    flat: dict[str, str] = {}
    meta_line = 0
    section = "DEFAULT"
    top: list[str] = []
    section_pre: tuple[str, ...] = ()
    acc: list[str] = []
    from ...parsing.ini import events

    for event in events(text, lenient=True):  # as for dotenv: what go-ini refuses is skipped, the rest judged
        kind, line, name, value = event.kind, event.line, event.name, event.value
        if kind == "section":
            section, section_pre, top, acc = name, tuple(top), [], []
            if name == "sops":
                meta_line = line
        elif section == "sops":
            if kind == "key":
                flat[name] = value
        elif kind == "topcomment":
            top.append(value)
            leaves.append(Leaf((), line, value, True, (tuple(top),)))
        elif kind == "comment":
            acc.append(value)
            leaves.append(Leaf((section,), line, value, True, (section_pre, tuple(acc))))
        else:
            leaves.append(Leaf((section, name), line, value, False, (section_pre, tuple(acc))))
            acc = []
    return SopsFile(path, "ini", build_meta(unflatten(flat), meta_line or 1), tuple(leaves))


PARSERS = {"yaml": parse_yaml, "json": parse_json, "dotenv": parse_dotenv, "ini": parse_ini}
