"""CL103 flux-kustomization-spec and CL105 helm-release-source: the fields of Flux objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..model import Hit, Location
from ..stack.gitops.names import CHART_REFS, HELM_GROUP, HELM_SOURCES, KS_SOURCES
from . import Context, check
from .flux_common import dig, is_real, seconds, shown_name, shown_ref, tree, version_problem

if TYPE_CHECKING:
    from ..stack.gitops.objects import Cluster, FluxKs, Obj, Ref
    from ..stack.gitops.tree import GitOps


def ref_of(node: Any, default_ns: str | None) -> Ref | None:
    """`stack.gitops.objects.ref_of`, imported when first needed (a rule only asks once the model exists)."""
    from ..stack.gitops.objects import ref_of as of

    return of(node, default_ns)

# -- CL103 flux-kustomization-spec ---------------------------------------------------------


def _source_problem(cluster: Cluster, obj: Obj) -> tuple[str, int] | None:
    node = obj.spec.get("sourceRef")
    ref = ref_of(node, obj.namespace)
    line = obj.line_of("spec", "sourceRef")
    if ref is None:
        return "has no `spec.sourceRef` with a name", line
    if "${" in ref.name or "${" in str(ref.namespace):
        return None  # substituted by a parent's postBuild
    if ref.kind not in KS_SOURCES:
        return f"has sourceRef kind `{ref.kind}`; a Kustomization takes {', '.join(KS_SOURCES)}", line
    if not cluster.resolves(ref, KS_SOURCES):
        if cluster.folder is None:
            if ref.name == "flux-system":
                return None  # the bootstrap's own source, created outside the repository (no cluster found)
            return (f"has sourceRef {ref.kind} `{shown_ref(ref)}`, which is defined nowhere in the repository "
                    f"(the namespace defaults to the Kustomization's own)"), line
        return (f"has sourceRef {ref.kind} `{shown_ref(ref)}`, which is not defined in {cluster.named} "
                f"(the namespace defaults to the Kustomization's own)"), line
    return None


def _path_problem(gitops: GitOps, cluster: Cluster, ks: FluxKs) -> tuple[str, int] | None:
    obj = ks.obj
    line = obj.line_of("spec", "path") if "path" in obj.spec else obj.line_of("spec")
    written = obj.spec.get("path", "")
    if "${" in str(written):
        return None  # a parent's postBuild substitutes it: not knowable statically
    if ks.path is None:
        return f"has path `{written}`, which climbs out of the repository", line
    if cluster.under_root and not ctx_inside(gitops, ks.path):
        return f"has path `{written}`, which lies outside the GitOps root `{gitops.root}`", line
    if not gitops.repo.is_dir(ks.path):
        base = f" (relative to `{cluster.base}`, the folder its artifact is pushed from)" if cluster.base != "." else ""
        return f"has path `{written}`, which is no folder of the repository{base}", line
    return None


def ctx_inside(gitops: GitOps, path: str) -> bool:
    return gitops.inside(path) and (gitops.root == "." or path != ".")


_FIELDS = ("interval", "retryInterval", "timeout", "prune", "wait")


@check("flux-kustomization-spec")
def flux_kustomization_spec(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    require = [f for f in ctx.params.get("require", _FIELDS) if f in _FIELDS]
    for cluster, ks in gitops.flux_kustomizations():
        obj = ks.obj
        if not is_real(obj):
            continue
        loc = obj.path
        problems: list[tuple[str, int]] = []
        missing: list[str] = []
        spec = obj.spec
        # Outside every cluster only what the Kustomization sets itself is judged: a parent's patch may give it
        # the rest.
        applied = cluster.folder is not None
        if "prune" in spec and spec.get("prune") is not True or applied and "prune" in require and \
                spec.get("prune") is not True:
            if "prune" in spec:
                problems.append((f"has `prune: {_yaml_scalar(spec.get('prune'))}`; set `prune: true` (it removes from "
                                 f"the cluster what leaves git)", obj.line_of("spec", "prune")))
            else:
                missing.append("`prune: true`")
        src = _source_problem(cluster, obj)
        if src:
            problems.append(src)
        if ks.own or cluster.folder is None and _own_guess(obj):
            if ks.path is None and cluster.folder is None:
                ks.path = gitops.flux_path(obj)
            pp = _path_problem(gitops, cluster, ks)
            if pp and not (ks.bootstrap and "outside the GitOps root" in pp[0]):
                problems.append(pp)
        if not ks.bootstrap:
            for message, line, field in _timing(obj):
                if field is None:
                    problems.append((message, line))
                elif applied and field in require:
                    missing.append(f"`{field}`")
            if "wait" in require and spec.get("wait") is not True and not spec.get("healthChecks") and (
                    applied or "wait" in spec):
                if "wait" in spec:
                    problems.append((f"has `wait: {_yaml_scalar(spec.get('wait'))}` and no `healthChecks`; set `wait: "
                                     f"true` so what depends on it waits for healthy objects",
                                     obj.line_of("spec", "wait")))
                else:
                    missing.append("`wait: true` (or `healthChecks`)")
        if missing:
            listed = ", ".join(missing[:-1]) + (" and " if len(missing) > 1 else "") + missing[-1]
            problems.insert(0, (f"must set {listed}", obj.line_of("spec")))
        for message, line in problems:
            yield Hit(f"Kustomization {shown_name(obj)} {message}", Location(loc, line), key=f"{obj.ident}:{message}")


def _yaml_scalar(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else "null" if value is None else str(value)


def _own_guess(obj: Obj) -> bool:
    """Outside every cluster, the repository's own source is the conventional `flux-system` GitRepository."""
    ref = ref_of(obj.spec.get("sourceRef"), obj.namespace)
    return ref is not None and ref.kind == "GitRepository" and ref.name == "flux-system"


def _timing(obj: Obj) -> Iterator[tuple[str, int, str | None]]:
    """Problems with the durations: (message, line, the missing field or None for a wrong value)."""
    spec = obj.spec
    values = {}
    for key in ("interval", "retryInterval", "timeout"):
        if key not in spec:
            yield f"must set `{key}`", obj.line_of("spec"), key
            continue
        values[key] = seconds(spec[key])
        if values[key] is None and "${" not in str(spec[key]):
            yield f"has `{key}: {spec[key]}`, which is no Go duration (e.g. 10m, 1h30m)", obj.line_of("spec", key), None
    interval, timeout = values.get("interval"), values.get("timeout")
    if interval is not None and timeout is not None and timeout > interval:
        yield (f"has `timeout: {spec['timeout']}` longer than `interval: {spec['interval']}`",
               obj.line_of("spec", "timeout"), None)


# -- CL105 helm-release-source -------------------------------------------------------------




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
                    yield Hit(f"HelmRelease {shown_name(obj)} {message}", Location(path, line),
                              key=f"{obj.ident}:{message}")


def _where(cluster: Cluster) -> str:
    return cluster.named if cluster.folder is not None else "the repository"


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
            yield (f"has chart source {ref.kind} `{shown_ref(ref)}`, not defined in {_where(cluster)}",
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
        yield f"has chartRef {ref.kind} `{shown_ref(ref)}`, not defined in {_where(cluster)}", obj.path, line
        return
    if ref.kind == "OCIRepository":
        oref = source.spec.get("ref")
        oref = oref if isinstance(oref, dict) else {}
        if oref.get("digest") or oref.get("tag"):
            return
        if "semver" in oref:
            problem = version_problem(oref["semver"])
            if problem:
                yield (f"takes its chart from OCIRepository `{source.name}`, whose `ref.semver` "
                       f"{_shown_version(oref['semver'])} {problem}: pin a tag, a "
                       f"digest or a bounded range"), source.path, source.line_of("spec", "ref", "semver")
            return
        yield (f"takes its chart from OCIRepository `{source.name}`, which pins no `ref.tag`, `ref.semver` or "
               f"`ref.digest` (it follows `latest`)"), source.path, source.line_of("spec", "ref")


def _shown_version(value: Any) -> str:
    text = str(value).strip() if value is not None else ""
    return f"`{text}`" if text else "(empty)"


def _chart_version(gitops: GitOps, obj: Obj, cspec: dict, patch_files: set[str]) -> Iterator[tuple[str, str, int]]:
    raw = gitops.raw_at(obj.path, obj.index) or obj
    raw_spec = dig(raw.data, "spec", "chart", "spec")
    if isinstance(raw_spec, dict) and "version" in raw_spec:
        cspec = raw_spec  # the base pins it: judge the base, where its line is
    elif "version" in cspec:
        cspec = {}  # only an overlay's patch sets it: judged below, at the patch
    if "version" in cspec:
        problem = version_problem(cspec.get("version"))
        if problem:
            yield (f"has chart version {_shown_version(cspec.get('version'))}, which {problem}: pin a version or a "
                   f"bounded range", obj.path,
                   obj.line_of("spec", "chart", "spec", "version"))
        return
    # Judged after merging: overlays that patch this release in a version.
    patched = False
    for other in gitops.raw_in_patches("HelmRelease", obj.name):  # objects in `patch_files`, tree order
        version = dig(other.data, "spec", "chart", "spec", "version")
        if version is None:
            continue
        patched = True
        problem = version_problem(version)
        if problem:
            yield (f"gets chart version {_shown_version(version)} from the patch in {other.path}, which {problem}: "
                   f"pin a version or a "
                   f"bounded range"), other.path, other.line_of("spec", "chart", "spec", "version")
    if not patched:
        yield ("has no `chart.spec.version` (Flux then installs the newest chart, `*`)", obj.path,
               obj.line_of("spec", "chart", "spec"))
