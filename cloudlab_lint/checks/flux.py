"""The Flux family (CL101-CL111) and the team rule kind `manifest-schema`.

Every rule asks the one model in `stack/gitops.py`; in pre-commit mode they run when any file under
the GitOps root is staged and then judge the whole tree (a Flux graph is only right or wrong as a whole).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any

from ..model import Hit, Location
from ..stack.gitops import (
    CHART_REFS,
    HELM_GROUP,
    HELM_SOURCES,
    KS_GROUP,
    KS_SOURCES,
    Cluster,
    FluxKs,
    GitOps,
    Obj,
    model,
    ref_of,
)
from ..stack.gitops_kustomize import KFILE_NAMES, kfile_in
from . import Context, check

_DURATION = re.compile(r"^(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+$")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def tree(ctx: Context) -> GitOps | None:
    """The model, or None when pre-commit staged nothing under the GitOps root."""
    root = posixpath.normpath(ctx.config.gitops_root or ".")
    if not ctx.repo.touched(lambda p: root == "." or p.startswith(root + "/")):
        return None
    return model(ctx.repo, ctx.config)


def seconds(value: Any) -> float | None:
    """A Go duration (`1h30m`, `10m0s`) in seconds; None when it is not one."""
    if not isinstance(value, str) or not _DURATION.match(value.strip()):
        return None
    return sum(float(n) * _UNIT[u] for n, u in _DURATION_PART.findall(value))


def _is_flux_ks(obj: Obj) -> bool:
    return obj.kind == "Kustomization" and obj.group == KS_GROUP


def _name(obj: Obj) -> str:
    if not obj.name:
        return "(without metadata.name)"
    return f"`{obj.name}`" if obj.namespace in (None, "flux-system") else f"`{obj.namespace}/{obj.name}`"


def _ref(ref: Any) -> str:
    return f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name


def _real(obj: Obj) -> bool:
    """Objects assumed for a placeholder gotk-sync.yaml have no place in a file to point at."""
    return obj.index >= 0


# -- CL101 flux-layout ---------------------------------------------------------------------


@check("flux-layout")
def flux_layout(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    repo, root = ctx.repo, gitops.root
    under = repo.files_under(root)
    if not under:
        return  # no Flux tree at all: not a GitOps repository, nothing to hold to the layout

    def full(rel: str) -> str:
        return rel if root == "." else f"{root}/{rel}"

    wanted = list(ctx.params.get("files", []))
    for folder in (ctx.config.layout.get("infrastructure"), ctx.config.layout.get("apps")):
        if folder:
            wanted.append(f"{folder.strip('/')}/kustomization.yaml")
    for rel in wanted:
        path = full(rel)
        folder = posixpath.dirname(path) or "."
        if posixpath.basename(rel) == "kustomization.yaml":
            if kfile_in(repo, folder):
                continue
        elif repo.exists(path):
            continue
        anchor = _anchor(repo, root, folder, under)
        what = "kustomization file" if rel.endswith("kustomization.yaml") else "file"
        why = (" (see CL108: without it Flux applies every folder below the root itself)"
               if rel == "kustomization.yaml" else "")
        yield Hit(f"the seed layout needs `{path}` under the GitOps root `{root}`: the {what} is missing{why}",
                  Location(anchor, 1), key=f"missing:{path}")


def _anchor(repo: Any, root: str, folder: str, under: list[str]) -> str:
    """The existing file that best explains a missing one: its folder's kustomization or first file; for the
    root, the bootstrap's gotk-sync.yaml (its path is what needs the root kustomization)."""
    sync = "flux-system/gotk-sync.yaml" if root == "." else f"{root}/flux-system/gotk-sync.yaml"
    if folder == root and repo.exists(sync):
        return sync
    while True:
        found = kfile_in(repo, folder)
        if found:
            return found
        inside = sorted(p for p in under if p.startswith(folder + "/")) if folder != "." else []
        if inside:
            return inside[0]
        if folder in (".", ""):
            return sorted(under)[0]
        folder = posixpath.dirname(folder) or "."


# -- CL102 flux-dependency-chain -----------------------------------------------------------


@check("flux-dependency-chain")
def flux_dependency_chain(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    from ..stack.gitops_graph import closest, graph_of, show

    real = [c for c in gitops.clusters if c.folder is not None]
    for cluster in gitops.clusters:
        if not cluster.kustomizations:
            continue
        graph = graph_of(cluster)
        if cluster.folder is not None or not real:
            yield from _chain(ctx, cluster)
        names = sorted({(o.namespace, o.name) for o in cluster.objects if _is_flux_ks(o)} |
                       set(cluster.kustomizations), key=lambda k: (k[0] or "", k[1]))
        for dep in graph.missing:
            ks = dep.source
            shown = show(dep.target, ks.obj.namespace)
            loc = Location(ks.obj.path, dep.line)
            key = f"dependsOn:{ks.obj.ident}->{dep.target[0]}/{dep.target[1]}"
            helm = cluster.find("HelmRelease", dep.target[1], dep.target[0])
            if helm is not None and helm.group == HELM_GROUP:
                yield Hit(f"Kustomization {_name(ks.obj)} dependsOn `{shown}`, which is a HelmRelease "
                          f"({helm.path}:{helm.line}): a Kustomization's dependsOn names Flux Kustomizations "
                          f"only, so it waits in DependencyNotReady forever; depend on the Kustomization that "
                          f"applies the HelmRelease", loc, key=key)
                continue
            suggestion = closest(shown, [show(n, ks.obj.namespace) for n in names if n != ks.key])
            hint = f"; did you mean `{suggestion}`?" if suggestion else ""
            yield Hit(f"Kustomization {_name(ks.obj)} dependsOn `{shown}`, which is no Flux Kustomization of "
                      f"this cluster (namespace `{dep.target[0]}`): Flux waits in DependencyNotReady forever{hint}",
                      loc, key=key)
        for cycle in graph.cycles:
            first = cluster.kustomizations[cycle[0]]
            nxt = cycle[1] if len(cycle) > 1 else cycle[0]
            line = next((d.line for d in graph.edges if d.source is first and d.target == nxt), first.obj.line)
            text = " -> ".join(show(n, first.obj.namespace) for n in cycle + cycle[:1])
            yield Hit(f"dependsOn cycle: {text}: none of these Kustomizations ever becomes Ready (Flux has no cycle "
                      f"detection)", Location(first.obj.path, line), key="cycle:" + text)


def _stage(text: str) -> tuple[str, str]:
    ns, _, name = text.rpartition("/")
    return (ns or "flux-system", name)


def _chain(ctx: Context, cluster: Cluster) -> Iterator[Hit]:
    from ..stack.gitops_graph import deps_of

    chain = [_stage(s) for s in ctx.config.chain]
    arrow = " -> ".join(ctx.config.chain)
    for before, stage in zip(chain, chain[1:], strict=False):
        ks = cluster.kustomizations.get(stage)
        if ks is None:
            anchor = _cluster_anchor(ctx, cluster)
            yield Hit(f"the required chain {arrow} has no Flux Kustomization `{stage[0]}/{stage[1]}` in "
                      f"{cluster.label}", Location(anchor, 1), key=f"chain-missing:{cluster.label}:{stage}")
            continue
        if any(d.target == before for d in deps_of(ks)):
            continue
        spec = ks.obj.spec
        line = ks.obj.line_of("spec", "dependsOn") if "dependsOn" in spec else ks.obj.line_of("metadata", "name")
        shown = before[1] if before[0] == ks.obj.namespace else "/".join(before)
        yield Hit(f"Kustomization {_name(ks.obj)} must list `{shown}` in dependsOn (the required chain {arrow}), "
                  f"so it waits until that stage is healthy",
                  Location(ks.obj.path, line), key=f"chain:{stage}")


def _cluster_anchor(ctx: Context, cluster: Cluster) -> str:
    folder = cluster.folder or posixpath.normpath(ctx.config.gitops_root)
    flux = f"{folder}/flux-system" if folder != "." else "flux-system"
    return kfile_in(ctx.repo, flux) or (cluster.bootstrap.obj.path if cluster.bootstrap else flux + "/gotk-sync.yaml")


# -- CL103 flux-kustomization-spec ---------------------------------------------------------


def _source_problem(cluster: Cluster, obj: Obj) -> tuple[str, int] | None:
    node = obj.spec.get("sourceRef")
    ref = ref_of(node, obj.namespace)
    line = obj.line_of("spec", "sourceRef")
    if ref is None:
        return "has no `spec.sourceRef` with a name", line
    if ref.kind not in KS_SOURCES:
        return f"has sourceRef kind `{ref.kind}`; a Kustomization takes {', '.join(KS_SOURCES)}", line
    if not cluster.resolves(ref, KS_SOURCES):
        return (f"has sourceRef {ref.kind} `{_ref(ref)}`, which is not defined in this cluster "
                f"(the namespace defaults to the Kustomization's own)"), line
    return None


def _path_problem(gitops: GitOps, ks: FluxKs) -> tuple[str, int] | None:
    obj = ks.obj
    line = obj.line_of("spec", "path") if "path" in obj.spec else obj.line_of("spec")
    written = obj.spec.get("path", "")
    if ks.path is None:
        return f"has path `{written}`, which climbs out of the repository", line
    if not ctx_inside(gitops, ks.path):
        return f"has path `{written}`, which lies outside the GitOps root `{gitops.root}`", line
    if not gitops.repo.is_dir(ks.path):
        return f"has path `{written}`, which is no folder of the repository", line
    return None


def ctx_inside(gitops: GitOps, path: str) -> bool:
    return gitops.inside(path) and (gitops.root == "." or path != ".")


@check("flux-kustomization-spec")
def flux_kustomization_spec(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    for cluster, ks in gitops.flux_kustomizations():
        obj = ks.obj
        if not _real(obj):
            continue
        loc = obj.path
        problems: list[tuple[str, int]] = []
        spec = obj.spec
        if spec.get("prune") is not True:
            problems.append(("must set `prune: true` (prune is required and removes what leaves git)",
                             obj.line_of("spec", "prune")))
        src = _source_problem(cluster, obj)
        if src:
            problems.append(src)
        if ks.own or cluster.folder is None and _own_guess(obj):
            if ks.path is None and cluster.folder is None:
                ks.path = gitops.flux_path(obj)
            pp = _path_problem(gitops, ks)
            if pp and not (ks.bootstrap and "outside the GitOps root" in pp[0]):
                problems.append(pp)
        if not ks.bootstrap:
            problems.extend(_timing(obj))
            if spec.get("wait") is not True and not spec.get("healthChecks"):
                problems.append(("must set `wait: true` (or `healthChecks`) so what depends on it waits for "
                                 "healthy objects", obj.line_of("spec", "wait")))
        for message, line in problems:
            yield Hit(f"Kustomization {_name(obj)} {message}", Location(loc, line), key=f"{obj.ident}:{message}")


def _own_guess(obj: Obj) -> bool:
    """Outside every cluster, the repository's own source is the conventional `flux-system` GitRepository."""
    ref = ref_of(obj.spec.get("sourceRef"), obj.namespace)
    return ref is not None and ref.kind == "GitRepository" and ref.name == "flux-system"


def _timing(obj: Obj) -> Iterator[tuple[str, int]]:
    spec = obj.spec
    values = {}
    for key in ("interval", "retryInterval", "timeout"):
        if key not in spec:
            yield f"must set `{key}`", obj.line_of("spec")
            continue
        values[key] = seconds(spec[key])
        if values[key] is None:
            yield f"has `{key}: {spec[key]}`, which is no Go duration (e.g. 10m, 1h30m)", obj.line_of("spec", key)
    interval, timeout = values.get("interval"), values.get("timeout")
    if interval is not None and timeout is not None and timeout > interval:
        yield (f"has `timeout: {spec['timeout']}` longer than `interval: {spec['interval']}`",
               obj.line_of("spec", "timeout"))


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
    for cluster in gitops.clusters:
        if cluster.folder is None:
            continue
        folder = f"{cluster.folder}/flux-system" if cluster.folder != "." else "flux-system"
        kpath = kfile_in(repo, folder)
        if kpath is None or kpath not in gitops.kfiles:
            continue
        built = gitops.builder.build(folder)
        for obj in gitops.raw:
            if posixpath.dirname(obj.path) == folder and _is_flux_ks(obj) and obj.path not in built.files:
                yield Hit(f"`{kpath}` does not list `{posixpath.basename(obj.path)}`: the Flux Kustomization "
                          f"{_name(obj)} in it is never applied", Location(kpath, gitops.kfiles[kpath].resources_line),
                          key=f"unlisted:{obj.path}")


# -- CL105 helm-release-source -------------------------------------------------------------


def version_problem(value: Any) -> str | None:
    """Why a chart version or semver constraint is not a pin; None when it pins (exactly or bounded)."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return "is empty"
    for alt in text.split("||"):
        alt = alt.strip()
        if alt in ("", "*", "x", "X", "latest"):
            return f"`{text}` matches every version"
        if " - " in alt:
            continue
        ops = re.findall(r"(<=|>=|<|>|~|\^|=)?\s*v?([0-9xX*][0-9A-Za-z.*+-]*)", alt)
        if not ops:
            return f"`{text}` is no semver version or range"
        has_upper = any(op in ("<", "<=", "~", "^", "=") for op, _ in ops)
        has_lower_only = any(op in (">", ">=") for op, _ in ops)
        if has_lower_only and not has_upper:
            return f"`{text}` has no upper bound"
        for op, ver in ops:
            if not op and ver.split(".")[0] in ("x", "X", "*"):
                return f"`{text}` matches every version"
    return None


@check("helm-release-source")
def helm_release_source(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    patch_files = gitops.patch_files()
    for cluster in gitops.clusters:
        for obj in cluster.judged:
            if obj.kind == "HelmRelease" and obj.group == HELM_GROUP and obj.path not in patch_files:
                for message, path, line in _helm_problems(gitops, cluster, obj, patch_files):
                    yield Hit(f"HelmRelease {_name(obj)} {message}", Location(path, line), key=f"{obj.ident}:{message}")


def _helm_problems(gitops: GitOps, cluster: Cluster, obj: Obj,
                   patch_files: set[str]) -> Iterator[tuple[str, str, int]]:
    spec = obj.spec
    if "interval" not in spec:
        yield "must set `interval`", obj.path, obj.line_of("spec")
    chart, chart_ref = spec.get("chart"), spec.get("chartRef")
    if chart is not None and chart_ref is not None:
        yield "sets both `chart` and `chartRef`; Flux takes exactly one", obj.path, obj.line_of("spec", "chartRef")
        return
    if chart is None and chart_ref is None:
        yield "sets neither `chart.spec` nor `chartRef`", obj.path, obj.line_of("spec")
        return
    if chart is not None:
        cspec = chart.get("spec") if isinstance(chart, dict) else None
        cspec = cspec if isinstance(cspec, dict) else {}
        ref = ref_of(cspec.get("sourceRef"), obj.namespace)
        line = obj.line_of("spec", "chart", "spec", "sourceRef")
        if ref is None:
            yield "has no `chart.spec.sourceRef`", obj.path, line
            return
        if ref.kind == "OCIRepository":
            yield ("names an OCIRepository under `chart.spec.sourceRef`, which Flux refuses; use `chartRef: {kind: "
                   "OCIRepository, name: ...}`"), obj.path, line
            return
        if ref.kind not in HELM_SOURCES:
            yield f"has chart sourceRef kind `{ref.kind}`; it takes {', '.join(HELM_SOURCES)}", obj.path, line
            return
        if not cluster.resolves(ref, HELM_SOURCES):
            yield (f"has chart source {ref.kind} `{_ref(ref)}`, not defined in this cluster",
                   obj.path, line)
        if ref.kind == "HelmRepository":
            yield from _chart_version(gitops, obj, cspec, patch_files)
        return
    ref = ref_of(chart_ref, obj.namespace)
    line = obj.line_of("spec", "chartRef")
    if ref is None or ref.kind not in CHART_REFS:
        yield f"has `chartRef` that is not one of {', '.join(CHART_REFS)} with a name", obj.path, line
        return
    if ref.kind == "ExternalArtifact" and cluster.resolves(ref, CHART_REFS):
        return
    source = cluster.find(ref.kind, ref.name, ref.namespace)
    if source is None:
        yield f"has chartRef {ref.kind} `{_ref(ref)}`, not defined in this cluster", obj.path, line
        return
    if ref.kind == "OCIRepository":
        oref = source.spec.get("ref")
        oref = oref if isinstance(oref, dict) else {}
        if oref.get("digest") or oref.get("tag"):
            return
        if "semver" in oref:
            problem = version_problem(oref["semver"])
            if problem:
                yield (f"takes its chart from OCIRepository `{source.name}` whose `ref.semver` {problem}: pin a tag, a "
                       f"digest or a bounded range"), source.path, source.line_of("spec", "ref", "semver")
            return
        yield (f"takes its chart from OCIRepository `{source.name}`, which pins no `ref.tag`, `ref.semver` or "
               f"`ref.digest` (it follows `latest`)"), source.path, source.line_of("spec", "ref")


def _chart_version(gitops: GitOps, obj: Obj, cspec: dict, patch_files: set[str]) -> Iterator[tuple[str, str, int]]:
    raw = next((o for o in gitops.raw if o.path == obj.path and o.index == obj.index), obj)
    raw_spec = _dig(raw.data, "spec", "chart", "spec")
    if isinstance(raw_spec, dict) and "version" in raw_spec:
        cspec = raw_spec  # the base pins it: judge the base, where its line is
    elif "version" in cspec:
        cspec = {}  # only an overlay's patch sets it: judged below, at the patch
    if "version" in cspec:
        problem = version_problem(cspec.get("version"))
        if problem:
            yield (f"has chart version that {problem}: pin a version or a bounded range", obj.path,
                   obj.line_of("spec", "chart", "spec", "version"))
        return
    # Judged after merging: overlays that patch this release in a version.
    patched = False
    for other in gitops.raw:
        if other.path in patch_files and other.kind == "HelmRelease" and other.name == obj.name:
            version = _dig(other.data, "spec", "chart", "spec", "version")
            if version is None:
                continue
            patched = True
            problem = version_problem(version)
            if problem:
                yield (f"gets chart version from the patch in {other.path}, and it {problem}: pin a version or a "
                       f"bounded range"), other.path, other.line_of("spec", "chart", "spec", "version")
    if not patched:
        yield ("has no `chart.spec.version` (Flux then installs the newest chart, `*`)", obj.path,
               obj.line_of("spec", "chart", "spec"))


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


# -- CL106 flux-watch-scope ----------------------------------------------------------------


@check("flux-watch-scope")
def flux_watch_scope(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    for cluster in gitops.clusters:
        if cluster.folder is None or cluster.implicit:
            continue
        folder = cluster.folder
        sync = f"{folder}/flux-system/gotk-sync.yaml" if folder != "." else "flux-system/gotk-sync.yaml"
        if not ctx.repo.exists(sync):
            continue
        boot = next((o for o in gitops.raw if o.path == sync and _is_flux_ks(o)), None)
        if boot is None:
            yield Hit("gotk-sync.yaml defines no bootstrap Flux Kustomization (rerun `flux bootstrap`)",
                      Location(sync, 1), key="no-bootstrap")
            continue
        written = boot.spec.get("path", "")
        path = gitops.flux_path(boot)
        line = boot.line_of("spec", "path") if "path" in boot.spec else boot.line_of("spec")
        root = gitops.root
        if path is None:
            yield Hit(f"the bootstrap Kustomization's path `{written}` climbs out of the repository",
                      Location(sync, line), key="path")
        elif root != "." and not (path == root or path.startswith(root + "/")):
            where = "the repository root" if path == "." else (
                "a parent of the GitOps root" if root.startswith(path + "/") else "outside the GitOps root")
            yield Hit(f"the bootstrap Kustomization applies `{written or '.'}`, {where}: Flux would apply "
                      f"everything there (Terraform, CI config); set `path: ./{root}`", Location(sync, line),
                      key="path")
        ref = ref_of(boot.spec.get("sourceRef"), boot.namespace)
        if ref is None or ref.kind != "GitRepository" or cluster.find("GitRepository", ref.name, ref.namespace) is None:
            shown = f"`{_ref(ref)}`" if ref else "(none)"
            yield Hit(f"the bootstrap Kustomization's GitRepository {shown} does not exist in gotk-sync.yaml or "
                      f"the cluster", Location(sync, boot.line_of("spec", "sourceRef")), key="source")


# -- CL107 flux-sops-decryption ------------------------------------------------------------


@check("flux-sops-decryption")
def flux_sops_decryption(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    from ..stack.sops import is_sops_text

    for cluster, ks in gitops.flux_kustomizations():
        if ks.built is None:
            continue
        sops = sorted(p for p in ks.built.files if is_sops_text(ctx.repo.read_text(p, strict=False) or ""))
        if not sops:
            continue
        dec = ks.obj.spec.get("decryption")
        ok = isinstance(dec, dict) and dec.get("provider") == "sops" and isinstance(dec.get("secretRef"), dict) \
            and isinstance(dec["secretRef"].get("name"), str)
        if ok:
            continue
        more = f" and {len(sops) - 1} more" if len(sops) > 1 else ""
        if _real(ks.obj):
            line = ks.obj.line_of("spec", "decryption") if "decryption" in ks.obj.spec else ks.obj.line_of("spec")
            where, tail = Location(ks.obj.path, line), ""
        else:
            # gotk-sync.yaml is a placeholder: the fix is a patch in flux-system/kustomization.yaml.
            where, tail = Location(_cluster_anchor(ctx, cluster), 1), " (add it with a patch here)"
        yield Hit(f"Kustomization {_name(ks.obj)} applies SOPS-encrypted {sops[0]}{more} but has no "
                  f"`spec.decryption` with `provider: sops` and a `secretRef`: Flux would apply the ENC[...] "
                  f"strings as they are{tail}", where, key=f"decryption:{ks.obj.ident}")


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
                    msg = (f"Kustomization {_name(a.obj)} has the same path `{a.path}` as Kustomization "
                           f"{_name(b.obj)}: both apply (and prune) the same manifests")
                else:
                    fix = ""
                    if kfile_in(ctx.repo, a.path) is None:
                        fix = (f"; add `{a.path}/kustomization.yaml` listing only what it should apply (e.g. "
                               f"`flux-system`)" if a.path != "." else "; add a kustomization.yaml at the path")
                    msg = (f"Kustomization {_name(a.obj)} (path `{a.path}`) also applies `{b.path}`, the path of "
                           f"Kustomization {_name(b.obj)}, bypassing its dependsOn{fix}")
                yield Hit(msg, Location(_loc_path(a), line), key=f"owner:{a.obj.ident}:{b.obj.ident}")
        for (path, index), owners in sorted(cluster.owners.items()):
            distinct = list({id(o): o for o in owners}.values())
            if len(distinct) < 2 or (id(distinct[0]), id(distinct[1])) in covered:
                continue
            obj = next((o for o in cluster.objects if o.path == path and o.index == index), None)
            line = obj.line if obj else 1
            names = " and ".join(_name(o.obj) for o in distinct[:3])
            yield Hit(f"this manifest is applied by Kustomizations {names}: every manifest needs exactly one owner",
                      Location(path, line), key=f"manifest:{index}")


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
        if obj.path in seen or obj.path in referenced or obj.path in reached or not _real(obj):
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
    removed = dict(ctx.params.get("removed", {}))
    for path in gitops.files:
        for doc in ctx.repo.yaml(path) or []:
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
                yield Hit(f"HelmRelease {_name(hr)} in `{component}/` has no Namespace `{ns or '?'}` beside it "
                          f"(the design keeps each component's Namespace, chart source and HelmRelease together)",
                          Location(hr.path, hr.line), key=f"namespace:{hr.ident}")
            spec = hr.spec
            node = spec.get("chartRef") if "chartRef" in spec else _dig(spec, "chart", "spec", "sourceRef")
            ref = ref_of(node, hr.namespace)
            if ref is None:
                continue
            if not any(o.kind == ref.kind and o.name == ref.name and (ref.namespace is None or o.namespace in
                       (ref.namespace, None)) for o in objs):
                yield Hit(f"HelmRelease {_name(hr)} in `{component}/` takes its chart from {ref.kind} `{ref.name}`, "
                          f"which is not defined in that folder", Location(hr.path, hr.line), key=f"source:{hr.ident}")


# -- team rule kind: manifest-schema -------------------------------------------------------


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


@check("manifest-schema")
def manifest_schema(ctx: Context) -> Iterator[Hit]:
    """A team's JSON Schema for the Kubernetes documents it selects by apiVersion, kind and path glob."""
    import fnmatch

    import jsonschema

    from ..globs import match_any

    params = ctx.params
    schema = params.get("schema")
    if not isinstance(schema, dict):
        raise ValueError(f"{ctx.rule.id}: params.schema must be a JSON Schema mapping")
    apis, kinds, globs = _as_list(params.get("apiVersion")), _as_list(params.get("kind")), _as_list(params.get("path"))
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema)
    for path in ctx.repo.targets:
        if not path.endswith((".yaml", ".yml")) or (globs and not match_any(path, globs)):
            continue
        for doc in ctx.repo.yaml(path) or []:
            data = doc.data
            if not isinstance(data, dict):
                continue
            api, kind = str(data.get("apiVersion", "")), str(data.get("kind", ""))
            if apis and not any(fnmatch.fnmatchcase(api, a) for a in apis):
                continue
            if kinds and kind not in kinds:
                continue
            name = _dig(data, "metadata", "name") or "?"
            for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
                field, line = _where(data, list(error.absolute_path), doc.line)
                if error.validator == "required":
                    missing = [r for r in error.validator_value if isinstance(error.instance, dict)
                               and r not in error.instance]
                    field = ".".join([*map(str, error.absolute_path), missing[0]]) if missing else field
                yield Hit(f"{kind} `{name}`: `{field or '(document)'}` {_describe(error)}", Location(path, line),
                          key=f"{ctx.rule.id}:{kind}/{name}:{field}:{error.validator}")


def _where(data: Any, keys: list[Any], default: int) -> tuple[str, int]:
    node, line = data, getattr(data, "line", default)
    for key in keys:
        if isinstance(node, dict) and key in node:
            line = node.key_line(key) if hasattr(node, "key_line") else line
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            line = node.line_of(key) if hasattr(node, "line_of") else line
            node = node[key]
        else:
            break
    return ".".join(str(k) for k in keys), line


def _describe(error: Any) -> str:
    """The failed constraint in words, from the schema only: never the document's value (it may be a secret)."""
    kind, want = error.validator, error.validator_value
    if kind == "required":
        return "is required"
    if kind == "type":
        return f"must be of type {want}"
    if kind == "enum":
        return f"must be one of {', '.join(map(str, want))}"
    if kind == "const":
        return f"must be {want}"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
                "minItems", "maxItems", "minProperties", "maxProperties", "multipleOf"):
        return f"fails {kind} {want}"
    if kind == "pattern":
        return f"must match the pattern `{want}`"
    if kind == "additionalProperties":
        return "has properties the schema does not allow"
    return f"fails the schema's `{kind}`"
