"""The Flux tree under the GitOps root as one indexed model, built once per run (`model(repo, config)`).

Clusters are the folders holding `flux-system/gotk-sync.yaml` (or `flux.clusters`). Each has its own
graph, because real repositories repeat names across clusters: a cluster holds what its bootstrap
Kustomization applies, then what every Flux Kustomization reached from there applies, following the
repository's own GitRepository only (other sources are not in this repository). What a tree holds that
no cluster reaches is judged in a last pseudo-cluster against the whole tree.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from typing import Any

from ...config import Config
from ...repo import Repo
from ..refs import is_chart_template
from .boot import Boot
from .facts import manifest_facts, source_facts
from .flux import flux_rendered
from .kustomize import (
    CLUSTER_SCOPED,
    Builder,
    Built,
    KFile,
    is_k8s,
    is_kustomize_doc,
    is_remote,
    join,
    parse_kfile,
)
from .kustomize import KFILE_NAMES as KFILE_NAMES
from .leftover import flux_patched
from .names import (  # noqa: F401 - re-exported: the model's public names
    BOOTSTRAP_NS,
    CHART_REFS,
    HELM_GROUP,
    HELM_SOURCES,
    KS_GROUP,
    KS_SOURCES,
    SOURCE_GROUP,
    YAML_SUFFIXES,
)
from .objects import Cluster, FluxKs, Obj, Ref, meta, obj_of, ref_of
from .patch import Rendered


class GitOps:
    def __init__(self, repo: Repo, config: Config) -> None:
        self.repo = repo
        self.config = config
        self.root = posixpath.normpath(config.gitops_root or ".")
        self.notes: list[str] = []
        self.builder = Builder(repo)
        self._patch_files: frozenset[str] | None = None
        self._raw_at: dict[tuple[str, int], Obj] | None = None
        self._raw_patched: dict[tuple[str, str], list[Obj]] | None = None
        self._by_path: dict[str, list[Obj]] = {}
        self.roots: tuple[str, ...] = (self.root,) if self.root == "." or repo.is_dir(self.root) else ()
        self.files: list[str] = []
        self.namespaces: dict[str, str] = {}
        self.configmaps: dict[str, dict[str, str]] = {}  # postBuild values by ConfigMap name (gitops_flux)
        self.kfiles: dict[str, KFile] = {}
        self.raw: list[Obj] = []
        self._add_files([p for r in self.roots for p in repo.files_under(r)])
        from .boot import configured_boots, discovered_boots

        boots = (configured_boots(self, config.clusters) if config.clusters is not None
                 else discovered_boots(self))
        if not self.roots:
            # No `kubernetes/`: the GitOps root is what the bootstraps apply.
            paths = {self.flux_path(o, b.base) for b in boots for o in b.objs if o.kind == "Kustomization"}
            self.roots = tuple(sorted(p for p in paths if p and repo.is_dir(p)))
            self._add_files([p for r in self.roots for p in repo.files_under(r)])
            boots = (configured_boots(self, config.clusters) if config.clusters is not None
                     else discovered_boots(self))
        self.clusters = [self._cluster(boot) for boot in boots]
        reached = sorted({f for c in self.clusters for ks in c.kustomizations.values() if ks.built
                          for f in ks.built.files} - set(self.files))
        self._add_files(reached)
        self._add_stray_sources()
        self.clusters.append(self._leftover())
        if not boots and (self.roots or any(o.kind == "Kustomization" and KS_GROUP in o.api for o in self.raw)):
            searched = "`flux-system/gotk-sync.yaml` (flux bootstrap), FluxInstance manifests and `flux-instance` " \
                       "HelmReleases"
            self.note(f"no Flux cluster found: searched every tracked file for {searched}; set `flux.clusters` "
                      f"in .cloudlab-lint.yaml to the folders Flux applies")

    def _add_stray_sources(self) -> None:
        """Sources that no cluster's Kustomizations apply but the repository defines (`setup/flux/...`, applied
        by a bootstrap script): references to them resolve in every cluster (never judged there)."""
        kinds = set(KS_SOURCES) | set(HELM_SOURCES) | set(CHART_REFS)
        reached = {(o.path, o.index) for c in self.clusters for o in c.objects}
        known = set(self.files)
        objs = [o for o in self.raw if o.kind in kinds]
        for path in self.repo.files:
            if path in known or not path.endswith(YAML_SUFFIXES) or is_chart_template(path, self.repo.file_set):
                continue
            # their sources only (a view): an edit to a workflow or a Taskfile keeps a kept result
            docs = source_facts(self.repo, path)
            objs.extend(o for o in self.raw_of(path, extra=True, docs=docs) if o.kind in kinds)
        stray = [o for o in objs if o.group == SOURCE_GROUP and (o.path, o.index) not in reached]
        self.stray_sources = stray
        for cluster in self.clusters:
            have = {(o.path, o.index) for o in cluster.objects}
            cluster.objects.extend(o for o in stray if (o.path, o.index) not in have)
            cluster._index = None

    def note(self, message: str) -> None:
        """A note for `--all` (CI): a commit hook notes only the files it was given, and what the model says
        is about the whole tree (a kept result would not repeat it)."""
        if message not in self.notes:
            self.notes.append(message)
            if message not in self.repo.notes:
                self.repo.notes.append(message)
                self.repo.file_notes.setdefault(f"//flux-model/{len(self.notes)}", message)

    def config_anchor(self) -> str:
        return self.config.source or ".cloudlab-lint.yaml"

    def _add_files(self, paths: list[str]) -> None:
        """Index more files: kustomization files parsed, other YAML documents kept as raw objects."""
        known = set(self.files)
        new = [p for p in paths if p not in known and (p.endswith(YAML_SUFFIXES) or
                                                       posixpath.basename(p) in KFILE_NAMES)]
        if not new:
            return
        self.files.extend(new)
        for path in new:
            if posixpath.basename(path) in KFILE_NAMES:
                kf = parse_kfile(self.repo, path)
                if kf is not None:
                    self.kfiles[path] = kf
        self.namespaces = self._namespaces()
        self.raw = []
        self._by_path = {}
        self._raw_at = None
        self._raw_patched = None
        self._patch_files = None
        for path in self.files:
            if path in self.kfiles or is_chart_template(path, self.repo.file_set):
                continue
            self.raw.extend(self.raw_of(path))

    def raw_of(self, path: str, extra: bool = False, docs: list[Any] | None = None) -> list[Obj]:
        """The Kubernetes documents of `path` as written, with the namespace kustomize gives them (`extra`: of a
        file outside the model's files, not remembered; of `docs`, its facts as a narrower view gives them)."""
        if extra:
            return self._objs_of(path, manifest_facts(self.repo, path) if docs is None else docs)
        if path not in self._by_path:
            self._by_path[path] = self._objs_of(path, manifest_facts(self.repo, path))
        return self._by_path[path]

    def _objs_of(self, path: str, docs: list[Any] | None) -> list[Obj]:
        out = []
        for doc in docs or []:
            if is_k8s(doc.data) and not is_kustomize_doc(doc.data):
                ns = self.namespaces.get(path)
                if ns is None or doc.data.get("kind") in CLUSTER_SCOPED:
                    ns = meta(doc.data, "namespace")
                out.append(obj_of(Rendered(path, doc.index, doc.line, doc.data, ns)))
        return out

    # -- index ---------------------------------------------------------------------------

    def inside(self, path: str) -> bool:
        return any(r == "." or path == r or path.startswith(r + "/") for r in self.roots)

    def _namespaces(self) -> dict[str, str]:
        """A file's namespace as kustomize gives it: the outermost kustomization file that sets `namespace:`
        along the entries that reach it (nested folders and components included) wins over inner ones and
        over the file's own `metadata.namespace` (for objects no cluster renders)."""
        out: dict[str, str] = {}
        listed = {e.target for kf in self.kfiles.values() for e in kf.entries
                  if e.field in ("resources", "bases", "components") and e.target}
        tops = [kf for kf in self.kfiles.values() if kf.folder not in listed]
        by_folder = {kf.folder: kf for kf in self.kfiles.values()}

        done: set[tuple[str, str | None]] = set()  # (file, namespace from above) walked: shared bases once

        def walk(kf: KFile, ns: str | None, active: set[str]) -> None:
            ns = ns or kf.namespace
            if (kf.path, ns) in done:
                return
            done.add((kf.path, ns))
            for entry in kf.entries:
                if entry.field not in ("resources", "bases", "components") or not entry.target:
                    continue
                inner = by_folder.get(entry.target)
                if inner is not None:
                    if inner.path not in active:
                        walk(inner, ns, active | {inner.path})
                elif ns:
                    out.setdefault(entry.target, ns)

        for kf in sorted(tops, key=lambda k: k.path):
            walk(kf, None, {kf.path})
        for kf in self.kfiles.values():  # what only a cycle reaches
            if kf.namespace:
                for entry in kf.entries:
                    if entry.field in ("resources", "bases", "components") and entry.target:
                        out.setdefault(entry.target, kf.namespace)
        return out

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

    def flux_path(self, ks: Obj, base: str = ".") -> str | None:
        """The repository folder of a Kustomization's `spec.path`, relative to `base` (the folder its source
        holds: the repository, or the folder an OCI artifact is pushed from)."""
        path = ks.spec.get("path")
        if path is None:
            return posixpath.normpath(base)
        if not isinstance(path, str):
            return None
        if "${" in path:
            return None  # substituted by a parent's postBuild: not followed
        norm = posixpath.normpath(posixpath.join(base, path.strip().lstrip("/") or "."))
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
            out.docs = self.builder.transformed(kf, out.docs + inner.docs)
            out.files |= inner.files
        return out

    # -- clusters ------------------------------------------------------------------------

    def _cluster(self, source: Boot) -> Cluster:
        boot_objs = source.objs
        cluster = Cluster(source.label, kind=source.kind, anchor=source.anchor, base=source.base,
                          implicit=source.implicit, global_decryption=source.global_decryption)
        cluster.under_root = source.kind == "flux bootstrap" and self.root != "." and self.repo.is_dir(self.root) \
            and (source.label == self.root or source.label.startswith(self.root + "/")) or \
            source.kind == "flux bootstrap" and self.root == "."
        boot = next((o for o in boot_objs if o.is_(KS_GROUP, "Kustomization")), None)
        if boot is None:
            boot = next((o for o in boot_objs if o.kind == "Kustomization" and KS_GROUP in o.api), None)
        seen: dict[tuple[str, int], Obj] = {}
        queue: list[FluxKs] = []
        if boot is not None:
            cluster.bootstrap = FluxKs(boot, bootstrap=True)
            cluster.own_source = ref_of(boot.spec.get("sourceRef"), boot.namespace)
            src = next((o for o in boot_objs if cluster.own_source is not None and o.kind == "GitRepository" and
                        o.name == cluster.own_source.name), None)
            if src is not None:
                from .ignore import source_ignore

                written = src.spec.get("ignore")
                cluster.ignore = source_ignore(self.repo, written if isinstance(written, str) else None)
            queue.append(cluster.bootstrap)
            cluster.kustomizations[cluster.bootstrap.key] = cluster.bootstrap
        while queue:
            ks = queue.pop(0)
            src = ref_of(ks.obj.spec.get("sourceRef"), ks.obj.namespace)
            ks.own = src is not None and src == cluster.own_source
            if ks.own:
                ks.path = self.flux_path(ks.obj, cluster.base)
            elif src is not None and src.kind == "ExternalArtifact":
                ks.path = self._artifact_path(cluster, list(seen.values()), src, ks.obj)
                ks.own = ks.path is not None
            if not ks.own or ks.path is None or not self.repo.is_dir(ks.path):
                continue
            ks.built = self._unignored(cluster, ks.obj, self.applied(ks.obj, ks.path))
            # Flux patches what a Kustomization applies with its own `spec.patches` (the defaults a parent sets
            # for every child Kustomization or HelmRelease): the objects are judged as the cluster gets them.
            for doc in flux_rendered(self, ks.built.docs, ks.obj.spec, list(seen.values())):
                obj = obj_of(doc)
                cluster.owners.setdefault((obj.path, obj.index), []).append(ks)
                cluster.ids.setdefault((obj.path, obj.index), []).append((obj.kind, obj.namespace, obj.name))
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
        cluster.judged = list(objs)
        return cluster

    def _unignored(self, cluster: Cluster, obj: Obj, built: Built) -> Built:
        """What a Kustomization applies once its source's exclusions and its own `spec.ignore` are out."""
        tests = [cluster.ignore] if cluster.ignore is not None else []
        own = obj.spec.get("ignore")
        if isinstance(own, str) and own.strip():
            from .ignore import compile_patterns, matcher

            tests.append(matcher(compile_patterns(own.splitlines(), cluster.base)))
        if not tests:
            return built
        drop = {p for p in built.files if any(t(p) for t in tests)}
        if not drop:
            return built
        return Built([d for d in built.docs if d.path not in drop], built.files - drop, set(built.folders))

    def _artifact_path(self, cluster: Cluster, objs: list[Obj], src: Ref, ks: Obj) -> str | None:
        """The repository folder of `ks`'s path inside an ExternalArtifact that an ArtifactGenerator of the cluster
        copies from the cluster's own source (`copy: [{from: "@alias/dir/**", to: "@artifact/dest/"}]`)."""
        path = ks.spec.get("path", ".")
        if not isinstance(path, str) or "${" in path:
            return None
        want = posixpath.normpath(path.strip().lstrip("/") or ".")
        for gen in objs:
            if gen.kind != "ArtifactGenerator" or (src.namespace or gen.namespace) != gen.namespace:
                continue
            aliases = {s.get("alias") for s in gen.spec.get("sources") or [] if isinstance(s, dict) and
                       cluster.own_source is not None and s.get("kind") == cluster.own_source.kind and
                       s.get("name") == cluster.own_source.name}
            for art in gen.spec.get("artifacts") or []:
                if not isinstance(art, dict) or art.get("name") != src.name:
                    continue
                best: tuple[int, str] | None = None
                for copy in art.get("copy") or []:
                    if not isinstance(copy, dict) or not isinstance(copy.get("from"), str) or \
                            not isinstance(copy.get("to"), str):
                        continue
                    alias, _, rest = copy["from"].lstrip("@").partition("/")
                    if alias not in aliases or not copy["to"].startswith("@artifact"):
                        continue
                    origin = posixpath.normpath(posixpath.join(cluster.base, rest.split("*")[0] or "."))
                    dest = posixpath.normpath(copy["to"][len("@artifact"):].strip("/") or ".")
                    if dest == ".":
                        cand = posixpath.normpath(posixpath.join(origin, want))
                    elif want == dest or want.startswith(dest + "/"):
                        cand = posixpath.normpath(posixpath.join(origin, want[len(dest):].lstrip("/") or "."))
                    else:
                        continue
                    if best is None or len(dest) > best[0]:
                        best = (len(dest), cand)
                if best is not None:
                    return best[1]
        return None

    def _leftover(self) -> Cluster:
        reached = {(o.path, o.index) for c in self.clusters for o in c.objects}
        cluster = Cluster(None)
        assumed = [o for c in self.clusters for o in c.objects if o.index < 0]
        mine = {(o.path, o.index) for o in self.raw}
        cluster.objects = list(self.raw) + assumed + [o for o in self.stray_sources if (o.path, o.index) not in mine]
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


def model(repo: Repo, config: Config) -> GitOps:
    return repo.cached(("gitops", config.gitops_root, config.clusters), lambda: GitOps(repo, config))


def render_graph(repo: Repo, config: Config, fmt: str, marks: Mapping[str, str] | None = None) -> str:
    """The Kustomization dependency graph of every cluster; "" when there is no Flux tree."""
    from .graph import render

    return render(model(repo, config), fmt, marks)
