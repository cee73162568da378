"""Names the Flux model and the Flux checks share, in a module that costs nothing to import.

The model (`gitops.py` and its parts) is imported only when a Flux rule has something to judge: a
one-file commit hook run that stages nothing under the GitOps root never pays for it.
"""

from __future__ import annotations

from typing import Any

KS_GROUP = "kustomize.toolkit.fluxcd.io"
HELM_GROUP = "helm.toolkit.fluxcd.io"
SOURCE_GROUP = "source.toolkit.fluxcd.io"
KS_SOURCES = ("GitRepository", "OCIRepository", "Bucket", "ExternalArtifact")
HELM_SOURCES = ("HelmRepository", "GitRepository", "Bucket")
CHART_REFS = ("OCIRepository", "HelmChart", "ExternalArtifact")
BOOTSTRAP_NS = "flux-system"
KFILE_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
YAML_SUFFIXES = (".yaml", ".yml")


def kfile_in(repo: Any, folder: str) -> str | None:
    for name in KFILE_NAMES:
        path = name if folder in ("", ".") else f"{folder}/{name}"
        if repo.exists(path):
            return path
    return None
