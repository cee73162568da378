"""The Flux tree under the GitOps root as one indexed model, built once per run (`model(repo, config)`).

Clusters are the folders holding `flux-system/gotk-sync.yaml` (or `flux.clusters`). Each has its own
graph, because real repositories repeat names across clusters: a cluster holds what its bootstrap
Kustomization applies, then what every Flux Kustomization reached from there applies, following the
repository's own GitRepository only (other sources are not in this repository). What a tree holds that
no cluster reaches is judged in a last pseudo-cluster against the whole tree.
"""

from __future__ import annotations

import gc
import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import Config
from ..parsing.yamlx import YMap, load_documents
from ..repo import Repo
from .gitops_kustomize import KFILE_NAMES as KFILE_NAMES
from .gitops_kustomize import (
    YAML_SUFFIXES,
    Builder,
    Built,
    KFile,
    is_k8s,
    is_kustomize_doc,
    is_remote,
    join,
    parse_kfile,
)
from .gitops_leftover import flux_patched
from .gitops_names import (  # noqa: F401 - re-exported: the model's public names
    BOOTSTRAP_NS,
    CHART_REFS,
    HELM_GROUP,
    HELM_SOURCES,
    KS_GROUP,
    KS_SOURCES,
    SOURCE_GROUP,
)
from .gitops_patch import Rendered, apply_flux_patches
from .gitops_view import document_view


@dataclass(frozen=True)
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
    def spec(self) -> Any:
        spec = self.data.get("spec")
        return spec if isinstance(spec, dict) else YMap(self.line, 1)

    def line_of(self, *keys: str) -> int:
        """The line of the deepest existing key along `keys` (the key's own line, where a reader looks),
        or the document's first line."""
        node, line = self.data, self.line
        for key in keys:
            if not isinstance(node, YMap) or key not in node:
                break
            line, node = node.key_line(key), node[key]
        return line

    def is_(self, group: str, kind: str) -> bool:
        return self.group == group and self.kind == kind


def _meta(data: Any, key: str) -> str | None:
    meta = data.get("metadata") if isinstance(data, dict) else None
    value = meta.get(key) if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def obj_of(doc: Rendered) -> Obj:
    # A patch may have rewritten anything, apiVersion and kind included: never assume their type.
    return Obj(doc.path, doc.index, doc.line, str(doc.data.get("apiVersion", "")), str(doc.data.get("kind", "")),
               _meta(doc.data, "name") or "", doc.namespace, doc.data)


@dataclass(frozen=True)
class Ref:
    kind: str
    name: str
    namespace: str | None


def ref_of(node: Any, default_ns: str | None) -> Ref | None:
    if not isinstance(node, dict) or not isinstance(node.get("name"), str):
        return None
    ns = node.get("namespace") if isinstance(node.get("namespace"), str) else default_ns
    return Ref(str(node.get("kind", "")), node["name"], ns)


@dataclass
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


@dataclass
class Cluster:
    folder: str | None  # None: the pseudo-cluster of what no cluster reaches
    bootstrap: FluxKs | None = None
    own_source: Ref | None = None
    implicit: bool = False  # gotk-sync.yaml is a placeholder: what `flux bootstrap` writes is assumed
    objects: list[Obj] = field(default_factory=list)  # for resolution
    judged: list[Obj] = field(default_factory=list)  # objects whose findings belong to this cluster
    kustomizations: dict[tuple[str | None, str], FluxKs] = field(default_factory=dict)
    owners: dict[tuple[str, int], list[FluxKs]] = field(default_factory=dict)
    _index: dict[tuple[str, str], list[Obj]] | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return self.folder if self.folder is not None else "(not reached from a cluster)"

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


class GitOps:
    def __init__(self, repo: Repo, config: Config) -> None:
        self.repo = repo
        self.config = config
        self.root = posixpath.normpath(config.gitops_root or ".")
        self.builder = Builder(repo)
        self._patch_files: frozenset[str] | None = None
        self._raw_at: dict[tuple[str, int], Obj] | None = None
        self._raw_patched: dict[tuple[str, str], list[Obj]] | None = None
        self.files = [p for p in repo.files_under(self.root) if p.endswith(YAML_SUFFIXES) or
                      posixpath.basename(p) in KFILE_NAMES]
        self.kfiles: dict[str, KFile] = {}
        for path in self.files:
            if posixpath.basename(path) in KFILE_NAMES:
                kf = parse_kfile(repo, path)
                if kf is not None:
                    self.kfiles[path] = kf
        self.namespaces = self._namespaces()
        self.raw: list[Obj] = []
        for path in self.files:
            if path in self.kfiles or "/templates/" in f"/{path}":
                continue
            for doc in repo.yaml_view(path, document_view) or []:
                if is_k8s(doc.data) and not is_kustomize_doc(doc.data):
                    ns = _meta(doc.data, "namespace") or self.namespaces.get(path)
                    self.raw.append(obj_of(Rendered(path, doc.index, doc.line, doc.data, ns)))
        self.clusters = [self._cluster(folder) for folder in self.cluster_folders()]
        self.clusters.append(self._leftover())

    # -- index ---------------------------------------------------------------------------

    def inside(self, path: str) -> bool:
        return self.root == "." or path == self.root or path.startswith(self.root + "/")

    def _namespaces(self) -> dict[str, str]:
        """A file's namespace from the kustomization file that lists it (for objects no cluster renders)."""
        out: dict[str, str] = {}
        for kf in self.kfiles.values():
            if kf.namespace:
                for entry in kf.entries:
                    if entry.field == "resources" and entry.target:
                        out.setdefault(entry.target, kf.namespace)
        return out

    def cluster_folders(self) -> list[str]:
        if self.config.clusters is not None:
            return [posixpath.normpath(c) for c in self.config.clusters]
        found = set()
        for path in self.files:
            if path.endswith("/flux-system/gotk-sync.yaml") or path == "flux-system/gotk-sync.yaml":
                found.add(posixpath.dirname(posixpath.dirname(path)) or ".")
        return sorted(found)

    def patch_files(self) -> set[str]:
        if self._patch_files is None:
            self._patch_files = frozenset(
                e.target for kf in self.kfiles.values() for e in kf.entries if e.is_patch and e.target)
        return set(self._patch_files)

    def raw_at(self, path: str, index: int) -> Obj | None:
        """The first raw (unpatched) object of document `index` of `path`: an index, not a scan per query."""
        if self._raw_at is None:
            self._raw_at = {}
            for o in self.raw:
                self._raw_at.setdefault((o.path, o.index), o)
        return self._raw_at.get((path, index))

    def raw_in_patches(self, kind: str, name: str) -> list[Obj]:
        """Raw objects of `kind` named `name` in patch files, in tree order."""
        if self._raw_patched is None:
            patches = self.patch_files()
            self._raw_patched = {}
            for o in self.raw:
                if o.path in patches:
                    self._raw_patched.setdefault((o.kind, o.name), []).append(o)
        return self._raw_patched.get((kind, name), [])

    def referenced(self) -> set[str]:
        """Every file some kustomization file names (resources, patches, generator inputs)."""
        return {e.target for kf in self.kfiles.values() for e in kf.entries if e.target}

    def flux_path(self, ks: Obj) -> str | None:
        path = ks.spec.get("path")
        if path is None:
            return "."
        if not isinstance(path, str):
            return None
        if "${" in path:
            return None  # substituted by a parent's postBuild: not followed
        norm = posixpath.normpath(path.strip().lstrip("/") or ".")
        return None if norm == ".." or norm.startswith("../") else norm

    def applied(self, obj: Obj, folder: str) -> Built:
        """What Flux Kustomization `obj` builds from `folder` (its path): the folder built, with the kustomize
        Components of `spec.components` (relative to the path; their resources join, their patches apply to
        everything). Its own `spec.patches` come later (`apply_flux_patches`)."""
        built = self.builder.build(folder)
        comps = obj.spec.get("components")
        if not isinstance(comps, list) or not comps:
            return built
        out = Built(list(built.docs), set(built.files), set(built.folders))  # the builder's is shared
        for entry in comps:
            if not isinstance(entry, str) or "${" in entry or is_remote(entry):
                continue
            comp = join(folder, entry)
            kf = self.builder.kfile(comp) if comp and self.repo.is_dir(comp) else None
            if kf is None:
                continue
            inner = self.builder.build(comp)
            out.docs = self.builder.patched(kf, out.docs) + inner.docs
            out.files |= inner.files
        return out

    # -- clusters ------------------------------------------------------------------------

    def _bootstrap(self, folder: str) -> tuple[list[Obj], bool, str]:
        sync = f"{folder}/flux-system/gotk-sync.yaml" if folder != "." else "flux-system/gotk-sync.yaml"
        docs = [d for d in self.repo.yaml_view(sync, document_view) or [] if d.data is not None]
        if docs or not self.repo.exists(sync):
            return [o for o in self.raw if o.path == sync], False, sync
        # A placeholder (comment only, as example repositories ship it): assume what bootstrap writes.
        text = (f"apiVersion: {SOURCE_GROUP}/v1\nkind: GitRepository\nmetadata: {{name: flux-system, namespace: "
                f"flux-system}}\nspec: {{interval: 1m0s}}\n---\napiVersion: {KS_GROUP}/v1\nkind: Kustomization\n"
                f"metadata: {{name: flux-system, namespace: flux-system}}\nspec: {{interval: 10m0s, path: "
                f"./{folder}, prune: true, sourceRef: {{kind: GitRepository, name: flux-system}}}}\n")
        docs = [Rendered(sync, -1 - d.index, 1, d.data, BOOTSTRAP_NS) for d in load_documents(text)]
        # flux-system/kustomization.yaml may patch the assumed objects (decryption, serviceAccountName).
        kf = self.builder.kfile(posixpath.dirname(sync))
        if kf is not None:
            docs = self.builder.patched(kf, docs)
        return [obj_of(d) for d in docs], True, sync

    def _cluster(self, folder: str) -> Cluster:
        boot_objs, implicit, _sync = self._bootstrap(folder)
        cluster = Cluster(folder, implicit=implicit)
        boot = next((o for o in boot_objs if o.is_(KS_GROUP, "Kustomization")), None)
        if boot is None:
            boot = next((o for o in boot_objs if o.kind == "Kustomization" and KS_GROUP in o.api), None)
        seen: dict[tuple[str, int], Obj] = {}
        queue: list[FluxKs] = []
        if boot is not None:
            cluster.bootstrap = FluxKs(boot, bootstrap=True)
            cluster.own_source = ref_of(boot.spec.get("sourceRef"), boot.namespace)
            queue.append(cluster.bootstrap)
            cluster.kustomizations[cluster.bootstrap.key] = cluster.bootstrap
        while queue:
            ks = queue.pop(0)
            src = ref_of(ks.obj.spec.get("sourceRef"), ks.obj.namespace)
            ks.own = src is not None and src == cluster.own_source
            if not ks.own:
                continue
            ks.path = self.flux_path(ks.obj)
            if ks.path is None or not self.repo.is_dir(ks.path):
                continue
            ks.built = self.applied(ks.obj, ks.path)
            # Flux patches what a Kustomization applies with its own `spec.patches` (the defaults a parent sets
            # for every child Kustomization or HelmRelease): the objects are judged as the cluster gets them.
            for doc in apply_flux_patches(ks.built.docs, ks.obj.spec):
                obj = obj_of(doc)
                cluster.owners.setdefault((obj.path, obj.index), []).append(ks)
                if (obj.path, obj.index) in seen:
                    # The same document applied twice: keep the first rendering (CL108 reports the overlap).
                    continue
                seen[(obj.path, obj.index)] = obj
                if obj.kind == "Kustomization" and obj.group == KS_GROUP or (
                        obj.kind == "Kustomization" and KS_GROUP in obj.api):
                    if ks.bootstrap and obj.name == boot.name and obj.namespace == boot.namespace:
                        # The bootstrap's own document, as its path renders it (patches included).
                        ks.obj = obj
                        cluster.own_source = ref_of(obj.spec.get("sourceRef"), obj.namespace) or cluster.own_source
                        continue
                    child = FluxKs(obj)
                    if child.key not in cluster.kustomizations:
                        cluster.kustomizations[child.key] = child
                        queue.append(child)
        objs = list(seen.values())
        reached = {(o.path, o.index) for o in objs}
        # The bootstrap pair belongs to the cluster even when its path does not reach gotk-sync.yaml;
        # anything else in that file is judged like any other unreached document.
        objs.extend(o for o in boot_objs if (o.path, o.index) not in reached and (
            o is boot or o.kind in KS_SOURCES and o.group == SOURCE_GROUP))
        cluster.objects = objs
        cluster.judged = objs
        return cluster

    def _leftover(self) -> Cluster:
        reached = {(o.path, o.index) for c in self.clusters for o in c.objects}
        cluster = Cluster(None)
        assumed = [o for c in self.clusters for o in c.objects if o.index < 0]
        cluster.objects = list(self.raw) + assumed
        patches = self.patch_files()
        # A partial object in a patch file is judged merged into what it patches, never alone.
        cluster.judged = [o for o in self.raw if (o.path, o.index) not in reached and o.path not in patches]
        patched = flux_patched(self, cluster.judged)
        if patched:
            cluster.judged = [patched.get((o.path, o.index), o) for o in cluster.judged]
            cluster.objects = [patched.get((o.path, o.index), o) for o in cluster.objects]
        for obj in cluster.judged:
            if obj.kind == "Kustomization" and KS_GROUP in obj.api:
                ks = FluxKs(obj)
                cluster.kustomizations.setdefault(ks.key, ks)
        return cluster

    # -- queries -------------------------------------------------------------------------

    def flux_kustomizations(self) -> Iterator[tuple[Cluster, FluxKs]]:
        for cluster in self.clusters:
            for ks in cluster.kustomizations.values():
                yield cluster, ks

    def has_flux(self) -> bool:
        return any(True for _ in self.flux_kustomizations())


def model(repo: Repo, config: Config) -> GitOps:
    return repo.cached(("gitops", config.gitops_root, config.clusters), lambda: _built(repo, config))


def _built(repo: Repo, config: Config) -> GitOps:
    """The model, built with the cyclic garbage collector paused.

    Parsing the tree allocates hundreds of thousands of mappings and lists that all stay alive; every
    collection the allocations trigger walks them again, which cost ~15% of `--all` on 5,000 manifests.
    Nothing built here is garbage, so pausing changes nothing but the time. Before it resumes, what
    exists is frozen: otherwise the first collection after it walks the whole model once more (all of it
    is still in the youngest generation), ~0.3 s on 5,000 manifests.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return GitOps(repo, config)
    finally:
        if paused:
            gc.freeze()
            gc.enable()



def render_graph(repo: Repo, config: Config, fmt: str, marks: Mapping[str, str] | None = None) -> str:
    """The Kustomization dependency graph of every cluster; "" when there is no Flux tree."""
    from .gitops_graph import render

    return render(model(repo, config), fmt, marks)
