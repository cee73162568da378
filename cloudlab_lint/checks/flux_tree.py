"""What the tree applies: CL104 kustomize references, CL107 decryption, CL108 single owner, CL109 orphans,
CL110 removed APIs, CL111 component layout.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..model import Hit, Location
from ..stack.gitops.names import HELM_GROUP, KFILE_NAMES, kfile_in
from ..stack.sops.model import is_sops_text
from . import Context, check
from .flux_common import cluster_anchor, described, dig, is_flux_ks, is_real, shown_name, tree

if TYPE_CHECKING:
    from ..stack.gitops.objects import FluxKs, Obj

# -- CL104 kustomize-references ------------------------------------------------------------


@check("kustomize-references")
def kustomize_references(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    repo = ctx.repo
    for path, kf in sorted(gitops.kfiles.items()):
        for entry in kf.entries:
            if entry.remote:
                continue  # a remote base is never fetched: not followed, not judged
            what = f"`{entry.field}` entry `{entry.value}`"
            if entry.target is None:
                yield Hit(f"{what} climbs out of the repository", Location(path, entry.line),
                          key=f"{entry.field}:{entry.value}")
            elif repo.exists(entry.target):
                continue
            elif repo.is_dir(entry.target):
                if entry.field in ("resources", "bases", "components") and not kfile_in(repo, entry.target):
                    yield Hit(f"{what} is a folder without a kustomization file ({', '.join(KFILE_NAMES)}); "
                              f"kustomize build fails", Location(path, entry.line), key=f"{entry.field}:{entry.value}")
                elif entry.field not in ("resources", "bases", "components"):
                    yield Hit(f"{what} is a folder, not a file", Location(path, entry.line),
                              key=f"{entry.field}:{entry.value}")
            else:
                yield Hit(f"{what} does not exist (`{entry.target}` is not tracked)", Location(path, entry.line),
                          key=f"{entry.field}:{entry.value}")
    yield from _cycles(gitops)
    for (path, line), reason in sorted(gitops.builder.replace_errors.items()):
        yield Hit(f"`replacements` entry cannot be applied: {reason}; kustomize build fails",
                  Location(path, line), key=f"replacement:{line}:{reason}")
    for cluster in gitops.clusters:
        if not cluster.is_bootstrap or cluster.folder is None:
            continue
        folder = f"{cluster.folder}/flux-system" if cluster.folder != "." else "flux-system"
        kpath = kfile_in(repo, folder)
        if kpath is None or kpath not in gitops.kfiles:
            continue
        built = gitops.builder.build(folder)
        for obj in gitops.raw:
            if posixpath.dirname(obj.path) == folder and is_flux_ks(obj) and obj.path not in built.files:
                yield Hit(f"`{kpath}` does not list `{posixpath.basename(obj.path)}`: the Flux Kustomization "
                          f"{shown_name(obj)} in it is never applied",
                          Location(kpath, gitops.kfiles[kpath].resources_line),
                          key=f"unlisted:{obj.path}")


def _cycles(gitops: Any) -> Iterator[Hit]:
    """A `resources` loop between folders: kustomize refuses to build it (\"cycle detected\")."""
    for folder in sorted(gitops.kfiles.values(), key=lambda k: k.path):
        gitops.builder.build(folder.folder)  # memoised: what the clusters built is not built again
    for loop, closing in sorted(gitops.builder.cycles.items()):
        kf = gitops.builder.kfile(closing)
        if kf is None:
            continue
        nxt = loop[(loop.index(closing) + 1) % len(loop)]
        entry = next((e for e in kf.entries if e.target == nxt and e.field in ("resources", "bases", "components")),
                     None)
        line = entry.line if entry else kf.resources_line
        shown = " -> ".join([*loop, loop[0]])
        yield Hit(f"`resources` form a cycle: {shown}; kustomize build fails (cycle detected)",
                  Location(kf.path, line), key=f"cycle:{shown}")


# -- CL107 flux-sops-decryption ------------------------------------------------------------


@check("flux-sops-decryption")
def flux_sops_decryption(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    for cluster, ks in gitops.flux_kustomizations():
        if ks.built is None:
            continue
        dec = ks.obj.spec.get("decryption")
        ok = isinstance(dec, dict) and dec.get("provider") == "sops" and (
            isinstance(dec.get("secretRef"), dict) and isinstance(dec["secretRef"].get("name"), str) or
            cluster.global_decryption)  # flux-operator: kustomize-controller's own default key
        if ok:
            continue  # before reading what it applies: that is most of the files in the tree
        sops = sorted(p for p in ks.built.files if _is_sops_file(ctx.repo, p))
        if not sops:
            continue
        more = f" and {len(sops) - 1} more" if len(sops) > 1 else ""
        if is_real(ks.obj):
            line = ks.obj.line_of("spec", "decryption") if "decryption" in ks.obj.spec else ks.obj.line_of("spec")
            where, tail = Location(ks.obj.path, line), ""
        else:
            # gotk-sync.yaml is a placeholder: the fix is a patch in flux-system/kustomization.yaml.
            where, tail = Location(cluster_anchor(ctx, cluster), 1), " (add it with a patch here)"
            if cluster.kind == "FluxInstance":
                where = Location(ks.obj.path, ks.obj.line)  # the instance's sync
                tail = " (add it with a patch in the instance's `kustomize.patches`)"
        yield Hit(f"Kustomization {described(ks.obj)} applies SOPS-encrypted {sops[0]}{more} but has no "
                  f"`spec.decryption` with `provider: sops` and a `secretRef`: Flux would apply the ENC[...] "
                  f"strings as they are{tail}", where, key=f"decryption:{ks.obj.ident}")


def _is_sops_file(repo: Any, path: str) -> bool:
    """Whether Flux would decrypt `path`. A YAML file is judged on its parse (kept between runs, so
    the hook need not read the tree again): SOPS puts its metadata in a top-level `sops` mapping,
    which is also what Flux looks for. Other formats, and YAML that does not parse, by their text."""
    if path.endswith((".yaml", ".yml")):
        from ..stack.gitops.facts import manifest_facts  # they keep which top-level fields exist

        docs = manifest_facts(repo, path)
        if docs is not None:
            return any(isinstance(d.data, dict) and isinstance(d.data.get("sops"), dict) for d in docs)
    return is_sops_text(repo.read_text(path, strict=False) or "")


# -- CL108 flux-single-owner ---------------------------------------------------------------


@check("flux-single-owner")
def flux_single_owner(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    for cluster in gitops.clusters:
        built = [ks for ks in cluster.kustomizations.values() if ks.built is not None and ks.path is not None]
        covered: set[tuple[int, int]] = set()
        order = {id(ks): i for i, ks in enumerate(sorted(built, key=lambda k: (k.obj.path, k.obj.line)))}
        for a in built:
            for b in built:
                if a is b or b.path not in a.built.folders:
                    continue
                if a.path == b.path and order[id(a)] < order[id(b)]:
                    continue  # equal paths: reported once, at the later one
                covered |= {(id(a), id(b)), (id(b), id(a))}
                line = a.obj.line_of("spec", "path") if "path" in a.obj.spec else a.obj.line_of("spec")
                if a.path == b.path:
                    msg = (f"Kustomization {shown_name(a.obj)} has the same path `{a.path}` as Kustomization "
                           f"{shown_name(b.obj)}: both apply (and prune) the same manifests")
                else:
                    fix = ""
                    if kfile_in(ctx.repo, a.path) is None:
                        example = " (e.g. `flux-system`)" if cluster.under_root else ""
                        fix = (f"; add `{a.path}/kustomization.yaml` listing only what it should apply{example}"
                               if a.path != "." else "; add a kustomization.yaml at the path")
                    msg = (f"Kustomization {described(a.obj)} applies `{a.path}`, which also takes `{b.path}`, the "
                           f"path of Kustomization {described(b.obj)}, bypassing its dependsOn{fix}")
                yield Hit(msg, Location(_loc_path(a), line), key=f"owner:{a.obj.ident}:{b.obj.ident}")
        first: dict[tuple[str, int], Obj] | None = None  # (path, index) -> first object: built when needed
        for (path, index), owners in sorted(cluster.owners.items()):
            distinct = _same_object_owners(owners, cluster.ids.get((path, index), []))
            if len(distinct) < 2 or (id(distinct[0]), id(distinct[1])) in covered:
                continue
            if first is None:
                first = {}
                for o in cluster.objects:
                    first.setdefault((o.path, o.index), o)
            obj = first.get((path, index))
            line = obj.line if obj else 1
            names = " and ".join(shown_name(o.obj) for o in distinct[:3])
            yield Hit(f"this manifest is applied by Kustomizations {names}: every manifest needs exactly one owner",
                      Location(path, line), key=f"manifest:{index}")


def _same_object_owners(owners: list[FluxKs], ids: list[tuple[str, str | None, str]]) -> list[FluxKs]:
    """The Kustomizations that apply one document as the same object. A shared file (a kustomize Component)
    that renders to a different object for each (another name or namespace after substitution) has one owner
    per object; a name still holding `${VAR}` is not known, so not the same."""
    by_id: dict[tuple[str, str | None, str], dict[int, FluxKs]] = {}
    for ks, ident in zip(owners, ids, strict=False):
        if "${" in ident[2] or "${" in str(ident[1]):
            continue
        by_id.setdefault(ident, {})[id(ks)] = ks
    for group in by_id.values():
        if len(group) > 1:
            return list(group.values())
    return []


def _loc_path(ks: FluxKs) -> str:
    return ks.obj.path


# -- CL109 kustomize-orphan ----------------------------------------------------------------


@check("kustomize-orphan")
def kustomize_orphan(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    repo = ctx.repo
    referenced = gitops.referenced()
    reached: set[str] = set()
    for _cluster, ks in gitops.flux_kustomizations():
        if ks.built is not None:
            reached |= ks.built.files
    seen: set[str] = set()
    for obj in gitops.raw:
        if obj.path in seen or obj.path in referenced or obj.path in reached or not is_real(obj):
            continue
        folder = posixpath.dirname(obj.path) or "."
        if kfile_in(repo, folder) is None or _in_chart(repo, folder):
            continue
        seen.add(obj.path)
        yield Hit(f"{obj.kind} `{obj.name}` is in a folder with a kustomization file that does not list "
                  f"`{posixpath.basename(obj.path)}`, and no Flux path reaches it: it is never applied",
                  Location(obj.path, obj.line), key=f"orphan:{obj.path}")


def _in_chart(repo: Any, folder: str) -> bool:
    while folder not in ("", "."):
        if repo.exists(f"{folder}/Chart.yaml"):
            return True
        folder = posixpath.dirname(folder)
    return False


# -- CL110 flux-api-removed ----------------------------------------------------------------


@check("flux-api-removed")
def flux_api_removed(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    from ..stack.gitops.facts import manifest_facts  # they keep which top-level fields exist

    removed = dict(ctx.params.get("removed", {}))
    for path in gitops.files:
        for doc in manifest_facts(ctx.repo, path) or []:  # the apiVersion is all it needs
            data = doc.data
            if not isinstance(data, dict) or data.get("apiVersion") not in removed:
                continue
            api, kind = data["apiVersion"], data.get("kind", "?")
            yield Hit(f"{kind} uses `{api}`, which current Flux no longer serves: use `{removed[api]}`",
                      Location(path, data.line_of("apiVersion")), key=f"{api}:{kind}:{doc.index}")


# -- CL111 infrastructure-component-layout -------------------------------------------------


@check("infrastructure-component-layout")
def infrastructure_component_layout(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    from ..stack.gitops.objects import ref_of

    infra = ctx.config.layout.get("infrastructure", "infrastructure").strip("/")
    base = infra if gitops.root == "." else f"{gitops.root}/{infra}"
    patch_files = gitops.patch_files()
    by_folder: dict[str, list[Obj]] = {}
    for obj in gitops.raw:
        if obj.path.startswith(base + "/") and obj.path.count("/") > base.count("/") + 1:
            component = base + "/" + obj.path[len(base) + 1:].split("/")[0]
            by_folder.setdefault(component, []).append(obj)
    for component, objs in sorted(by_folder.items()):
        for hr in objs:
            if hr.kind != "HelmRelease" or hr.group != HELM_GROUP or hr.path in patch_files:
                continue
            ns = hr.namespace
            if not any(o.kind == "Namespace" and (ns is None or o.name == ns) for o in objs):
                yield Hit(f"HelmRelease {shown_name(hr)} in `{component}/` has no Namespace `{ns or '?'}` beside it "
                          f"(the design keeps each component's Namespace, chart source and HelmRelease together)",
                          Location(hr.path, hr.line), key=f"namespace:{hr.ident}")
            spec = hr.spec
            node = spec.get("chartRef") if "chartRef" in spec else dig(spec, "chart", "spec", "sourceRef")
            ref = ref_of(node, hr.namespace)
            if ref is None:
                continue
            if not any(o.kind == ref.kind and o.name == ref.name and (ref.namespace is None or o.namespace in
                       (ref.namespace, None)) for o in objs):
                yield Hit(f"HelmRelease {shown_name(hr)} in `{component}/` takes its chart from {ref.kind} "
                          f"`{ref.name}`, "
                          f"which is not defined in that folder", Location(hr.path, hr.line), key=f"source:{hr.ident}")
