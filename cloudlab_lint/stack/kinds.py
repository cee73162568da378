"""Kubernetes objects wherever they are: the one walker every kind-seeking rule uses.

kubectl and kustomize apply every object of a manifest, so a rule that looks for a kind finds it:
- in every document of a YAML stream, in flow style or block style, with escaped scalars (the parsed
  value counts, not its spelling: `kind: "\\x53ecret"` is a Secret);
- inside `kind: List` and every `*List` kind that has `items` (what `kubectl get -o yaml` writes), items
  of items included; kustomize inlines them the same way (a kind ending in `List` with `items`);
- in JSON manifests and in `.yaml`/`.yml`/`.json` of any letter case (kubectl and kustomize `resources:`
  take any name; Flux's generated kustomization, case-sensitive `.yaml`/`.yml`, is the Flux model's).
Templates (`refs.is_template_name`) are never manifests; a Helm chart's `templates/` (a `Chart.yaml` in
the folder above it) is not YAML until rendered and is skipped, any other `templates/` folder is not.

An item of a List gets an index of its own, distinct from every document's (`item_index`), so that
`(path, index)` names one object as it does for plain documents.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .refs import is_chart_template, is_template_name

if TYPE_CHECKING:
    from ..parsing.yamlx import Document
    from ..repo import Repo

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_ITEM_SHIFT = 32  # item n (1-based) of document d: d + (n << 32); documents per file stay far below 2**32
# What can spell `Secret` without the literal text: a YAML or JSON hex escape (`\x53`, `\u0053`,
# `\U00000053`) or an escaped line break joining two halves of a double-quoted scalar. Other escapes
# give no letter.
ESCAPE_PATTERN = rb"\\(?:[xuU]|\r?\n|\r?\Z)"
_ESCAPE = re.compile(ESCAPE_PATTERN.decode())
_ESCAPE_BYTES = re.compile(ESCAPE_PATTERN)


def is_manifest_name(path: str) -> bool:
    """A name kubectl and kustomize read as a manifest: YAML or JSON, any letter case, not a template."""
    name = path.rpartition("/")[2].lower()
    return name.endswith(MANIFEST_SUFFIXES) and not is_template_name(name)


def is_json_name(path: str) -> bool:
    return path.lower().endswith(".json")


def may_name_kind(text: str, kind: str = "Secret") -> bool:
    """False only when no object of `text` can have kind `kind` (`objects`, Lists flattened): a prefilter
    never less complete than the parser, and cheap on what real repositories hold.

    True when an escape could spell the kind, or the kind appears as a token of its own (`existingSecret`
    is no Secret) on a line other than `- kind: Secret`, or anywhere when the text says `items` (a List's
    items may be written any way). Why a `- kind: Secret` line alone never makes an object one: without
    `items` there is no List, so every object is a document's root mapping; a root key never starts its
    line with `- ` (that line is an entry of a block sequence, inside the root or as the root, which is
    then no object), and a block sequence cannot sit inside a flow collection. Such lines are what a
    HelmRelease's `valuesFrom` holds: thousands of blobs in a history, none of them a Secret."""
    if _ESCAPE.search(text):
        return True
    return _outside_item_lines(text, kind, "items", "\n", _item_line(kind))


def may_name_kind_bytes(data: bytes, kind: str = "Secret") -> bool:
    """`may_name_kind` on raw bytes (a history blob), without decoding UTF-8 (an ASCII kind's bytes are
    the same); UTF-16 (with its BOM) is decoded first, as the readers do."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return may_name_kind(data.decode("utf-16"), kind)
        except UnicodeDecodeError:
            return True
    if _ESCAPE_BYTES.search(data):
        return True
    return _outside_item_lines(data, kind.encode(), b"items", b"\n", _item_line_bytes(kind))


# What a line may hold before a kind's name where that name is (or may become) the value of a `kind` key:
# indentation and flow punctuation (the value on a line of its own, a complex key's `: `), `kind:` itself
# (any quoting, JSON too), or an anchor (`&a Secret`: `kind: *a` elsewhere names it); tags and anchors may
# come between. Not `- `: a block sequence's entry is no `kind` value (a kind that is a list is no kind).
_KIND_VALUE_PREFIX = re.compile(rb"(?m)(?:^[\s?:{\[,\"']*|kind[\"']?[ \t]*:[ \t]*|&\S+[ \t]+)(?:[!&]\S*[ \t]+)*[\"']?$")
# And after it: the end of the scalar (a quote, the line's end, a comment, flow punctuation). A plain
# scalar that goes on (`Secret values should...`) is another value; one continued on the next line is
# kept all the same (its end is the line's end here).
_KIND_VALUE_SUFFIX = re.compile(rb"(?m)[\"']?[ \t]*(?:[,}\]#]|\r?$)")


def may_be_kind_value_bytes(data: bytes, kind: str = "Secret") -> bool:
    """`may_name_kind_bytes`, narrower: the kind's name counts only where it may be a `kind` key's value
    (`_KIND_VALUE_PREFIX`), so a CRD or chart whose descriptions mention a Secret and whose schema says
    `items` is not parsed in full (the history scan meets thousands of their versions). Never less
    complete than the parser: an escape, a value on its own line, a complex key or an anchor still count."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return may_name_kind_bytes(data, kind)
    name = kind.encode()
    if b"\\" in data and _escape_may_spell(data, name):
        return True
    pos = data.find(name)
    if pos < 0:
        return False
    listed = b"items" in data
    settled: bool | None = None  # whether the document roots settle other kinds (asked once, when needed)
    item_line = _item_line_bytes(kind)
    size = len(name)
    while pos >= 0:
        before, after = data[pos - 1:pos], data[pos + size:pos + size + 1]
        if not (before.isalnum() or before == b"_") and not (after.isalnum() or after == b"_"):
            start = data.rfind(b"\n", 0, pos) + 1
            if _KIND_VALUE_PREFIX.search(data, start, pos) and _KIND_VALUE_SUFFIX.match(data, pos + size):
                end = data.find(b"\n", pos)
                if listed or not item_line.fullmatch(data, start, len(data) if end < 0 else end):
                    if settled is None:
                        settled = not listed and _roots_name_other_kinds(data, name)
                    if not settled:
                        return True
        pos = data.find(name, pos + size)
    return False


@functools.cache
def _pieces(name: bytes) -> tuple[bytes, ...]:
    return tuple(name[:n] for n in range(1, len(name) + 1))


def _escape_may_spell(data: bytes, name: bytes) -> bool:
    """Whether an escape may spell `name`: any hex escape; an escaped line break (a shell script's line
    continuation, mostly) only right after a piece of the name that starts it (`"Sec\\` + a line break +
    `ret"`; a break before the whole name leaves the name whole on the next line, where it is seen)."""
    pieces = _pieces(name)
    for match in _ESCAPE_BYTES.finditer(data):
        if data[match.start() + 1:match.start() + 2] in (b"x", b"u", b"U") or data.endswith(pieces, 0, match.start()):
            return True
    return False


_DOC_MARKER = re.compile(rb"(?m)^(?:---|\.\.\.)(?=[ \t\r\n]|\Z)[^\n]*")
_ROOT_KEY = re.compile(rb"([A-Za-z_][\w.-]*)[ \t]*:(?:[ \t]+([^\r\n]*?))?[ \t]*\r?$")
_FIRST_CONTENT = re.compile(rb"(?m)^[ \t]*[^ \t\r\n#%]")
_COLUMN_0 = re.compile(rb"(?m)^[^ \t\r\n#-][^\n]*")
_PLAIN_WORD = re.compile(rb"[A-Za-z0-9][\w.-]*(?:[ \t]+#[^\n]*)?")


def _roots_name_other_kinds(data: bytes, name: bytes) -> bool:
    """Whether every document of a text without Lists is a block mapping whose keys start at column 0 (its
    first line a plain `key:`) and every column-0 `kind:` line gives a plain kind other than `name`. Then
    no object is of that kind: without a List every object is a document's root, and a root mapping's keys
    all start at its first key's column (a `kind: Secret` deeper in, such as a HelmRelease's valuesFrom
    entry, is no object's kind). Anything else at column 0 (a quoted, tagged or complex key, a flow
    mapping, content after `---`) answers False: the parse decides."""
    start = 0
    for marker in (*_DOC_MARKER.finditer(data), None):
        end = marker.start() if marker is not None else len(data)
        if not _root_names_other_kind(data, start, end, name):
            return False
        if marker is not None:
            if marker.group().rstrip()[3:].strip():
                return False  # content after the marker: the root starts there
            start = marker.end()
    return True


def _root_names_other_kind(data: bytes, start: int, end: int, name: bytes) -> bool:
    first = _FIRST_CONTENT.search(data, start, end)
    if first is None:
        return True  # nothing but blank lines, comments and directives
    if first.group()[:1] in (b" ", b"\t", b"-"):
        return False  # an indented root, or a sequence: the parse decides
    # Only the lines that start at column 0 can hold the root's keys (a block sequence at column 0 is a
    # root key's value, and never one of these lines).
    for line in _COLUMN_0.finditer(data, first.start(), end):
        key = _ROOT_KEY.fullmatch(line.group())
        if key is None:
            return False
        if key.group(1) == b"kind":
            value = key.group(2) or b""
            if not _PLAIN_WORD.fullmatch(value) or value.split()[0] == name:
                return False
    return True


def _outside_item_lines(text: Any, kind: Any, items: Any, newline: Any, item_line: Any) -> bool:
    """Whether `kind` occurs as a token of its own anywhere when `items` is there, else on a line that is
    not a `- kind: KIND` sequence entry (str or bytes alike). One `find` per occurrence: linear."""
    pos = text.find(kind)
    if pos < 0:
        return False
    if items in text:
        return True
    size = len(kind)
    while pos >= 0:
        before, after = text[pos - 1:pos] if pos else text[:0], text[pos + size:pos + size + 1]
        if not (before.isalnum() or before in ("_", b"_")) and not (after.isalnum() or after in ("_", b"_")):
            start = text.rfind(newline, 0, pos) + 1
            end = text.find(newline, pos)
            if not item_line.fullmatch(text, start, len(text) if end < 0 else end):
                return True
        pos = text.find(kind, pos + size)
    return False


@functools.cache
def _item_line(kind: str) -> re.Pattern[str]:
    return re.compile(rf"[ \t]*-[ \t]+kind:[ \t]*{re.escape(kind)}[ \t]*\r?")


@functools.cache
def _item_line_bytes(kind: str) -> re.Pattern[bytes]:
    return re.compile(_item_line(kind).pattern.encode())


def item_index(document: int, ordinal: int) -> int:
    """The index of the `ordinal`-th (1-based) List item of document `document`, flattened."""
    return document + (ordinal << _ITEM_SHIFT)


def is_list(data: Any) -> bool:
    kind = data.get("kind") if isinstance(data, dict) else None
    return isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list)


def flatten(docs: list[Document] | None) -> list[Document] | None:
    """The documents of a file as kubectl applies them: each List replaced by its items (recursively),
    every other document as it is (the same object)."""
    if docs is None:
        return None
    if not any(is_list(d.data) for d in docs):
        return docs
    from ..parsing.yamlx import Document

    out: list[Document] = []
    for doc in docs:
        if not is_list(doc.data):
            out.append(doc)
            continue
        ordinal = 0
        for data in _items(doc.data):
            ordinal += 1
            line = getattr(data, "line", doc.line)
            out.append(Document(data, item_index(doc.index, ordinal), line, line))
    return out


def _items(data: Any) -> Iterator[Any]:
    """The objects of a List, items of nested Lists included (as deep as the parser allows nesting)."""
    for item in data["items"]:
        if is_list(item):
            yield from _items(item)
        elif isinstance(item, dict):
            yield item


def objects(docs: list[Document] | None) -> list[Document]:
    """Every object of a file's documents (a mapping with a `kind`), List items in place of their List."""
    return [d for d in flatten(docs) or [] if isinstance(d.data, dict) and isinstance(d.data.get("kind"), str)]


def kind_objects(repo: Repo, path: str, kind: str) -> list[Document]:
    """The objects of kind `kind` in the manifest `path` (Lists flattened); read only when the text may
    name the kind (`may_name_kind`)."""
    if not is_manifest_name(path) or is_chart_template(path, repo.file_set):
        return []
    text = repo.read_text(path, strict=False)
    if text is None or not may_name_kind(text, kind):
        return []
    return [d for d in objects(repo.yaml(path)) if d.data.get("kind") == kind]


def text_objects(text: str, path: str, kind: str) -> list[Document]:
    """`kind_objects` on given text (a blob from history): parse errors are no objects."""
    if not is_manifest_name(path) or not may_name_kind(text, kind):
        return []
    from ..parsing import ParseError
    from ..parsing.yamlx import load_documents, load_json_documents

    try:
        docs = load_json_documents(text) if is_json_name(path) else load_documents(text)
    except ParseError:
        return []  # kubectl applies nothing of it either (a Helm template, broken YAML)
    return [d for d in objects(docs) if d.data.get("kind") == kind]
