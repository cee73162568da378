"""The Flux family (CL101-CL112).

This module holds the tree-shape rules (CL101 layout, CL102 dependency chain, CL106 watch scope); the
others are in `flux_spec` (CL103, CL105), `flux_tree` (CL104, CL107-CL111) and `flux_crd` (CL112). The
team rule kind `manifest-schema` is in `team`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..model import Hit, Location
from ..stack.gitops.names import HELM_GROUP, kfile_in
from . import Context, check
from .flux_common import cluster_anchor, is_flux_ks, shown_name, shown_ref, tree

if TYPE_CHECKING:
    from ..stack.gitops.objects import Cluster

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
    # The seed's layout is about a `flux bootstrap` cluster under the GitOps root. Without any cluster, a root
    # with a flux-system/ folder is the seed before its bootstrap; anything else is no seed (the model's note
    # says what was searched).
    if not any(c.under_root for c in gitops.clusters):
        if any(c.folder is not None for c in gitops.clusters) or not repo.is_dir(
                "flux-system" if root == "." else f"{root}/flux-system"):
            return

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
        anchor, line = _anchor(ctx, gitops, folder)
        what = "kustomization file" if rel.endswith("kustomization.yaml") else "file"
        why = (" (see CL108: without it Flux applies every folder below the root itself)"
               if rel == "kustomization.yaml" else "")
        yield Hit(f"the seed layout needs `{path}` under the GitOps root `{root}`: the {what} is missing{why}",
                  Location(anchor, line), key=f"missing:{path}")


def _anchor(ctx: Context, gitops: Any, folder: str) -> tuple[str, int]:
    """Where a missing layout piece is best explained: the folder's kustomization file; else the `spec.path` of
    the Flux Kustomization that applies the folder; else the nearest kustomization file above it; else the
    bootstrap's gotk-sync.yaml; else the config (never an arbitrary file of the folder)."""
    repo, root = ctx.repo, gitops.root
    found = kfile_in(repo, folder)
    if found:
        return found, 1
    for _cluster, ks in gitops.flux_kustomizations():
        if ks.path == folder and ks.obj.index >= 0 and "path" in ks.obj.spec:
            return ks.obj.path, ks.obj.line_of("spec", "path")
    sync = "flux-system/gotk-sync.yaml" if root == "." else f"{root}/flux-system/gotk-sync.yaml"
    up = folder
    while up not in (".", "") and up != root:
        up = posixpath.dirname(up) or "."
        found = kfile_in(repo, up)
        if found and up != root:
            return found, 1
    if repo.exists(sync):
        return sync, 1
    if repo.exists(gitops.config_anchor()):
        return gitops.config_anchor(), 1
    flux = sorted(repo.files_under("flux-system" if root == "." else f"{root}/flux-system"))
    return (flux[0] if flux else sorted(repo.files_under(root))[0]), 1


# -- CL102 flux-dependency-chain -----------------------------------------------------------


@check("flux-dependency-chain")
def flux_dependency_chain(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    from ..stack.gitops.graph import closest, graph_of, show

    for cluster in gitops.clusters:
        if not cluster.kustomizations:
            continue
        graph = graph_of(cluster)
        if _has_chain(ctx, cluster):
            yield from _chain(ctx, cluster)
        names = sorted({(o.namespace, o.name) for o in cluster.objects if is_flux_ks(o)} |
                       set(cluster.kustomizations), key=lambda k: (k[0] or "", k[1]))
        for dep in graph.missing:
            ks = dep.source
            shown = show(dep.target, ks.obj.namespace)
            loc = Location(ks.obj.path, dep.line)
            key = f"dependsOn:{ks.obj.ident}->{dep.target[0]}/{dep.target[1]}"
            helm = cluster.find("HelmRelease", dep.target[1], dep.target[0])
            if helm is not None and helm.group == HELM_GROUP:
                yield Hit(f"Kustomization {shown_name(ks.obj)} dependsOn `{shown}`, which is a HelmRelease "
                          f"({helm.path}:{helm.line}): a Kustomization's dependsOn names Flux Kustomizations "
                          f"only, so it waits in DependencyNotReady forever; depend on the Kustomization that "
                          f"applies the HelmRelease", loc, key=key)
                continue
            suggestion = closest(shown, [show(n, ks.obj.namespace) for n in names if n != ks.key])
            hint = f"; did you mean `{suggestion}`?" if suggestion and suggestion != shown else ""
            where = "this cluster" if cluster.folder is not None else "the repository"
            yield Hit(f"Kustomization {shown_name(ks.obj)} dependsOn `{shown}`, which is no Flux Kustomization of "
                      f"{where} (namespace `{dep.target[0]}`): Flux waits in DependencyNotReady forever{hint}",
                      loc, key=key)
        for cycle in graph.cycles:
            first = cluster.kustomizations[cycle[0]]
            nxt = cycle[1] if len(cycle) > 1 else cycle[0]
            line = next((d.line for d in graph.edges if d.source is first and d.target == nxt), first.obj.line)
            text = " -> ".join(show(n, first.obj.namespace) for n in cycle + cycle[:1])
            yield Hit(f"dependsOn cycle: {text}: none of these Kustomizations ever becomes Ready (Flux has no cycle "
                      f"detection)", Location(first.obj.path, line), key="cycle:" + text)


def _has_chain(ctx: Context, cluster: Cluster) -> bool:
    """The chain is judged in the seed's cluster (a `flux bootstrap` one under the GitOps root), in every
    cluster when `flux.chain` is configured, and in a cluster that has all the chain's stages."""
    if cluster.folder is None:
        return False
    if cluster.under_root or ctx.config.chain_set:
        return True
    return all(_stage(s) in cluster.kustomizations for s in ctx.config.chain[1:])


def _stage(text: str) -> tuple[str, str]:
    ns, _, name = text.rpartition("/")
    return (ns or "flux-system", name)


def _chain(ctx: Context, cluster: Cluster) -> Iterator[Hit]:
    from ..stack.gitops.graph import deps_of

    chain = [_stage(s) for s in ctx.config.chain]
    arrow = " -> ".join(ctx.config.chain)
    for before, stage in zip(chain, chain[1:], strict=False):
        ks = cluster.kustomizations.get(stage)
        if ks is None:
            anchor = cluster_anchor(ctx, cluster)
            yield Hit(f"the required chain {arrow} has no Flux Kustomization `{stage[0]}/{stage[1]}` in "
                      f"{cluster.named}", Location(anchor, 1), key=f"chain-missing:{cluster.folder}:{stage}")
            continue
        if any(d.target == before for d in deps_of(ks)):
            continue
        spec = ks.obj.spec
        line = ks.obj.line_of("spec", "dependsOn") if "dependsOn" in spec else ks.obj.line_of("metadata", "name")
        shown = before[1] if before[0] == ks.obj.namespace else "/".join(before)
        yield Hit(f"Kustomization {shown_name(ks.obj)} must list `{shown}` in dependsOn (the required chain {arrow}), "
                  f"so it waits until that stage is healthy",
                  Location(ks.obj.path, line), key=f"chain:{stage}")



# -- CL106 flux-watch-scope ----------------------------------------------------------------


@check("flux-watch-scope")
def flux_watch_scope(ctx: Context) -> Iterator[Hit]:
    gitops = tree(ctx)
    if gitops is None:
        return
    from ..stack.gitops.objects import ref_of

    for cluster in gitops.clusters:
        if not cluster.under_root or cluster.implicit:
            continue
        folder = cluster.folder
        sync = f"{folder}/flux-system/gotk-sync.yaml" if folder != "." else "flux-system/gotk-sync.yaml"
        if not ctx.repo.exists(sync):
            continue
        boot = next((o for o in gitops.raw if o.path == sync and is_flux_ks(o)), None)
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
            shown = f"`{shown_ref(ref)}`" if ref else "(none)"
            yield Hit(f"the bootstrap Kustomization's GitRepository {shown} does not exist in gotk-sync.yaml or "
                      f"the cluster", Location(sync, boot.line_of("spec", "sourceRef")), key="source")
