"""Readers for the formats SOPS writes: YAML (with comments), JSON/binary, dotenv, INI.

Each returns a `SopsFile` (metadata + every leaf value and comment, with its key
path and line) or None when the text has no SOPS metadata in that format.
Comments matter because SOPS encrypts them too and its comment-regex rules look
at the comments preceding a value (sops.go walkBranch: one list of comments per
nesting level, cleared by every non-comment item).
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ...record import factory, record
from .file import RECIPIENT_KINDS, Leaf, Meta, SopsFile, Typed, build_meta, unflatten

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


class _CommentLoader(yaml.SafeLoader):
    """PyYAML's pure scanner, recording the comments it skips (line, column, text after `#`)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.comments: list[tuple[int, int, str]] = []

    def scan_to_next_token(self) -> None:
        if self.index == 0 and self.peek() == "\ufeff":
            self.forward()
        found = False
        while not found:
            while self.peek() == " ":
                self.forward()
            if self.peek() == "#":
                line, col, start = self.line + 1, self.column + 1, self.index
                while self.peek() not in "\0\r\n\x85\u2028\u2029":
                    self.forward()
                self.comments.append((line, col, self.buffer[start + 1:self.index]))
            if self.scan_line_break():
                if not self.flow_level:
                    self.allow_simple_key = True
            else:
                found = True


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

    def build(self, comments: list[tuple[int, int, str, bool]], doc: int) -> list[Leaf]:
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


def _yaml_nodes(text: str, with_comments: bool) -> tuple[list[Node], list[tuple[int, int, str, bool]]] | None:
    if not (with_comments and "#" in text) and "\t" not in text and text.isascii():
        # No comment to record (a comment needs a `#`): libyaml composes the same nodes (plain scalars
        # have style "" there, None here; `_Tree` treats both as plain) many times faster than the pure
        # scanner. Tabs and non-ASCII text (BOM, NEL, LS/PS breaks) are where the two disagree on what
        # is valid (fuzzed): those, and whatever libyaml refuses, stay with the pure loader below.
        nodes = _c_nodes(text)
        if nodes is not None:
            return nodes, []
    loader = _CommentLoader(text)
    nodes = _compose(loader)
    if nodes is None:
        return None
    lines = text.splitlines()
    comments = []
    if with_comments:
        for line, col, body in loader.comments:
            before = lines[line - 1][: col - 1] if line - 1 < len(lines) else ""
            comments.append((line, col, body, bool(before.strip())))
    return nodes, comments


def _c_nodes(text: str) -> list[Node] | None:
    """The documents' nodes through libyaml, or None (not installed, or it refuses the text)."""
    loader_class = getattr(yaml, "CSafeLoader", None)
    if loader_class is None:
        return None
    return _compose(loader_class(text))


def _compose(loader: Any) -> list[Node] | None:
    """Every document's node from a loader (disposed after), or None where the text is not YAML to it."""
    try:
        nodes = []
        while loader.check_node():
            nodes.append(loader.get_node())
    except (yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()
    return nodes


def _structured(path: str, text: str, fmt: str) -> SopsFile | None:
    parsed = _yaml_nodes(text.replace("\t", " ") if fmt == "json" else text, fmt == "yaml")
    if parsed is None:
        return None
    nodes, comments = parsed
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
    """SOPS' dotenv reader: split on newlines, `#` lines are comments, the first `=` splits; no trimming."""
    if not re.search(r"(?m)^sops_(mac|version|lastmodified)=", text):
        return None
    leaves = []
    flat: dict[str, str] = {}
    meta_line = 0
    acc: list[str] = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("#"):
            acc.append(line[1:])
            leaves.append(Leaf((), number, line[1:], True, (tuple(acc),)))
            continue
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        if key.startswith("sops_"):
            flat[key[len("sops_"):]] = value
            meta_line = meta_line or number
        else:
            leaves.append(Leaf((key,), number, value, False, (tuple(acc),)))
            acc = []
    return SopsFile(path, "dotenv", build_meta(unflatten(flat), meta_line or 1), tuple(leaves))


_SECTION = re.compile(r"^\s*\[(.*)\]\s*$")


def _ini_events(lines: list[str]) -> list[tuple[str, int, str, str]]:
    """(kind, line, name, value): kind is section, comment or key; comments just before a header are the
    section's (top level)."""
    events: list[tuple[str, int, str, str]] = [("section", 0, "DEFAULT", "")]
    pending: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        number, raw = i + 1, lines[i]
        stripped = raw.strip()
        i += 1
        if not stripped:
            continue
        if stripped[0] in ";#":
            pending.append((number, stripped[1:]))
            continue
        header = _SECTION.match(raw)
        if header:
            events += [("topcomment", n, "", c) for n, c in pending]
            pending = []
            events.append(("section", number, header.group(1).strip(), ""))
            continue
        cut = min((p for p in (raw.find("="), raw.find(":")) if p >= 0), default=-1)
        if cut < 0:
            continue
        key, value = raw[:cut].strip(), raw[cut + 1:].strip()
        if value.startswith('"""'):
            body = [value[3:]]
            while not body[-1].endswith('"""') and i < len(lines):
                body.append(lines[i])
                i += 1
            value = "\n".join(body)[:-3]
        elif len(value) >= 2 and value[0] == value[-1] and value[0] in "\"`":
            value = value[1:-1]
        events += [("comment", n, "", c) for n, c in pending]
        pending = []
        events.append(("key", number, key, value))
    events += [("comment", n, "", c) for n, c in pending]
    return events


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
    for kind, line, name, value in _ini_events(text.splitlines()):
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
