"""`spec.patches` of Flux Kustomizations no cluster reaches (the pseudo-cluster of `gitops.GitOps`).

Home-ops repositories set the defaults of every child Kustomization (interval, retryInterval, timeout, prune,
wait, decryption, HelmRelease defaults) in the parent's `spec.patches`. Without a bootstrap to walk from, the
tree's objects are judged as written; this finds which Flux Kustomization applies which object and gives the
object its parents' patches first, parents before children, so a child's patched-in `spec.patches` reach its
own HelmReleases.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from .names import KS_GROUP
from .objects import obj_of
from .patch import Rendered, apply_flux_patches

if TYPE_CHECKING:
    from .objects import Index, Obj

Key = tuple[str, int]


def _is_flux_ks(obj: Obj) -> bool:
    return obj.kind == "Kustomization" and KS_GROUP in obj.api


def _has_patches(obj: Obj) -> bool:
    patches = obj.spec.get("patches")
    return isinstance(patches, list) and bool(patches)


def leftover_path(gitops: Index, obj: Obj) -> str | None:
    """The folder a Kustomization outside every cluster applies. Its source is not known here: the path is
    relative to the repository (a GitRepository of it) or to the GitOps root (an OCI artifact pushed from it,
    as flux-operator setups do); the first that is a folder inside the GitOps root wins."""
    path = gitops.flux_path(obj)
    if path is None:
        return None
    candidates = [path]
    if gitops.root != ".":
        candidates.append(posixpath.normpath(posixpath.join(gitops.root, path)))
    for folder in candidates:
        if gitops.inside(folder) and gitops.repo.is_dir(folder):
            return folder
    return None


def flux_patched(gitops: Index, judged: list[Obj]) -> dict[Key, Obj]:
    """The judged objects some Flux Kustomization's `spec.patches` change, patched; {} when none has any."""

    by_key = {(o.path, o.index): o for o in judged}
    kss = [o for o in judged if _is_flux_ks(o)]
    if not any(_has_patches(o) for o in kss):
        return {}  # the common case costs one look at each Kustomization
    applies: dict[Key, list[Rendered]] = {}
    for obj in kss:
        folder = leftover_path(gitops, obj)
        if folder is not None:
            applies[(obj.path, obj.index)] = gitops.applied(obj, folder).docs
    ks_keys = {(o.path, o.index) for o in kss}
    children = {k: [(d.path, d.index) for d in docs if (d.path, d.index) in ks_keys and (d.path, d.index) != k]
                for k, docs in applies.items()}
    # Parents before children: a walk from the Kustomizations nothing applies, then the rest (loops) in order.
    applied = {c for cs in children.values() for c in cs}
    order: list[Key] = []
    placed: set[Key] = set()
    queue = [(o.path, o.index) for o in kss if (o.path, o.index) not in applied]
    queue += [(o.path, o.index) for o in kss if (o.path, o.index) in applied]
    while queue:
        key = queue.pop(0)
        if key in placed:
            continue
        placed.add(key)
        order.append(key)
        queue[0:0] = [c for c in children.get(key, []) if c not in placed]
    out: dict[Key, Obj] = {}
    for key in order:
        ks = out.get(key) or by_key[key]
        docs = applies.get(key)
        if not docs or not _has_patches(ks):
            continue
        for before, after in zip(docs, apply_flux_patches(docs, ks.spec), strict=True):
            where = (after.path, after.index)
            if after is before or where == key or where in out or where not in by_key:
                continue  # unchanged, itself, patched by an earlier parent already, or judged elsewhere
            raw = by_key[where]
            out[where] = obj_of(Rendered(after.path, after.index, after.line, after.data, raw.namespace))
    return out
