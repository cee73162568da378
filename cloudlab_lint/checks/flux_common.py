"""What the Flux checks share: the model for this run, names as findings show them, Go durations and
semver pins.

Every Flux rule asks the one model in `stack/gitops/tree.py` and judges the whole tree (a Flux graph is only
right or wrong as a whole); a commit hook runs them when a staged file is one their rule files' scope names.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING, Any

from ..stack.gitops.names import KS_GROUP, kfile_in
from . import Context

if TYPE_CHECKING:  # the model is imported when a rule has something to judge (see tree())
    from ..stack.gitops.objects import Cluster, Obj
    from ..stack.gitops.tree import GitOps

_DURATION = re.compile(r"^(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+$")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def tree(ctx: Context) -> GitOps:
    """The model (imported only when a Flux rule runs)."""
    from ..stack.gitops.tree import model

    return model(ctx.repo, ctx.config)


def seconds(value: Any) -> float | None:
    """A Go duration (`1h30m`, `10m0s`) in seconds; None when it is not one."""
    if not isinstance(value, str) or not _DURATION.match(value.strip()):
        return None
    return sum(float(n) * _UNIT[u] for n, u in _DURATION_PART.findall(value))


def is_flux_ks(obj: Obj) -> bool:
    return obj.kind == "Kustomization" and obj.group == KS_GROUP


def shown_name(obj: Obj) -> str:
    if not obj.name:
        return "(without metadata.name)"
    return f"`{obj.name}`" if obj.namespace in (None, "flux-system") else f"`{obj.namespace}/{obj.name}`"


def described(obj: Obj) -> str:
    """`shown_name`, saying where a Kustomization no document defines comes from (a bootstrap creates it)."""
    if obj.index >= 0:
        return shown_name(obj)
    return f"{shown_name(obj)} (the bootstrap's own)"


def shown_ref(ref: Any) -> str:
    return f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name


def is_real(obj: Obj) -> bool:
    """Objects assumed for a placeholder gotk-sync.yaml have no place in a file to point at."""
    return obj.index >= 0


def dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def cluster_anchor(ctx: Context, cluster: Cluster) -> str:
    if cluster.kind is not None and not cluster.is_bootstrap and cluster.anchor and ctx.repo.exists(cluster.anchor):
        return cluster.anchor  # the FluxInstance (or its HelmRelease) that defines the cluster
    folder = cluster.folder or posixpath.normpath(ctx.config.gitops_root)
    flux = f"{folder}/flux-system" if folder != "." else "flux-system"
    found = kfile_in(ctx.repo, flux) or (cluster.bootstrap.obj.path if cluster.bootstrap else None)
    if found and ctx.repo.exists(found):
        return found
    # No bootstrap at all: the first Flux Kustomization explains the cluster best.
    first = sorted(ks.obj.path for ks in cluster.kustomizations.values() if ctx.repo.exists(ks.obj.path))
    return first[0] if first else flux + "/gotk-sync.yaml"


def version_problem(value: Any) -> str | None:
    """Why a chart version or semver constraint is not a pin (a phrase to follow "which"), None when it pins
    (exactly or bounded)."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return "is empty"
    if "${" in text:
        return None  # set by postBuild substitution: judged where the variable is defined, not here
    for alt in text.split("||"):
        alt = alt.strip()
        if alt in ("", "*", "x", "X", "latest"):
            return "matches every version"
        if " - " in alt:
            continue
        ops = re.findall(r"(<=|>=|<|>|~|\^|=)?\s*v?([0-9xX*][0-9A-Za-z.*+-]*)", alt)
        if not ops:
            return "is no semver version or range"
        has_upper = any(op in ("<", "<=", "~", "^", "=") for op, _ in ops)
        has_lower_only = any(op in (">", ">=") for op, _ in ops)
        if has_lower_only and not has_upper:
            return "has no upper bound"
        for op, ver in ops:
            if not op and ver.split(".")[0] in ("x", "X", "*"):
                return "matches every version"
    return None
