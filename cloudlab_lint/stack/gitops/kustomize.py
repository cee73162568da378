"""Kustomize, statically: kustomization files, what they reference, and a light `kustomize build`.

No kustomize binary and no network: remote entries are recorded and never followed. The build
applies what changes the fields our rules read (a `namespace:` override, strategic-merge patches,
JSON 6902 add/replace/remove) and keeps every document's file and line.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any

from ...parsing import ParseError
from ...parsing.yamlx import YMap, YSeq, load_documents
from ...record import factory, record
from ...repo import Repo
from ..refs import is_chart_template
from .facts import is_whole, manifest_facts
from .names import KFILE_NAMES as KFILE_NAMES
from .names import YAML_SUFFIXES as YAML_SUFFIXES
from .names import kfile_in as kfile_in
from .patch import Rendered, apply_patch, clone, meta_of, restored
from .replace import ImageRule, Replacement, imaged, parse_images, replaced

KUSTOMIZE_API = "kustomize.config.k8s.io"
# Built-in Kubernetes kinds that have no namespace: a kustomization's `namespace:` leaves them alone. As in
# kustomize (its built-in OpenAPI data), any other kind, a custom resource included, is namespaced.
CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "PersistentVolume", "ComponentStatus", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "PriorityClass",
    "IngressClass", "RuntimeClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding", "APIService", "CertificateSigningRequest", "FlowSchema",
    "PriorityLevelConfiguration", "PodSecurityPolicy", "TokenReview", "SelfSubjectAccessReview",
    "SelfSubjectRulesReview", "SubjectAccessReview", "SelfSubjectReview", "IPAddress", "ServiceCIDR",
    "DeviceClass", "ResourceSlice", "StorageVersionMigration", "VolumeAttributesClass",
})
# Kinds a name prefix or suffix leaves alone (kustomize's PrefixTransformer skip list).
UNPREFIXED = frozenset({"CustomResourceDefinition", "APIService", "Namespace"})


def with_namespace(doc: Rendered, namespace: str) -> Rendered:
    """kustomize's namespace transformer on one object: a namespaced kind takes `namespace` (overriding its
    own), a built-in cluster-scoped kind keeps none, and a core `v1` Namespace object is renamed to it."""
    kind, api = doc.data.get("kind"), doc.data.get("apiVersion")
    if kind == "Namespace" and api == "v1":
        meta = doc.data.get("metadata")
        if isinstance(meta, dict) and meta.get("name") == namespace:
            return doc
        data = clone(doc.data)
        if not isinstance(data.get("metadata"), dict):
            data["metadata"] = {}
        data["metadata"]["name"] = namespace
        return Rendered(doc.path, doc.index, doc.line, data, None)
    if kind in CLUSTER_SCOPED and _builtin(str(api)):
        return doc
    if doc.namespace == namespace:
        return doc
    return Rendered(doc.path, doc.index, doc.line, doc.data, namespace)


def _builtin(api: str) -> bool:
    """Whether `api` is a Kubernetes built-in group (core `v1`, `apps/v1`, `*.k8s.io`): a custom resource may
    reuse a built-in kind's name (an Azure `Namespace`) and is namespaced like any custom resource."""
    group = api.rpartition("/")[0]
    return group == "" or "." not in group or group.endswith(".k8s.io")


def labelled(doc: Rendered, labels: dict[str, str]) -> Rendered:
    """kustomize's `labels`/`commonLabels` on one object's metadata (what patch selectors read)."""
    data = clone(doc.data)
    if not isinstance(data.get("metadata"), dict):
        data["metadata"] = {}
    meta = data["metadata"]
    current = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    meta["labels"] = {**current, **labels}
    return Rendered(doc.path, doc.index, doc.line, data, doc.namespace)


def renamed(doc: Rendered, prefix: str, suffix: str) -> Rendered:
    """kustomize's namePrefix/nameSuffix on one object."""
    if doc.data.get("kind") in UNPREFIXED:
        return doc
    meta = doc.data.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return doc
    data = clone(doc.data)
    data["metadata"]["name"] = f"{prefix}{meta['name']}{suffix}"
    return Rendered(doc.path, doc.index, doc.line, data, doc.namespace)


_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|git::|github\.com/|gitlab\.com/|bitbucket\.org/)|[?&]ref=")


def is_remote(value: str) -> bool:
    return bool(_REMOTE.search(value.strip()))


def join(folder: str, value: str) -> str | None:
    """`value` relative to `folder`, normalised; None when it climbs out of the repository."""
    joined = posixpath.normpath(posixpath.join(folder or ".", value.strip()))
    if joined == ".." or joined.startswith("../") or joined.startswith("/"):
        return None
    return joined


def is_k8s(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("apiVersion"), str) and isinstance(data.get("kind"), str)


def is_kustomize_doc(data: Any) -> bool:
    return is_k8s(data) and data["apiVersion"].startswith(KUSTOMIZE_API + "/")


@record
class Entry:
    """One reference in a kustomization file."""

    field: str  # resources, bases, components, crds, patches(StrategicMerge|Json6902), files, envs, replacements
    value: str
    line: int
    target: str | None  # the repository path it names; None when remote or outside the repository
    remote: bool = False

    @property
    def is_patch(self) -> bool:
        return self.field in ("patches", "patchesStrategicMerge", "patchesJson6902")


@record
class InlinePatch:
    text: str
    target: Any
    line: int


@record
class KFile:
    path: str
    folder: str
    line: int
    kind: str  # Kustomization or Component
    namespace: str | None
    entries: tuple[Entry, ...]
    inline: tuple[InlinePatch, ...]
    patch_targets: tuple[tuple[str, Any], ...]  # (patch file, target selector or None)
    resources_line: int
    name_prefix: str = ""
    name_suffix: str = ""
    labels: tuple[tuple[str, str], ...] = ()  # commonLabels and labels[].pairs
    images: tuple[ImageRule, ...] = ()
    replacements: tuple[Replacement, ...] = ()


def _strings(node: Any) -> Iterator[tuple[str, int]]:
    if isinstance(node, YSeq):
        for i, item in enumerate(node):
            if isinstance(item, str):
                yield item, node.line_of(i)
    elif isinstance(node, str):
        yield node, 1


def parse_kfile(repo: Repo, path: str) -> KFile | None:
    docs = repo.yaml(path)
    if not docs:
        return None
    data = docs[0].data
    if not isinstance(data, YMap):
        return None
    folder = posixpath.dirname(path) or "."
    entries: list[Entry] = []
    inline: list[InlinePatch] = []
    targets: list[tuple[str, Any]] = []

    def add(fieldname: str, value: str, line: int) -> None:
        remote = fieldname in ("resources", "bases", "components") and is_remote(value)
        entries.append(Entry(fieldname, value, line, None if remote else join(folder, value), remote))

    for key in ("resources", "bases", "components", "crds"):
        for value, line in _strings(data.get(key)):
            add(key, value, line)
    for key in ("patches", "patchesJson6902"):
        items = data.get(key)
        if not isinstance(items, YSeq):
            continue
        for i, item in enumerate(items):
            if not isinstance(item, YMap):
                continue
            if isinstance(item.get("path"), str):
                add(key, item["path"], item.line_of("path"))
                targets.append((join(folder, item["path"]) or "", item.get("target")))
            elif isinstance(item.get("patch"), str):
                inline.append(InlinePatch(item["patch"], item.get("target"), items.line_of(i)))
    psm = data.get("patchesStrategicMerge")
    for value, line in _strings(psm):
        if "\n" in value.strip() or value.lstrip().startswith(("apiVersion", "kind", "{")):
            inline.append(InlinePatch(value, None, line))
        else:
            add("patchesStrategicMerge", value, line)
            targets.append((join(folder, value) or "", None))
    for key in ("configMapGenerator", "secretGenerator"):
        items = data.get(key)
        if not isinstance(items, YSeq):
            continue
        for item in items:
            if not isinstance(item, YMap):
                continue
            for value, line in _strings(item.get("files")):
                add("files", value.split("=", 1)[-1], line if line > 1 else item.line_of("files"))
            for value, line in _strings(item.get("envs")):
                add("envs", value, line if line > 1 else item.line_of("envs"))
            if isinstance(item.get("env"), str):
                add("envs", item["env"], item.line_of("env"))
    ns = data.get("namespace") if isinstance(data.get("namespace"), str) else None
    kind = data.get("kind") if isinstance(data.get("kind"), str) else "Kustomization"
    prefix, suffix = data.get("namePrefix"), data.get("nameSuffix")
    labels: dict[str, str] = {}
    if isinstance(data.get("commonLabels"), dict):
        labels.update({str(k): str(v) for k, v in data["commonLabels"].items()})
    for item in data.get("labels") or [] if isinstance(data.get("labels"), list) else []:
        if isinstance(item, dict) and isinstance(item.get("pairs"), dict):
            labels.update({str(k): str(v) for k, v in item["pairs"].items()})
    rules = _replacements(repo, data.get("replacements"), folder, add)
    return KFile(path, folder, docs[0].line, kind, ns, tuple(entries), tuple(inline), tuple(targets),
                 data.key_line("resources") if "resources" in data else docs[0].line,
                 prefix if isinstance(prefix, str) else "", suffix if isinstance(suffix, str) else "",
                 tuple(labels.items()), parse_images(data.get("images")), rules)


def _replacements(repo: Repo, items: Any, folder: str, add: Any) -> tuple[Replacement, ...]:
    """The `replacements` entries in order: inline ones, and those a `path:` file holds (one or a list)."""
    out: list[Replacement] = []
    if not isinstance(items, YSeq):
        return ()
    for i, item in enumerate(items):
        if not isinstance(item, YMap):
            continue
        if not isinstance(item.get("path"), str):
            out.append(Replacement(item, items.line_of(i)))
            continue
        add("replacements", item["path"], item.line_of("path"))
        target = join(folder, item["path"])
        if target is None or not repo.exists(target):
            continue
        for doc in repo.yaml(target) or []:
            specs = doc.data if isinstance(doc.data, list) else [doc.data]
            out.extend(Replacement(spec, items.line_of(i)) for spec in specs if isinstance(spec, dict))
    return tuple(out)


# -- rendering ------------------------------------------------------------------------------


@record(mutable=True)
class Built:
    docs: list[Rendered] = factory(list)
    files: set[str] = factory(set)  # every file the build reads (manifests, patches, inputs)
    folders: set[str] = factory(set)  # folders built as units (kustomization file or generated)


def file_docs(repo: Repo, path: str) -> list[Rendered]:
    out = []
    for doc in manifest_facts(repo, path) or []:
        if is_k8s(doc.data) and not is_kustomize_doc(doc.data):
            out.append(Rendered(path, doc.index, doc.line, doc.data, meta_of(doc.data, "namespace")))
    return out


class Builder:
    """`kustomize build` for folders of one repository, memoised per folder."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.kfiles: dict[str, KFile | None] = {}
        self._memo: dict[str, Built] = {}
        self._active: list[str] = []
        self.cycles: dict[tuple[str, ...], str] = {}  # a `resources` loop (folders, in order) -> the file closing it
        self.replace_errors: dict[tuple[str, int], str] = {}  # (kustomization file, entry line) -> kustomize's error

    def kfile(self, folder: str) -> KFile | None:
        path = kfile_in(self.repo, folder)
        if path is None:
            return None
        if path not in self.kfiles:
            self.kfiles[path] = parse_kfile(self.repo, path)
        return self.kfiles[path]

    def build(self, folder: str) -> Built:
        """What applying `folder` takes: its kustomization file, or Flux's generated one."""
        folder = posixpath.normpath(folder or ".")
        if folder in self._memo:
            return self._memo[folder]
        if folder in self._active:  # a reference loop: kustomize refuses it (CL104), we stop
            loop = tuple(self._active[self._active.index(folder):])
            start = loop.index(min(loop))
            self.cycles.setdefault(loop[start:] + loop[:start], self._active[-1])
            return Built()
        self._active.append(folder)
        try:
            kf = self.kfile(folder)
            built = self._build_kfile(kf) if kf else self._generate(folder)
            built.folders.add(folder)
        finally:
            self._active.pop()
        self._memo[folder] = built
        return built

    def _generate(self, folder: str) -> Built:
        """Flux's generated kustomization: every manifest below, a sub-folder with its own file as a unit."""
        out = Built()
        units: set[str] = set()
        for path in self.repo.files_under(folder):
            rel_dir = posixpath.dirname(path)
            unit = self._unit_below(folder, rel_dir)
            if unit is not None:
                units.add(unit)
            elif path.endswith(YAML_SUFFIXES) and not is_chart_template(path, self.repo.file_set):
                docs = file_docs(self.repo, path)
                if docs:
                    out.docs.extend(docs)
                    out.files.add(path)
        for unit in sorted(units):
            _absorb(out, self.build(unit))
        return out

    def _unit_below(self, top: str, folder: str) -> str | None:
        """The highest folder strictly below `top` on the way to `folder` that has a kustomization file."""
        if folder == top or top not in (".", "") and not folder.startswith(top + "/"):
            return None
        rest = folder if top in (".", "") else folder[len(top) + 1:]
        current = "" if top in (".", "") else top
        for part in rest.split("/"):
            current = f"{current}/{part}" if current else part
            if kfile_in(self.repo, current):
                return current
        return None

    def _build_kfile(self, kf: KFile) -> Built:
        out = Built(files={kf.path})
        components: list[str] = []
        for entry in kf.entries:
            if entry.target is None:
                continue
            if entry.field == "components" and self.repo.is_dir(entry.target) and self.kfile(entry.target):
                components.append(entry.target)
            elif entry.field in ("resources", "bases", "components", "crds"):
                if self.repo.exists(entry.target):
                    out.docs.extend(file_docs(self.repo, entry.target))
                    out.files.add(entry.target)
                elif self.repo.is_dir(entry.target) and self.kfile(entry.target):
                    _absorb(out, self.build(entry.target))
            elif self.repo.exists(entry.target):
                out.files.add(entry.target)
        for comp in components:
            # A Component's resources join what its parent has accumulated, then its transformers (patches,
            # namespace, names, labels) apply to all of it.
            ckf = self.kfile(comp)
            _absorb(out, self.build(comp))
            if ckf is not None:
                out.docs = self.transformed(ckf, out.docs)
        if kf.kind != "Component":  # a Component's transformers run in its parent (above)
            out.docs = self.transformed(kf, out.docs)
        return out

    def transformed(self, kf: KFile, docs: list[Rendered]) -> list[Rendered]:
        """kustomize's order: patches first, then the namespace, name and label transformers, images and last
        replacements, over everything the entries emit (nested folders and components included)."""
        docs = self.patched(kf, docs)
        if kf.namespace:
            docs = [with_namespace(d, kf.namespace) for d in docs]
        if kf.name_prefix or kf.name_suffix:
            docs = [renamed(d, kf.name_prefix, kf.name_suffix) for d in docs]
        if kf.labels:
            docs = [labelled(d, dict(kf.labels)) for d in docs]
        if kf.images or kf.replacements:
            docs = [self.hydrated(d) for d in docs]
        if kf.images:
            docs = [imaged(d, kf.images) for d in docs]
        if kf.replacements:
            docs, errors = replaced(docs, kf.replacements)
            for line, reason in errors:
                self.replace_errors.setdefault((kf.path, line), reason)
        return docs

    def hydrated(self, doc: Rendered) -> Rendered:
        """`doc` with what the manifest facts left out read back from its file (images and replacements read
        and write anything), what patches wrote there merged over it. Read whole, so a result kept between
        runs (runner/kept.py) is dropped when those fields change."""
        if is_whole(doc.data):
            return doc
        from ..kinds import flatten

        full = next((d.data for d in flatten(self.repo.yaml(doc.path)) or [] if d.index == doc.index), None)
        return Rendered(doc.path, doc.index, doc.line, restored(doc.data, full), doc.namespace)

    def patched(self, kf: KFile, docs: list[Rendered]) -> list[Rendered]:
        """`docs` with the kustomization file's patches applied (files, then inline patches)."""
        for patch_path, target in kf.patch_targets:
            if patch_path and self.repo.exists(patch_path):
                patch_docs = [d.data for d in self.repo.yaml(patch_path) or []]
                docs = apply_patch(docs, patch_docs, target)
        for inline in kf.inline:
            try:
                patch_docs = [d.data for d in load_documents(inline.text)]
            except ParseError:
                continue
            docs = apply_patch(docs, patch_docs, inline.target)
        return docs


def _absorb(out: Built, inner: Built) -> None:
    out.docs.extend(inner.docs)
    out.files |= inner.files
    out.folders |= inner.folders
