"""Where clusters start: every bootstrap in the tracked tree, as the source and Kustomization it creates.

- `flux bootstrap` writes `<folder>/flux-system/gotk-sync.yaml` (a GitRepository and a Kustomization, both
  `flux-system`); a comment-only placeholder stands for what bootstrap writes.
- flux-operator's `FluxInstance` (a manifest, or the values of a HelmRelease of the `flux-instance` chart:
  `values.instance`, or `valuesFrom` a ConfigMap or a generated ConfigMap's values file) creates the source
  of `spec.sync` and the Kustomization of the same name (`sync.name`, else the instance's namespace) that
  applies `sync.path`. For an OCIRepository or Bucket the path is relative to the folder CI pushes
  (`flux push artifact --path=...`); when no such command is found, a note says which config key to set.
- `flux.clusters` in the config lists folders (a folder holding `flux-system/gotk-sync.yaml`, or the folder a
  bootstrap applies) or bootstrap manifests, and replaces discovery.

Each bootstrap is a `Boot`: the objects it creates (`index < 0`: they have no document of their own), the
folder the synced source's paths are relative to, and the file a finding about the cluster points at.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING, Any

from ...parsing import ParseError
from ...parsing.yamlx import load_documents
from ...record import factory, record
from ...views import PUSHED
from ..kinds import flatten
from ..refs import is_chart_template
from .facts import Omitted, instance_facts, manifest_facts
from .names import HELM_GROUP, KS_GROUP, SOURCE_GROUP, YAML_SUFFIXES
from .objects import obj_of
from .patch import Rendered, restored

if TYPE_CHECKING:
    from .objects import Index, Obj

OPERATOR_GROUP = "fluxcd.controlplane.io"
SYNC_KINDS = ("GitRepository", "OCIRepository", "Bucket")
MAX_CLUSTERS = 64
_PUSH = re.compile(r"flux\s+push\s+artifact\b")
_PUSH_PATH = re.compile(r"--path(?:=|\s+)[\"']?([^\"'\s\\]+)")
_SCRIPTS = (".sh", ".bash", ".yaml", ".yml", ".toml", ".just", "Makefile", "Taskfile", "justfile", ".justfile")


@record(mutable=True)
class Boot:
    kind: str  # "flux bootstrap", "FluxInstance" or "flux.clusters"
    label: str  # how findings name the cluster
    anchor: str  # the file that defines it (findings about the cluster point here)
    objs: list[Obj] = factory(list)
    folder: str | None = None  # `flux bootstrap`: the folder holding flux-system/
    implicit: bool = False  # a placeholder gotk-sync.yaml: what `flux bootstrap` writes is assumed
    base: str = "."  # the folder the synced source's paths are relative to
    global_decryption: bool = False  # kustomize-controller decrypts with a default key (`--sops-age-secret`)


def _assumed(sync: str, name: str, ns: str, kind: str, path: str, extra: dict[str, Any] | None = None,
             line: int = 1, patches: Any = None) -> list[Obj]:
    """The source and Kustomization a bootstrap creates, as documents of `sync` with no place of their own:
    every line of them is `line` (where the bootstrap says it). `patches` (Flux's `patches` shape) apply."""
    from .patch import apply_flux_patches, landed

    src: dict[str, Any] = {"apiVersion": f"{SOURCE_GROUP}/v1", "kind": kind,
                           "metadata": {"name": name, "namespace": ns}, "spec": {"interval": "1m0s", **(extra or {})}}
    ks = {"apiVersion": f"{KS_GROUP}/v1", "kind": "Kustomization", "metadata": {"name": name, "namespace": ns},
          "spec": {"interval": "10m0s", "path": f"./{path}" if path not in (".", "") else "./", "prune": True,
                   "sourceRef": {"kind": kind, "name": name}}}
    import json

    docs = load_documents(json.dumps(src) + "\n---\n" + json.dumps(ks) + "\n")
    rendered = [Rendered(sync, -1 - d.index, line, landed(d.data, line, 1), ns) for d in docs]
    if isinstance(patches, list) and patches:
        rendered = apply_flux_patches(rendered, {"patches": patches})
    return [obj_of(r) for r in rendered]


def gotk_boot(gitops: Index, folder: str) -> Boot:
    """The cluster `flux bootstrap` wrote into `<folder>/flux-system/`."""
    repo = gitops.repo
    sync = f"{folder}/flux-system/gotk-sync.yaml" if folder != "." else "flux-system/gotk-sync.yaml"
    boot = Boot("flux bootstrap", folder, sync, folder=folder)
    docs = [d for d in manifest_facts(repo, sync) or [] if d.data is not None]
    if docs or not repo.exists(sync):
        boot.objs = [o for o in gitops.raw_of(sync)]
        return boot
    # A placeholder (comment only, as example repositories ship it): assume what bootstrap writes, patched by
    # flux-system/kustomization.yaml (decryption, serviceAccountName) as the cluster gets it.
    assumed = _assumed(sync, "flux-system", "flux-system", "GitRepository", folder)
    rendered = [Rendered(o.path, o.index, o.line, o.data, o.namespace) for o in assumed]
    kf = gitops.builder.kfile(posixpath.dirname(sync))
    if kf is not None:
        rendered = gitops.builder.patched(kf, rendered)
    boot.objs = [obj_of(d) for d in rendered]
    boot.implicit = True
    return boot


# -- flux-operator ---------------------------------------------------------------------------------


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _is_instance_chart(gitops: Index, obj: Obj, resources: list[Obj]) -> bool:
    spec = obj.spec
    if _dig(spec, "chart", "spec", "chart") == "flux-instance":
        return True
    ref = spec.get("chartRef")
    if isinstance(ref, dict) and isinstance(ref.get("name"), str):
        if ref["name"] == "flux-instance":
            return True
        for src in [*resources, *gitops.raw]:
            if src.kind == "OCIRepository" and src.name == ref["name"]:
                url = _dig(src.spec, "url")
                if isinstance(url, str) and url.rstrip("/").endswith("/flux-instance"):
                    return True
    return False


def _whole(gitops: Index, obj: Obj) -> Any:
    """The document of `obj` read whole (the manifest facts leave a HelmRelease's values out)."""
    docs = flatten(gitops.repo.yaml(obj.path)) or []  # a List item's index is its own
    for doc in docs:
        if doc.index == obj.index:
            return doc.data
    return obj.data


def _values_from(gitops: Index, obj: Obj, spec: Any) -> dict[str, Any]:
    """The values a HelmRelease takes from ConfigMaps of the repository (manifests or generated), merged."""
    out: dict[str, Any] = {}
    items = spec.get("valuesFrom") if isinstance(spec, dict) else None
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("kind") != "ConfigMap" or not isinstance(item.get("name"), str):
            continue
        key = item.get("valuesKey") if isinstance(item.get("valuesKey"), str) else "values.yaml"
        text = _configmap_value(gitops, obj, item["name"], key)
        if text is None:
            continue
        try:
            docs = load_documents(text)
        except ParseError:
            continue
        for doc in docs:
            if isinstance(doc.data, dict):
                out = _merge_values(out, doc.data)
    return out


def _configmap_value(gitops: Index, obj: Obj, name: str, key: str) -> str | None:
    # A ConfigMap manifest of that name (its data read whole), nearest the HelmRelease first.
    folder = posixpath.dirname(obj.path)
    candidates = sorted((o for o in gitops.raw if o.kind == "ConfigMap" and o.name == name),
                        key=lambda o: (posixpath.dirname(o.path) != folder, o.path))
    for cm in candidates:
        data = _dig(_whole(gitops, cm), "data", key)
        if isinstance(data, str):
            return data
    # A configMapGenerator of that name: its `files` entry for the key (`key=path` or a file named so).
    for kf in sorted(gitops.kfiles.values(), key=lambda k: (k.folder != folder, k.path)):
        docs = gitops.repo.yaml(kf.path) or []
        gens = _dig(docs[0].data, "configMapGenerator") if docs else None
        for gen in gens if isinstance(gens, list) else []:
            if not isinstance(gen, dict) or gen.get("name") != name:
                continue
            for entry in gen.get("files") or []:
                if not isinstance(entry, str):
                    continue
                k, _, v = entry.partition("=")
                path = v if v else k
                if (k if v else posixpath.basename(path)) != key:
                    continue
                target = posixpath.normpath(posixpath.join(kf.folder, path.strip()))
                text = gitops.repo.read_text(target, strict=False) if gitops.repo.exists(target) else None
                if text is not None:
                    return text
    return None


def _merge_values(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_values(out[key], value)
        else:
            out[key] = value
    return out


def _candidates(gitops: Index) -> list[Obj]:
    """FluxInstances and HelmReleases anywhere in the tracked tree, ResourceSet resources included."""

    objs = list(gitops.raw)
    seen = {o.path for o in objs}
    for path in gitops.repo.files:
        if path in seen or not path.endswith(YAML_SUFFIXES) or is_chart_template(path, gitops.repo.file_set):
            continue
        # none unless its text names a FluxInstance or the flux-instance chart (`views.INSTANCES`)
        objs.extend(gitops.raw_of(path, extra=True, docs=instance_facts(gitops.repo, path)))
    out = []
    for obj in objs:
        out.append(obj)
        if obj.kind == "ResourceSet" and OPERATOR_GROUP in obj.api:
            for i, item in enumerate(obj.spec.get("resources") or []):
                if isinstance(item, dict) and isinstance(item.get("kind"), str):
                    line = obj.spec["resources"].line_of(i) if hasattr(obj.spec["resources"], "line_of") else obj.line
                    ns = _dig(item, "metadata", "namespace")
                    out.append(obj_of(Rendered(obj.path, obj.index, line, item,
                                               ns if isinstance(ns, str) else obj.namespace)))
    return out


def instance_boots(gitops: Index) -> list[Boot]:
    boots: list[Boot] = []
    objs = _candidates(gitops)
    resources = [o for o in objs if o.kind == "OCIRepository"]
    for obj in objs:
        instance: Any = None
        here: Any = None  # the instance as written in obj's own file (its lines are right there)
        if obj.kind == "FluxInstance" and OPERATOR_GROUP in obj.api:
            instance = here = obj.data.get("spec")
            ns = obj.namespace or "flux-system"
        elif obj.kind == "HelmRelease" and obj.group == HELM_GROUP and _is_instance_chart(gitops, obj, resources):
            spec = obj.spec
            if isinstance(spec.get("values"), Omitted):  # left out of the manifest facts: read whole
                data = _whole(gitops, obj)
                spec = restored(spec, data.get("spec") if isinstance(data, dict) else None)
            values = _merge_values(_values_from(gitops, obj, spec), _dig(spec, "values") or {}) \
                if isinstance(_dig(spec, "values") or {}, dict) else {}
            instance = values.get("instance")
            here = _dig(spec, "values", "instance")
            target = _dig(spec, "targetNamespace")
            ns = target if isinstance(target, str) else obj.namespace or "flux-system"
        if not isinstance(instance, dict):
            continue
        sync = instance.get("sync")
        if not isinstance(sync, dict) or not isinstance(sync.get("path"), str):
            continue
        inline = isinstance(here, dict) and here.get("sync") is sync and hasattr(sync, "key_line")
        line = sync.key_line("path") if inline else obj.line
        boots.append(_instance_boot(gitops, obj, ns, sync, instance, line))
    return boots


def _instance_boot(gitops: Index, obj: Obj, ns: str, sync: dict[str, Any], instance: dict[str, Any],
                   line: int) -> Boot:
    kind = sync.get("kind") if sync.get("kind") in SYNC_KINDS else "GitRepository"
    name = sync.get("name") if isinstance(sync.get("name"), str) else ns
    path = posixpath.normpath(sync["path"].strip().lstrip("/") or ".")
    base = "."
    if kind != "GitRepository":
        pushed = pushed_folder(gitops)
        if pushed is None:
            gitops.note(f"{obj.path}: FluxInstance syncs {kind} path `{sync['path']}`, relative to an artifact "
                        f"this repository pushes; no `flux push artifact --path=...` found in CI or scripts: set "
                        f"`flux.clusters` to the folder it applies")
            guess = posixpath.normpath(posixpath.join(gitops.root, path))
            base = gitops.root if gitops.repo.is_dir(guess) and not gitops.repo.is_dir(path) else "."
        else:
            base = pushed
    extra = {k: v for k, v in sync.items() if k in ("url", "ref") and isinstance(v, (str, dict))}
    if isinstance(extra.get("ref"), str):
        extra["ref"] = {"branch": extra["ref"]}
    boot = Boot("FluxInstance", posixpath.normpath(posixpath.join(base, path)), obj.path, base=base)
    patches = _dig(instance, "kustomize", "patches")
    boot.objs = _assumed(obj.path, name, ns, kind, path, extra, line, patches)
    boot.implicit = True
    boot.global_decryption = "--sops-age-secret" in repr(patches)
    return boot


def pushed_folder(gitops: Index) -> str | None:
    """The folder `flux push artifact --path=...` pushes, from CI workflows and scripts (the first found)."""
    for path in gitops.repo.files:
        base = posixpath.basename(path)
        if not (path.endswith(_SCRIPTS) or base.startswith(_SCRIPTS)):
            continue
        if not (path.startswith(".github/") or not path.endswith(YAML_SUFFIXES) or "askfile" in base):
            continue
        folders = gitops.repo.view(path, PUSHED)
        if folders:
            return folders[0]
    return None


def pushed_folders(text: str, path: str) -> list[str]:
    """`views.PUSHED`: the folders the `flux push artifact --path=...` commands of a file's text push, in order."""
    folders = []
    for m in _PUSH.finditer(text):
        found = _PUSH_PATH.search(_command_at(text, m.end()))
        if found and "$" not in found.group(1):
            folder = posixpath.normpath(found.group(1).lstrip("/"))
            if not folder.startswith(".."):
                folders.append(folder)
    return folders


def _command_at(text: str, start: int) -> str:
    """The rest of the command starting at `start`: lines joined while they end with a backslash."""
    out, pos = [], start
    while True:
        end = text.find("\n", pos)
        line = text[pos:] if end < 0 else text[pos:end]
        out.append(line)
        if end < 0 or not line.rstrip().endswith("\\"):
            return " ".join(out)
        pos = end + 1


def configured_boots(gitops: Index, entries: tuple[str, ...]) -> list[Boot]:
    """`flux.clusters`: folders holding flux-system/gotk-sync.yaml, folders a bootstrap applies, or files."""
    repo = gitops.repo
    boots: list[Boot] = []
    for entry in entries:
        entry = posixpath.normpath(entry) if entry else "."
        sync = f"{entry}/flux-system/gotk-sync.yaml" if entry != "." else "flux-system/gotk-sync.yaml"
        if repo.exists(sync) or not repo.exists(entry) and not repo.is_dir(entry):
            boots.append(gotk_boot(gitops, entry))
        elif repo.exists(entry):
            found = [b for b in _file_boots(gitops, entry)]
            boots.extend(found)
        else:
            boot = Boot("flux.clusters", entry, gitops.config_anchor())
            boot.objs = _assumed(gitops.config_anchor(), "flux-system", "flux-system", "GitRepository", entry)
            boot.implicit = True
            boots.append(boot)
    return boots


def _file_boots(gitops: Index, path: str) -> list[Boot]:
    if posixpath.basename(path) == "gotk-sync.yaml":
        return [gotk_boot(gitops, posixpath.dirname(posixpath.dirname(path)) or ".")]
    return [b for b in instance_boots(gitops) if b.anchor == path]


def discovered_boots(gitops: Index) -> list[Boot]:
    folders = set()
    for path in gitops.repo.files:
        if path.endswith("/flux-system/gotk-sync.yaml") or path == "flux-system/gotk-sync.yaml":
            folders.add(posixpath.dirname(posixpath.dirname(path)) or ".")
    boots = [gotk_boot(gitops, f) for f in sorted(folders)]
    seen = {(b.objs[-1].namespace, b.objs[-1].name, b.label) for b in boots if b.objs}
    for boot in instance_boots(gitops):
        key = (boot.objs[-1].namespace, boot.objs[-1].name, boot.label)
        if key not in seen:  # the same instance written twice (base and overlay): one cluster
            seen.add(key)
            boots.append(boot)
    if len(boots) > MAX_CLUSTERS:  # each cluster walks what it applies: bounded work on a hostile tree
        gitops.note(f"{len(boots)} Flux bootstraps found; only the first {MAX_CLUSTERS} are judged as clusters: "
                    f"set `flux.clusters` to choose")
        boots = boots[:MAX_CLUSTERS]
    return boots
