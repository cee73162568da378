"""YAML with line marks, through the libyaml C composer when present.

Documents are composed (not constructed) and turned into plain Python values
by our own walk, so that:
- every mapping and sequence remembers where it and each of its children start
  (`YMap.pos`, `YSeq.pos`): any key path maps to a 1-based line and column;
- legal YAML that PyYAML's constructor rejects (application tags such as
  `!env_var`, the bare scalar `=`, redefined anchors) still parses;
- alias bombs and deep nesting end as a ParseError instead of eating memory.
Keys are kept as their source text (`on:` stays "on", not True).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from sys import intern
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from ..record import record
from . import ParseError

try:
    from yaml._yaml import CParser as _FastParser
except ImportError:  # pragma: no cover - libyaml not installed
    from yaml import SafeLoader as _FastParser  # type: ignore[assignment]

MAX_DEPTH = 200
# Expanded size (aliases counted every time they are used) allowed per file,
# relative to the file's length: a real 0.6 MB gotk-components.yaml is ~60k nodes.
MIN_NODE_BUDGET = 200_000
NODES_PER_BYTE = 2

Pos = tuple[int, int]  # (line, column), both 1-based


class YMap(dict):
    """A mapping that knows where it starts and where each key and value starts."""

    __slots__ = ("line", "col", "keys_pos", "pos")

    def __init__(self, line: int, col: int) -> None:
        super().__init__()
        self.line, self.col = line, col
        self.keys_pos: dict[str, Pos] = {}
        self.pos: dict[str, Pos] = {}

    def line_of(self, key: str) -> int:
        return self.pos.get(key, (self.line, self.col))[0]

    def key_line(self, key: str) -> int:
        return self.keys_pos.get(key, (self.line, self.col))[0]


class YSeq(list):
    """A sequence that knows where it starts and where each item starts."""

    __slots__ = ("line", "col", "pos")

    def __init__(self, line: int, col: int) -> None:
        super().__init__()
        self.line, self.col = line, col
        self.pos: list[Pos] = []

    def line_of(self, index: int) -> int:
        return self.pos[index][0] if 0 <= index < len(self.pos) else self.line


@record(order=True)
class Document:
    data: Any
    index: int
    line: int  # first line of the document's content
    end_line: int


_SCALAR = SafeConstructor()
_CONSTRUCT = {
    "tag:yaml.org,2002:int": _SCALAR.construct_yaml_int,
    "tag:yaml.org,2002:float": _SCALAR.construct_yaml_float,
    "tag:yaml.org,2002:bool": _SCALAR.construct_yaml_bool,
    "tag:yaml.org,2002:null": lambda node: None,
}
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
# YAML 1.1 implicit typing, PyYAML's own table, by first character: a plain scalar whose first
# character has no entry is a string without a regex test (most of a manifest).
_IMPLICIT: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    k: list(v) for k, v in Resolver.yaml_implicit_resolvers.items() if k is not None}


def _plain_tag(value: str) -> str:
    for tag, regexp in _IMPLICIT.get(value[:1], ()):
        if regexp.match(value):
            return tag
    return _STR


class _Composer(_FastParser):  # type: ignore[misc, valid-type]
    """libyaml's composer, leaving a plain scalar's type to the builder.

    PyYAML's resolver runs in Python for every node (three calls each: ~15% of parsing a tree).
    Resolution only matters for plain scalars, which the builder types itself; path resolvers are
    never registered here, so descending and ascending have nothing to do.
    """

    def resolve(self, kind: type, value: Any, implicit: Any) -> str | None:
        # A tagged scalar (`! 12`) is a string; everything else stays untagged.
        return _STR if kind is ScalarNode and not implicit[0] else None

    def descend_resolver(self, parent: Any, index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


def _scalar(node: ScalarNode) -> Any:
    tag = node.tag
    if node.style:  # quoted or block: a string whatever it says (the C loader says "" for plain)
        return node.value
    if tag is None:
        tag = _plain_tag(node.value)
    conv = _CONSTRUCT.get(tag)
    if conv is None:
        return node.value
    try:
        return conv(node)
    except (ValueError, yaml.YAMLError):
        return node.value


def _is_merge(key: Node) -> bool:
    """`<<:` as a key: tagged as a merge, or plain and untagged (what the resolver would tag so)."""
    return key.tag == _MERGE or (key.value == "<<" and key.tag is None and key.__class__ is ScalarNode
                                 and not key.style)


def _too_many(line: int) -> ParseError:
    return ParseError("YAML expands to too many nodes (alias bomb?)", line)


# One tuple per (line, column) pair, for the trees a run or the fact store holds by the thousand. Bounded: a pair
# past the bound is left as it is.
_PLACES: dict[Pos, Pos] = {}
MAX_SHARED_PLACES = 1 << 14
MAX_SHARED_TEXT = 64  # characters of a scalar shared (interned): `v1`, a kind, a namespace, a label's value


class _Builder:
    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.memo: dict[int, Any] = {}
        self.open: set[int] = set()  # collections still being built: an alias to one is a cycle

    def build(self, node: Node, depth: int = 0) -> Any:
        self.budget -= 1
        if self.budget < 0:
            line = node.start_mark.line + 1
            raise _too_many(line)
        if depth > MAX_DEPTH:
            raise ParseError(f"YAML nesting deeper than {MAX_DEPTH} levels", node.start_mark.line + 1)
        if node.__class__ is ScalarNode:
            return _scalar(node)
        done = self.memo.get(id(node))
        if done is not None:
            if id(node) in self.open:
                # `a: &a [*a]` composes into a cycle; as data it would send every
                # recursive walk in every rule into infinite recursion.
                raise ParseError("YAML alias refers to its own ancestor (recursive alias)", node.start_mark.line + 1)
            # An alias: the same object again, but its size still counts, so
            # a billion-laughs document is refused rather than walked forever.
            self.budget -= _size(done)
            if self.budget < 0:
                raise _too_many(node.start_mark.line + 1)
            return done
        mark = node.start_mark
        line, col = mark.line + 1, mark.column + 1
        # Every position pair and short string is shared (`_PLACES`, interned): a run over the whole tree, and
        # the fact store, hold thousands of trees that repeat the same few hundred of each. Once the table is
        # full, only pairs already in it are shared.
        share = _PLACES.get if len(_PLACES) >= MAX_SHARED_PLACES else _PLACES.setdefault
        # Scalar children are built inline (most of a tree): a call per scalar was a third of the walk.
        if isinstance(node, SequenceNode):
            seq = YSeq(line, col)
            self.memo[id(node)] = seq
            self.open.add(id(node))
            pos = seq.pos
            for item in node.value:
                if item.__class__ is ScalarNode:
                    self.budget -= 1
                    value = _scalar(item)
                    seq.append(intern(value) if value.__class__ is str and len(value) <= MAX_SHARED_TEXT
                               else value)
                else:
                    seq.append(self.build(item, depth + 1))
                mark = item.start_mark
                place = (mark.line + 1, mark.column + 1)
                pos.append(share(place, place))
            self.open.discard(id(node))
            if self.budget < 0:
                raise _too_many(line)
            return seq
        assert isinstance(node, MappingNode)
        out = YMap(line, col)
        self.memo[id(node)] = out
        self.open.add(id(node))
        keys_pos, pos = out.keys_pos, out.pos
        merges: list[YMap] = []
        for key_node, value_node in node.value:
            if (key_node.value == "<<" or key_node.tag is not None) and _is_merge(key_node):  # no call per key
                merged = self.build(value_node, depth + 1)
                merges.extend(m for m in (merged if isinstance(merged, list) else [merged]) if isinstance(m, YMap))
                continue
            # Interned: every manifest repeats the same keys, and a run (and the fact store, which pickles
            # each object once) holding thousands of trees then holds each name once.
            key = intern(key_node.value) if key_node.__class__ is ScalarNode else str(self.build(key_node, depth + 1))
            key_mark = key_node.start_mark
            if key in keys_pos:
                # YAML forbids it and kubectl, kustomize and Actions refuse it; keeping the last value
                # silently would hide the first one (a plaintext secret, say) from every rule.
                first = keys_pos[key][0]
                raise ParseError(f"invalid YAML: duplicate key `{key}` (first defined on line {first})",
                                 key_mark.line + 1, key_mark.column + 1)
            if value_node.__class__ is ScalarNode:
                self.budget -= 1
                value = _scalar(value_node)
                out[key] = intern(value) if value.__class__ is str and len(value) <= MAX_SHARED_TEXT else value
            else:
                out[key] = self.build(value_node, depth + 1)
            place = (key_mark.line + 1, key_mark.column + 1)
            keys_pos[key] = share(place, place)
            mark = value_node.start_mark
            place = (mark.line + 1, mark.column + 1)
            pos[key] = share(place, place)
        for source in merges:
            for key, value in source.items():
                if key not in out:
                    out[key] = value
                    pos[key] = source.pos.get(key, (line, col))
                    keys_pos[key] = source.keys_pos.get(key, (line, col))
        self.open.discard(id(node))
        if self.budget < 0:
            raise _too_many(line)
        return out


def _size(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_size(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_size(v) for v in value)
    return 1


class _LenientComposer(yaml.SafeLoader):
    """Pure-Python fallback that accepts a redefined anchor (legal YAML 1.2)."""

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        if self.check_event(yaml.events.AliasEvent):
            return super().compose_node(parent, index)
        anchor = self.peek_event().anchor
        if anchor is not None:
            self.anchors.pop(anchor, None)  # the later definition wins, as in YAML 1.2
        return super().compose_node(parent, index)


def _compose(text: str, loader: type) -> Iterator[Node]:
    loader_obj = loader(text)
    try:
        while loader_obj.check_node():
            yield loader_obj.get_node()
    finally:
        loader_obj.dispose()


def _error(exc: yaml.YAMLError, text: str = "") -> ParseError:
    if isinstance(exc, yaml.reader.ReaderError):
        # A bad character (NUL, a control character) has an offset, not a mark: libyaml counts
        # UTF-8 bytes. Without this every such file was reported at line 1.
        line = text.encode("utf-8", "surrogatepass")[: exc.position].count(b"\n") + 1
        return ParseError(f"invalid YAML: {exc.reason} (character 0x{exc.character:02x})", line)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return ParseError(message)
    # At the end of a stream without a final newline libyaml's mark is one line past
    # the last: point at the last line instead (SARIF and editors need an existing line).
    last = text.count("\n") + text.count("\r") - text.count("\r\n") + 1
    if mark.line + 1 > last:
        return ParseError(message, last, 1)
    return ParseError(message, mark.line + 1, mark.column + 1)


def load_documents(text: str) -> list[Document]:
    """Every document of a YAML stream; raises ParseError with a line."""
    budget = max(MIN_NODE_BUDGET, len(text) * NODES_PER_BYTE)
    try:
        return _build_all(_compose(text, _Composer), budget)
    except yaml.composer.ComposerError as exc:
        if "duplicate anchor" not in str(exc):
            raise _error(exc, text) from None
    except yaml.YAMLError as exc:
        raise _error(exc, text) from None
    except RecursionError:
        raise ParseError(f"YAML nesting deeper than {MAX_DEPTH} levels") from None
    try:
        return _build_all(_compose(text, _LenientComposer), budget)
    except yaml.YAMLError as exc:
        raise _error(exc, text) from None
    except RecursionError:
        raise ParseError(f"YAML nesting deeper than {MAX_DEPTH} levels") from None


def _build_all(nodes: Iterator[Node], budget: int) -> list[Document]:
    builder = _Builder(budget)
    docs = []
    for index, node in enumerate(nodes):
        builder.memo.clear()  # anchors do not cross documents
        builder.open.clear()
        docs.append(Document(builder.build(node), index, node.start_mark.line + 1, node.end_mark.line + 1))
    return docs


def looks_templated(text: str) -> bool:
    """A Helm/Go template is not YAML until rendered."""
    return "{{" in text and "}}" in text


def load_json_documents(text: str) -> list[Document]:
    """A JSON manifest's documents, with line marks (raises ParseError)."""
    return load_documents(json_as_yaml(text))


def json_as_yaml(text: str) -> str:
    """JSON as YAML reads it: a tab is JSON whitespace anywhere (raw tabs inside JSON strings are invalid
    JSON), but YAML refuses one where a token may start a line (a tab-indented opening brace, a blank
    line of tabs at the end); a space keeps every line and column."""
    return text.replace("\t", " ")
