"""The Flux model's manifest facts: what they leave out is marked, never an empty value, and reading it fails
loudly with the way to the whole document."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from cloudlab_lint.config import Config
from cloudlab_lint.parsing.yamlx import load_documents
from cloudlab_lint.repo import Repo
from cloudlab_lint.stack.gitops.facts import NotExtracted, Omitted, OmittedMap, facts_of
from cloudlab_lint.stack.gitops.objects import Obj
from cloudlab_lint.stack.gitops.tree import GitOps, model

from .helpers import commit_all, init_repo, write_files

SYNC = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 1m, url: "https://example.invalid/repo", ref: {branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 10m
  path: ./cluster
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
"""
APPS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - {name: web, image: "nginx:1.0"}
"""
RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: cache, namespace: web}
spec:
  interval: 1h
  chart: {spec: {chart: redis, version: 1.2.3, sourceRef: {kind: HelmRepository, name: charts}}}
  values: {image: {tag: 7.4.0}}
"""
PATCH = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: web}\nspec: {replicas: 3}\n"


def build(tmp_path: Path, kustomization: str = "resources: [deployment.yaml, release.yaml]\n") -> GitOps:
    root = init_repo(tmp_path / "repo")
    write_files(root, {"flux-system/gotk-sync.yaml": SYNC, "cluster/apps.yaml": APPS,
                       "apps/deployment.yaml": DEPLOYMENT, "apps/release.yaml": RELEASE,
                       "apps/patch.yaml": PATCH, "apps/kustomization.yaml": kustomization})
    commit_all(root)
    return model(Repo.open(root, is_git=True, paths=None, all_files=True, cwd=root), Config())


def applied(gitops: GitOps, kind: str) -> Obj:
    return next(o for c in gitops.clusters if c.folder is not None for o in c.objects if o.kind == kind)


def test_a_deployments_spec_is_an_explicit_error_never_empty(tmp_path: Path) -> None:
    dep = applied(build(tmp_path), "Deployment")
    assert not dep.whole
    assert dep.data["metadata"]["name"] == "web"  # what names and places it is kept
    with pytest.raises(NotExtracted, match=r"apps/deployment\.yaml: `spec` of Deployment `web`.*repo\.yaml\(path\)"):
        dep.spec.get("template")
    with pytest.raises(NotExtracted, match=r"`spec\.template` of Deployment `web`"):
        dep.data["spec"].get("template")
    with pytest.raises(NotExtracted):
        dep.line_of("spec", "template")
    with pytest.raises(NotExtracted):
        bool(dep.data["spec"])
    with pytest.raises(NotExtracted):
        dict(dep.data["spec"])
    assert dep.data["spec"] != {} and isinstance(dep.data["spec"], Omitted)


def test_a_flux_kustomizations_spec_is_whole(tmp_path: Path) -> None:
    gitops = build(tmp_path)
    ks = next(k.obj for _, k in gitops.flux_kustomizations() if k.obj.name == "apps")
    assert ks.whole
    assert ks.spec["path"] == "./apps" and ks.spec["sourceRef"] == {"kind": "GitRepository", "name": "flux-system"}
    whole = gitops.repo.yaml(ks.path)[ks.index].data
    assert ks.spec == whole["spec"]


def test_a_helmreleases_values_are_explicitly_left_out(tmp_path: Path) -> None:
    release = applied(build(tmp_path), "HelmRelease")
    assert not release.whole
    assert release.spec["chart"]["spec"]["version"] == "1.2.3" and release.spec["interval"] == "1h"
    values = release.spec["values"]
    assert isinstance(values, OmittedMap) and values != {}
    with pytest.raises(NotExtracted, match=r"`spec\.values\.image` of HelmRelease `cache`"):
        values["image"]
    assert release.line_of("spec", "values") == 7  # its place is kept


def test_what_a_patch_writes_into_a_left_out_part_is_readable_the_rest_is_not(tmp_path: Path) -> None:
    dep = applied(build(tmp_path, "resources: [deployment.yaml]\npatches: [{path: patch.yaml}]\n"), "Deployment")
    spec: Any = dep.data["spec"]
    assert spec["replicas"] == 3 and "replicas" in spec
    with pytest.raises(NotExtracted):
        spec["template"]


def test_images_read_the_document_whole_with_the_patches_over_it(tmp_path: Path) -> None:
    kustomization = ("resources: [deployment.yaml]\npatches: [{path: patch.yaml}]\n"
                     "images: [{name: nginx, newTag: '2.0'}]\n")
    gitops = build(tmp_path, kustomization)
    dep = applied(gitops, "Deployment")
    assert dep.whole
    assert dep.spec["replicas"] == 3
    assert dep.spec["template"]["spec"]["containers"][0]["image"] == "nginx:2.0"


def test_the_facts_pickle_the_same_and_ignore_edits_to_what_they_leave_out() -> None:
    def digest(text: str) -> bytes:
        return pickle.dumps(facts_of(load_documents(text), "a.yaml"), protocol=pickle.HIGHEST_PROTOCOL)

    assert digest(DEPLOYMENT) == digest(DEPLOYMENT)
    assert digest(DEPLOYMENT) == digest(DEPLOYMENT.replace("nginx:1.0", "nginx:1.1"))
    assert digest(RELEASE) == digest(RELEASE.replace("7.4.0", "7.5.0"))
    assert digest(DEPLOYMENT) != digest(DEPLOYMENT.replace("name: web,", "name: api,"))
