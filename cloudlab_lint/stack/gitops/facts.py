"""MANIFEST_FACTS: what the Flux model reads of a manifest, and, marked as such, what it leaves out.

The Flux rules judge Flux's own objects (every `*.fluxcd.io` kind: Kustomizations, sources, HelmReleases)
and kustomize's files whole, except a HelmRelease's `spec.values`: what Helm renders is no rule's business.
Of any other Kubernetes document the model keeps only what names and places it: `apiVersion`, `kind`,
`metadata`, its top-level scalars, and which other top-level fields it has (a `sops` mapping marks an
encrypted one). The extraction is the same in every run, so a commit hook may keep the whole-tree result
across edits to what it leaves out (`runner/kept.py` digests the facts, not the bytes): a ConfigMap's data,
a Deployment's image, the values Renovate bumps in a HelmRelease.

What is left out is never an empty value: it is an `Omitted` marker (`OmittedMap`, `OmittedSeq`) at the
field's place, whose contents raise `NotExtracted` when read. A rule that needs more of a document reads it
whole with `repo.yaml(path)` (recorded whole, so a kept result is dropped when the file changes); a model
object says whether its data is whole (`Obj.whole`).

`manifest_facts(repo, path)` is the one door to the extraction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from ...parsing.yamlx import Document, YMap, YSeq
from ...views import INSTANCES, MANIFEST, SOURCES
from .names import HELM_GROUP

if TYPE_CHECKING:
    from ...repo import Repo

KEPT = frozenset({"apiVersion", "kind", "metadata"})  # of a document outside WHOLE_GROUPS, besides scalars
WHOLE_GROUPS = ("fluxcd.io", "fluxcd.controlplane.io", "kustomize.config.k8s.io")  # judged whole
HELM_VALUES = ("spec", "values")  # a HelmRelease's values: Helm's input, left out


class NotExtracted(Exception):
    """A read of what the Flux model's manifest facts leave out (deliberately no KeyError: nothing may
    mistake it for a missing key)."""


class Omitted:
    """A field the extraction left out, at its place (its line and column stay right for findings).

    What a kustomize or Flux patch writes into it is held and readable; any other read raises `NotExtracted`,
    as does asking for its size or its keys: the document has more there than the model knows."""

    __slots__ = ()
    origin: tuple[str, str, str, str]  # (file, kind, name, dotted field)

    def fail(self, key: object = None) -> NoReturn:
        path, kind, name, where = self.origin
        field = where if key is None else f"{where}.{key}"
        raise NotExtracted(f"{path}: `{field}` of {kind} `{name}` is left out of the Flux model's manifest facts "
                           f"(MANIFEST_FACTS); read the document whole with repo.yaml(path)")

    def __repr__(self) -> str:
        path, kind, name, where = self.origin
        return f"<omitted `{where}` of {kind} `{name}` in {path}>"


class OmittedMap(Omitted, YMap):
    __slots__ = ("origin",)

    def __init__(self, line: int, col: int, origin: tuple[str, str, str, str]) -> None:
        YMap.__init__(self, line, col)
        self.origin = origin

    def __getitem__(self, key: Any) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        self.fail(key)

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key]

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        self.fail(key)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        return self[key]

    def line_of(self, key: str) -> int:
        return self.pos[key][0] if dict.__contains__(self, key) and key in self.pos else self.fail(key)

    def key_line(self, key: str) -> int:
        return self.keys_pos[key][0] if dict.__contains__(self, key) and key in self.keys_pos else self.fail(key)

    def __iter__(self) -> Iterator[Any]:
        self.fail()

    def __len__(self) -> int:
        self.fail()

    def keys(self) -> Any:
        self.fail()

    def values(self) -> Any:
        self.fail()

    def items(self) -> Any:
        self.fail()

    def __eq__(self, other: object) -> bool:
        return other is self  # never equal to a value: not even to `{}`

    def __ne__(self, other: object) -> bool:
        return other is not self

    __hash__ = None  # type: ignore[assignment]

    def held(self) -> list[tuple[Any, Any]]:
        """What patches wrote into it (the only part of it that is known)."""
        return list(dict.items(self))

    def copy(self) -> OmittedMap:  # type: ignore[override]
        out = OmittedMap(self.line, self.col, self.origin)
        dict.update(out, dict.items(self))
        out.keys_pos.update(self.keys_pos)
        out.pos.update(self.pos)
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        # A kept result digests the facts by pickling them: what is left out must pickle the same every run.
        return _omitted_map, (self.line, self.col, self.origin, self.held(), self.keys_pos, self.pos)


class OmittedSeq(Omitted, YSeq):
    """A left-out sequence: nothing of it is known (a patch writing into it is not followed)."""

    __slots__ = ("origin",)

    def __init__(self, line: int, col: int, origin: tuple[str, str, str, str]) -> None:
        YSeq.__init__(self, line, col)
        self.origin = origin

    def __getitem__(self, index: Any) -> Any:
        self.fail(index)

    def __contains__(self, item: object) -> bool:
        self.fail()

    def __iter__(self) -> Iterator[Any]:
        self.fail()

    def __len__(self) -> int:
        self.fail()

    def line_of(self, index: int) -> int:
        self.fail(index)

    def index(self, *args: Any) -> int:  # type: ignore[override]
        self.fail()

    def count(self, item: Any) -> int:
        self.fail()

    def __eq__(self, other: object) -> bool:
        return other is self

    def __ne__(self, other: object) -> bool:
        return other is not self

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> OmittedSeq:  # type: ignore[override]
        return OmittedSeq(self.line, self.col, self.origin)

    def __reduce__(self) -> tuple[Any, ...]:
        return OmittedSeq, (self.line, self.col, self.origin)


def _omitted_map(line: int, col: int, origin: tuple[str, str, str, str], held: list[tuple[Any, Any]],
                 keys_pos: dict[str, Any], pos: dict[str, Any]) -> OmittedMap:
    out = OmittedMap(line, col, origin)
    dict.update(out, held)
    out.keys_pos.update(keys_pos)
    out.pos.update(pos)
    return out


def is_whole(node: Any) -> bool:
    """Whether nothing in `node` was left out."""
    if isinstance(node, Omitted):
        return False
    if isinstance(node, dict):
        return all(is_whole(v) for v in dict.values(node))
    if isinstance(node, list):
        return all(is_whole(v) for v in node)
    return True


def manifest_facts(repo: Repo, path: str) -> list[Document] | None:
    """The Flux model's facts of the documents of `path` (once per run). The one call of `Repo.view`:
    recorded as a view, so a result kept between runs survives edits to what the facts leave out."""
    return repo.view(path, MANIFEST)


def source_facts(repo: Repo, path: str) -> list[Document] | None:
    """`sources_of` the file's documents (once per run), recorded as that view (`Repo.view`)."""
    return repo.view(path, SOURCES)


def instance_facts(repo: Repo, path: str) -> list[Document] | None:
    """The manifest facts of a file whose text names a FluxInstance or the flux-instance chart, else none;
    recorded as that view (`views.INSTANCES`)."""
    return repo.view(path, INSTANCES)


def facts_of(docs: list[Document] | None, path: str) -> list[Document] | None:
    """MANIFEST_FACTS of a file's documents (the same objects where nothing is left out)."""
    if docs is None:
        return None
    from ..kinds import flatten  # a List's items are the objects kubectl applies, each with its own index

    return [_facts(doc, path) for doc in flatten(docs) or ()]


def sources_of(docs: list[Document] | None, path: str) -> list[Document] | None:
    """`views.SOURCES`: the manifest facts of the Flux source objects (`source.toolkit.fluxcd.io`) among a
    file's documents. What the Flux model reads of a file outside the GitOps tree (a bootstrap script's
    `setup/flux/` sources): an edit to a workflow or a Taskfile changes no source, so keeps a kept result."""
    from .names import SOURCE_GROUP

    facts = facts_of(docs, path)
    if facts is None:
        return None
    return [d for d in facts if isinstance(d.data, dict) and isinstance(api := d.data.get("apiVersion"), str)
            and api.startswith(SOURCE_GROUP + "/") and isinstance(d.data.get("kind"), str)]


def _facts(doc: Document, path: str) -> Document:
    data = doc.data
    if not isinstance(data, YMap):
        return doc
    api, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api, str) or not isinstance(kind, str):
        return doc
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    name = name if isinstance(name, str) else "?"
    if kind == "HelmRelease" and api.startswith(HELM_GROUP + "/"):
        spec = data.get("spec")
        if not isinstance(spec, YMap) or not isinstance(spec.get("values"), (dict, list)):
            return doc
        out = _copy(data, (), (path, kind, name, ""))
        out["spec"] = _copy(spec, ("values",), (path, kind, name, "spec."))
        return _document(doc, out)
    if any(g in api for g in WHOLE_GROUPS):
        return doc
    if all(key in KEPT or not isinstance(value, (dict, list)) for key, value in data.items()):
        return doc
    return _document(doc, _copy(data, data.keys() - KEPT, (path, kind, name, "")))


def _document(doc: Document, data: YMap) -> Document:
    # Where the document ends is not in the facts either (no rule asks): a key added at its end keeps it.
    return Document(data, doc.index, doc.line, doc.line)


def _copy(node: YMap, left_out: Any, origin: tuple[str, str, str, str]) -> YMap:
    """A shallow copy of `node` at its place, the mappings and sequences under the `left_out` keys omitted.
    `origin`'s last item is the dotted prefix of `node`'s keys."""
    out = YMap(node.line, node.col)
    for key, value in node.items():
        out[key] = _omitted(value, (*origin[:3], f"{origin[3]}{key}")) if key in left_out else value
    out.keys_pos.update(node.keys_pos)
    out.pos.update(node.pos)
    return out


def _omitted(value: Any, origin: tuple[str, str, str, str]) -> Any:
    """The marker of `value` at its place when it is a mapping or a sequence; a scalar as it is."""
    if isinstance(value, dict):
        return OmittedMap(getattr(value, "line", 1), getattr(value, "col", 1), origin)
    if isinstance(value, list):
        return OmittedSeq(getattr(value, "line", 1), getattr(value, "col", 1), origin)
    return value
