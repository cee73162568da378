"""The value types of the Flux model, and what its builder steps read of it (`Index`).

Imports none of the package's builders: tree.py builds the model and calls the steps (boot, flux, leftover,
graph), which take it as an `Index`; none of them imports the model back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from ...parsing.yamlx import YMap
from ...record import factory, field, record
from .facts import Omitted, is_whole
from .patch import Rendered

if TYPE_CHECKING:
    from ...config import Config
    from ...repo import Repo
    from .kustomize import Builder, Built, KFile


@record
class Obj:
    """A Kubernetes document: where it is, what it is, its (patched) data and effective namespace."""

    path: str
    index: int
    line: int
    api: str
    kind: str
    name: str
    namespace: str | None
    data: Any

    @property
    def group(self) -> str:
        return self.api.split("/")[0] if "/" in self.api else ""

    @property
    def ident(self) -> str:
        return f"{self.namespace or '?'}/{self.name}"

    @property
    def whole(self) -> bool:
        """Whether `data` is the whole document (the manifest facts left nothing of it out)."""
        return is_whole(self.data)

    @property
    def spec(self) -> Any:
        """`spec` (an empty mapping where there is none); raises `NotExtracted` where the manifest facts left
        it out (read the document whole with `repo.yaml(path)`)."""
        spec = self.data.get("spec")
        if isinstance(spec, Omitted):
            spec.fail()
        return spec if isinstance(spec, dict) else YMap(self.line, 1)

    def line_of(self, *keys: str) -> int:
        """The line of the deepest existing key along `keys` (the key's own line, where a reader looks),
        or the document's first line. Raises `NotExtracted` for a key inside a part the facts left out."""
        node, line = self.data, self.line
        for key in keys:
            if not isinstance(node, YMap) or key not in node:
                break
            line, node = node.key_line(key), node[key]
        return line

    def is_(self, group: str, kind: str) -> bool:
        return self.group == group and self.kind == kind


def meta(data: Any, key: str) -> str | None:
    meta = data.get("metadata") if isinstance(data, dict) else None
    value = meta.get(key) if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def obj_of(doc: Rendered) -> Obj:
    # A patch may have rewritten anything, apiVersion and kind included: never assume their type.
    return Obj(doc.path, doc.index, doc.line, str(doc.data.get("apiVersion", "")), str(doc.data.get("kind", "")),
               meta(doc.data, "name") or "", doc.namespace, doc.data)


@record
class Ref:
    kind: str
    name: str
    namespace: str | None


def ref_of(node: Any, default_ns: str | None) -> Ref | None:
    if not isinstance(node, dict) or not isinstance(node.get("name"), str):
        return None
    ns = node.get("namespace") if isinstance(node.get("namespace"), str) else default_ns
    return Ref(str(node.get("kind", "")), node["name"], ns)


@record(mutable=True)
class FluxKs:
    """A Flux Kustomization in a cluster, and what its `path` pulls in when it is this repository's."""

    obj: Obj
    bootstrap: bool = False
    own: bool = False  # its source is this repository's GitRepository
    path: str | None = None  # repository path of spec.path, when own
    built: Built | None = None

    @property
    def key(self) -> tuple[str | None, str]:
        return self.obj.namespace, self.obj.name


@record(mutable=True)
class Cluster:
    folder: str | None  # None: the pseudo-cluster of what no cluster reaches; else how findings name it
    kind: str | None = None  # "flux bootstrap", "FluxInstance", "flux.clusters"; None for the pseudo-cluster
    anchor: str | None = None  # the file defining the cluster (gotk-sync.yaml, the FluxInstance's file)
    base: str = "."  # the folder its own source's paths are relative to (an OCI artifact's pushed folder)
    global_decryption: bool = False  # kustomize-controller has a default decryption key (flux-operator flag)
    under_root: bool = False  # a `flux bootstrap` cluster whose folder is the GitOps root or lies in it
    ids: dict[tuple[str, int], list[tuple[str, str | None, str]]] = factory(dict)
    ignore: Any = None  # what its own GitRepository's artifact leaves out (a predicate on repository paths)
    bootstrap: FluxKs | None = None
    own_source: Ref | None = None
    implicit: bool = False  # gotk-sync.yaml is a placeholder: what `flux bootstrap` writes is assumed
    objects: list[Obj] = factory(list)  # for resolution
    judged: list[Obj] = factory(list)  # objects whose findings belong to this cluster
    kustomizations: dict[tuple[str | None, str], FluxKs] = factory(dict)
    owners: dict[tuple[str, int], list[FluxKs]] = factory(dict)
    _index: dict[tuple[str, str], list[Obj]] | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return self.folder if self.folder is not None else "(not reached from a cluster)"

    @property
    def named(self) -> str:
        """The cluster as a message names it."""
        return f"cluster `{self.folder}`" if self.folder is not None else "the repository (no cluster applies it)"

    @property
    def is_bootstrap(self) -> bool:
        """Written by `flux bootstrap` (a flux-system/gotk-sync.yaml): the seed's kind of cluster."""
        return self.kind == "flux bootstrap"

    def find(self, kinds: tuple[str, ...] | str, name: str, namespace: str | None) -> Obj | None:
        kinds = (kinds,) if isinstance(kinds, str) else kinds
        if self._index is None:
            self._index = {}
            for obj in self.objects:
                self._index.setdefault((obj.kind, obj.name), []).append(obj)
        for kind in kinds:
            for obj in self._index.get((kind, name), []):
                if namespace is None or obj.namespace in (namespace, None):
                    return obj
        return None

    def artifact_names(self) -> set[tuple[str | None, str]]:
        """ExternalArtifacts an ArtifactGenerator in the cluster produces."""
        out = set()
        for obj in self.objects:
            if obj.kind == "ArtifactGenerator":
                for art in obj.spec.get("artifacts") or []:
                    if isinstance(art, dict) and isinstance(art.get("name"), str):
                        out.add((obj.namespace, art["name"]))
        return out

    def resolves(self, ref: Ref, kinds: tuple[str, ...]) -> bool:
        if ref.kind not in kinds:
            return False
        if ref.kind == "ExternalArtifact" and (ref.namespace, ref.name) in self.artifact_names():
            return True
        return self.find(ref.kind, ref.name, ref.namespace) is not None


class Index(Protocol):
    """What the builder steps (boot, flux, leftover, graph) read of the model: `tree.GitOps` is the one
    implementation. A protocol, so that no step imports the model that calls it."""

    repo: Repo
    config: Config
    root: str
    notes: list[str]
    builder: Builder
    files: list[str]
    configmaps: dict[str, dict[str, str]]
    kfiles: dict[str, KFile]
    raw: list[Obj]
    clusters: list[Cluster]

    def note(self, message: str) -> None: ...

    def config_anchor(self) -> str: ...

    def raw_of(self, path: str, extra: bool = False, docs: list[Any] | None = None) -> list[Obj]: ...

    def inside(self, path: str) -> bool: ...

    def flux_path(self, ks: Obj, base: str = ".") -> str | None: ...

    def applied(self, obj: Obj, folder: str) -> Built: ...

    def flux_kustomizations(self) -> Iterator[tuple[Cluster, FluxKs]]: ...
