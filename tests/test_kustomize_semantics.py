"""The model's kustomize, case by case: what a small tree emits as (kind, namespace, name).

Each expected set is a fact of kustomize's own behaviour, as kubernetes-sigs/kustomize pins it in its tests
(`api/krusty/namespaces_test.go`, `namespacepropagation_test.go`, `component_test.go`, the namespace filter
`api/filters/namespace`, the prefix skip list of `api/internal/builtins/PrefixTransformer.go`, the transformer
order of `api/internal/target/kusttarget_configplugin.go`, the loader's cycle detection in
`api/internal/loader/fileloader_test.go`), or of kustomize-controller's for what Flux adds (targetNamespace,
namePrefix/nameSuffix, postBuild substitution, its generated kustomization). The trees are our own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloudlab_lint.config import Config
from cloudlab_lint.repo import Repo
from cloudlab_lint.stack.gitops.flux import flux_rendered
from cloudlab_lint.stack.gitops.tree import model

from .helpers import commit_all, init_repo, write_files

K = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
C = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"


def cm(name: str, ns: str | None = None, labels: dict[str, str] | None = None) -> str:
    meta = f"  name: {name}\n" + (f"  namespace: {ns}\n" if ns else "")
    if labels:
        meta += "  labels:\n" + "".join(f"    {k}: {v}\n" for k, v in labels.items())
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n{meta}data: {{k: v}}\n"


def obj(api: str, kind: str, name: str, ns: str | None = None) -> str:
    return f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n" + (f"  namespace: {ns}\n" if ns else "")


def replace(target: str, path: str, value: str) -> str:
    """A `patches:` block with one inline JSON 6902 replace through `target` (a flow mapping)."""
    return (f"patches:\n  - target: {target}\n    patch: |-\n      - op: replace\n        path: {path}\n"
            f"        value: {value}\n")


def rep(source: str, select: str, paths: str | None = None, options: str | None = None) -> str:
    """A `replacements:` block with one inline entry (flow mappings for the selectors)."""
    out = f"replacements:\n  - source: {source}\n    targets:\n    - select: {select}\n"
    if paths:
        out += f"      fieldPaths: {paths}\n"
    if options:
        out += f"      options: {options}\n"
    return out


Tree = dict[str, str]
Ids = set[tuple[str, str | None, str]]

# (id, files, folder built, expected (kind, namespace, name) set)
CASES: list[tuple[str, Tree, str, Ids]] = [
    # -- the namespace transformer ----------------------------------------------------------------------
    ("namespace-sets-a-missing-one", {"a/kustomization.yaml": K + "namespace: apps\nresources: [cm.yaml]\n",
                                      "a/cm.yaml": cm("c")}, "a", {("ConfigMap", "apps", "c")}),
    ("namespace-overrides-an-explicit-one", {"a/kustomization.yaml": K + "namespace: apps\nresources: [cm.yaml]\n",
                                             "a/cm.yaml": cm("c", "other")}, "a", {("ConfigMap", "apps", "c")}),
    ("no-namespace-keeps-the-written-one", {"a/kustomization.yaml": K + "resources: [cm.yaml]\n",
                                            "a/cm.yaml": cm("c", "mine")}, "a", {("ConfigMap", "mine", "c")}),
    ("overlay-namespace-reaches-the-base", {
        "base/kustomization.yaml": K + "resources: [d.yaml]\n", "base/d.yaml": obj("apps/v1", "Deployment", "my-app"),
        "overlay/kustomization.yaml": K + "resources: [../base]\nnamespace: production\n"},
     "overlay", {("Deployment", "production", "my-app")}),
    ("outer-namespace-wins-over-the-inner", {
        "base/kustomization.yaml": K + "namespace: inner\nresources: [cm.yaml]\n", "base/cm.yaml": cm("c"),
        "top/kustomization.yaml": K + "namespace: outer\nresources: [../base]\n"},
     "top", {("ConfigMap", "outer", "c")}),
    ("inner-namespace-kept-when-the-outer-sets-none", {
        "base/kustomization.yaml": K + "namespace: inner\nresources: [cm.yaml]\n", "base/cm.yaml": cm("c"),
        "top/kustomization.yaml": K + "resources: [../base]\n"}, "top", {("ConfigMap", "inner", "c")}),
    ("three-levels-prefixes-and-namespace", {
        "base/kustomization.yaml": K + "resources: [cm.yaml]\n", "base/cm.yaml": cm("base-config"),
        "mid/kustomization.yaml": K + "resources: [../base]\nnamePrefix: mid-\n",
        "overlay/kustomization.yaml": K + "resources: [../mid]\nnamespace: top-ns\nnamePrefix: top-\n"},
     "overlay", {("ConfigMap", "top-ns", "top-mid-base-config")}),
    ("cluster-role-untouched", {"a/kustomization.yaml": K + "namespace: apps\nresources: [r.yaml]\n",
                                "a/r.yaml": obj("rbac.authorization.k8s.io/v1", "ClusterRole", "r")},
     "a", {("ClusterRole", None, "r")}),
    ("cluster-role-binding-prefixed-not-namespaced", {
        "kustomization.yaml": K + "namePrefix: iter8-\nnamespace: iter8-monitoring\nresources: [crb.yaml, sa.yaml]\n",
        "crb.yaml": obj("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding", "prometheus"),
        "sa.yaml": obj("v1", "ServiceAccount", "prometheus")},
     ".", {("ClusterRoleBinding", None, "iter8-prometheus"),
           ("ServiceAccount", "iter8-monitoring", "iter8-prometheus")}),
    ("admission-policies-not-namespaced", {
        "kustomization.yaml": K + "namespace: my-namespace\nresources: [r.yaml]\n",
        "r.yaml": obj("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "example-vap") + "---\n" +
        obj("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", "example-vapb")},
     ".", {("ValidatingAdmissionPolicy", None, "example-vap"),
           ("ValidatingAdmissionPolicyBinding", None, "example-vapb")}),
    ("crd-untouched", {"a/kustomization.yaml": K + "namespace: apps\nresources: [crd.yaml]\n",
                       "a/crd.yaml": obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "x.example.com")},
     "a", {("CustomResourceDefinition", None, "x.example.com")}),
    ("unknown-kind-namespaced", {"a/kustomization.yaml": K + "namespace: apps\nresources: [hr.yaml]\n",
                                 "a/hr.yaml": obj("helm.toolkit.fluxcd.io/v2", "HelmRelease", "h", "flux-system")},
     "a", {("HelmRelease", "apps", "h")}),
    ("custom-cluster-kind-namespaced-as-unknown", {
        "a/kustomization.yaml": K + "namespace: apps\nresources: [ci.yaml]\n",
        "a/ci.yaml": obj("cert-manager.io/v1", "ClusterIssuer", "letsencrypt")},
     "a", {("ClusterIssuer", "apps", "letsencrypt")}),
    ("core-namespace-renamed", {"a/kustomization.yaml": K + "namespace: apps\nresources: [ns.yaml, cm.yaml]\n",
                                "a/ns.yaml": obj("v1", "Namespace", "placeholder"), "a/cm.yaml": cm("c")},
     "a", {("Namespace", None, "apps"), ("ConfigMap", "apps", "c")}),
    ("non-core-namespace-kind-not-renamed", {
        "kustomization.yaml": K + "namespace: podinfo\nresources: [sb.yaml]\n",
        "sb.yaml": obj("servicebus.azure.com/v1beta20210101preview", "Namespace", "core-sb-99", "without-podinfo")},
     ".", {("Namespace", "podinfo", "core-sb-99")}),
    ("namespace-object-of-the-same-name-kept", {"a/kustomization.yaml": K + "namespace: apps\nresources: [ns.yaml]\n",
                                                "a/ns.yaml": obj("v1", "Namespace", "apps")},
     "a", {("Namespace", None, "apps")}),
    ("persistent-volume-untouched-claim-namespaced", {
        "a/kustomization.yaml": K + "namespace: apps\nresources: [pv.yaml]\n",
        "a/pv.yaml": obj("v1", "PersistentVolume", "pv") + "---\n" + obj("v1", "PersistentVolumeClaim", "pvc")},
     "a", {("PersistentVolume", None, "pv"), ("PersistentVolumeClaim", "apps", "pvc")}),
    ("storage-class-untouched", {"a/kustomization.yaml": K + "namespace: apps\nresources: [sc.yaml]\n",
                                 "a/sc.yaml": obj("storage.k8s.io/v1", "StorageClass", "fast")},
     "a", {("StorageClass", None, "fast")}),
    ("namespace-reaches-a-component", {
        "app/kustomization.yaml": K + "namespace: apps\nresources: [cm.yaml]\ncomponents: [../comp]\n",
        "app/cm.yaml": cm("c"), "comp/kustomization.yaml": C + "resources: [extra.yaml]\n",
        "comp/extra.yaml": cm("extra", "elsewhere")},
     "app", {("ConfigMap", "apps", "c"), ("ConfigMap", "apps", "extra")}),
    # -- names ------------------------------------------------------------------------------------------
    ("name-prefix", {"kustomization.yaml": K + "namePrefix: p-\nresources: [cm.yaml]\n", "cm.yaml": cm("c")},
     ".", {("ConfigMap", None, "p-c")}),
    ("name-suffix", {"kustomization.yaml": K + "nameSuffix: -s\nresources: [cm.yaml]\n", "cm.yaml": cm("c")},
     ".", {("ConfigMap", None, "c-s")}),
    ("prefix-and-suffix", {"kustomization.yaml": K + "namePrefix: p-\nnameSuffix: -s\nresources: [cm.yaml]\n",
                           "cm.yaml": cm("c")}, ".", {("ConfigMap", None, "p-c-s")}),
    ("prefix-skips-namespace-objects", {"kustomization.yaml": K + "namePrefix: p-\nresources: [ns.yaml]\n",
                                        "ns.yaml": obj("v1", "Namespace", "team")}, ".", {("Namespace", None, "team")}),
    ("prefix-skips-crds", {"kustomization.yaml": K + "namePrefix: p-\nresources: [crd.yaml]\n",
                           "crd.yaml": obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "x.example.com")},
     ".", {("CustomResourceDefinition", None, "x.example.com")}),
    ("nested-prefixes-outer-first", {
        "base/kustomization.yaml": K + "namePrefix: in-\nresources: [cm.yaml]\n", "base/cm.yaml": cm("c"),
        "top/kustomization.yaml": K + "namePrefix: out-\nresources: [../base]\n"},
     "top", {("ConfigMap", None, "out-in-c")}),
    # -- patches ----------------------------------------------------------------------------------------
    ("json6902-patch-renames", {
        "kustomization.yaml": K + "resources: [cm.yaml]\n" + replace("{kind: ConfigMap, name: c}", "/metadata/name",
                                                                       "renamed"),
        "cm.yaml": cm("c")}, ".", {("ConfigMap", None, "renamed")}),
    ("patch-target-name-is-a-regex", {
        "kustomization.yaml": K + "resources: [cm.yaml]\n" + replace("{kind: ConfigMap, name: 'a.*'}",
                                                                       "/metadata/namespace", "x"),
        "cm.yaml": cm("ab") + "---\n" + cm("ba")}, ".", {("ConfigMap", "x", "ab"), ("ConfigMap", None, "ba")}),
    ("patch-target-label-selector", {
        "kustomization.yaml": K + "resources: [cm.yaml]\n" + replace("{labelSelector: 'tier=db'}",
                                                                       "/metadata/namespace", "db"),
        "cm.yaml": cm("one", labels={"tier": "db"}) + "---\n" + cm("two", labels={"tier": "web"})},
     ".", {("ConfigMap", "db", "one"), ("ConfigMap", None, "two")}),
    ("patches-run-before-the-namespace-transformer", {
        "kustomization.yaml": K + "namespace: b\nresources: [cm.yaml]\npatches:\n"
                                  "  - target: {kind: ConfigMap, namespace: a}\n    patch: |-\n"
                                  "      - op: replace\n        path: /metadata/name\n        value: patched\n",
        "cm.yaml": cm("c", "a")}, ".", {("ConfigMap", "b", "patched")}),
    ("strategic-merge-patch-file-by-name", {
        "kustomization.yaml": K + "resources: [cm.yaml]\npatches:\n  - path: p.yaml\n",
        "cm.yaml": cm("c"), "p.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: {a: b}\n"},
     ".", {("ConfigMap", None, "c")}),
    # -- components -------------------------------------------------------------------------------------
    ("component-adds-resources", {
        "app/kustomization.yaml": K + "resources: [cm.yaml]\ncomponents: [../comp]\n", "app/cm.yaml": cm("c"),
        "comp/kustomization.yaml": C + "resources: [extra.yaml]\n", "comp/extra.yaml": cm("extra")},
     "app", {("ConfigMap", None, "c"), ("ConfigMap", None, "extra")}),
    ("component-patch-reaches-the-parent", {
        "app/kustomization.yaml": K + "resources: [cm.yaml]\ncomponents: [../comp]\n", "app/cm.yaml": cm("c"),
        "comp/kustomization.yaml": C + "patches:\n  - target: {kind: ConfigMap}\n    patch: |-\n"
                                       "      - op: replace\n        path: /metadata/namespace\n        value: comp\n"},
     "app", {("ConfigMap", "comp", "c")}),
    ("component-patch-reaches-its-own-resources", {
        "app/kustomization.yaml": K + "resources: [cm.yaml]\ncomponents: [../comp]\n", "app/cm.yaml": cm("c"),
        "comp/kustomization.yaml": C + "resources: [extra.yaml]\npatches:\n  - target: {kind: ConfigMap}\n"
                                       "    patch: |-\n      - op: replace\n        path: /metadata/namespace\n"
                                       "        value: comp\n", "comp/extra.yaml": cm("extra")},
     "app", {("ConfigMap", "comp", "c"), ("ConfigMap", "comp", "extra")}),
    ("component-name-prefix-renames-the-parent", {
        "app/kustomization.yaml": K + "resources: [cm.yaml]\ncomponents: [../comp]\n", "app/cm.yaml": cm("storefront"),
        "comp/kustomization.yaml": C + "namePrefix: comp-\n"}, "app", {("ConfigMap", None, "comp-storefront")}),
    # -- labels -----------------------------------------------------------------------------------------
    ("common-labels-reach-an-overlay-selector", {
        "base/kustomization.yaml": K + "commonLabels: {tier: db}\nresources: [cm.yaml]\n", "base/cm.yaml": cm("c"),
        "top/kustomization.yaml": K + "resources: [../base]\n" + replace("{labelSelector: tier=db}", "/metadata/name",
                                                                           "db")},
     "top", {("ConfigMap", None, "db")}),
    ("labels-pairs-reach-an-overlay-selector", {
        "base/kustomization.yaml": K + "labels:\n  - pairs: {tier: web}\nresources: [cm.yaml]\n",
        "base/cm.yaml": cm("c"),
        "top/kustomization.yaml": K + "resources: [../base]\n" + replace("{labelSelector: tier=web}", "/metadata/name",
                                                                           "web")},
     "top", {("ConfigMap", None, "web")}),
    # -- what a build reads -----------------------------------------------------------------------------
    ("multi-document-file", {"kustomization.yaml": K + "resources: [two.yaml]\n",
                             "two.yaml": cm("a") + "---\n" + cm("b")},
     ".", {("ConfigMap", None, "a"), ("ConfigMap", None, "b")}),
    ("remote-resource-not-followed", {
        "kustomization.yaml": K + "resources: [cm.yaml, 'https://github.com/example/repo//deploy?ref=v1']\n",
        "cm.yaml": cm("c")}, ".", {("ConfigMap", None, "c")}),
    ("flux-generated-kustomization-takes-every-manifest", {"a/one.yaml": cm("one"), "a/sub/two.yaml": cm("two"),
                                                           "a/notes.yaml": "just: data\n"},
     "a", {("ConfigMap", None, "one"), ("ConfigMap", None, "two")}),
    ("flux-generated-kustomization-takes-a-kustomized-folder-whole", {
        "a/one.yaml": cm("one"), "a/sub/kustomization.yaml": K + "namespace: sub\nresources: [two.yaml]\n",
        "a/sub/two.yaml": cm("two"), "a/sub/unlisted.yaml": cm("unlisted")},
     "a", {("ConfigMap", None, "one"), ("ConfigMap", "sub", "two")}),
    # -- replacements (api/krusty/replacements_test.go, api/filters/replacement) ------------------------------
    ("replacement-default-field-path-is-the-name", {
        "kustomization.yaml": K + "resources: [r.yaml]\n" + rep("{kind: Secret}", "{kind: ConfigMap}"),
        "r.yaml": obj("v1", "Secret", "real") + "---\n" + cm("placeholder")},
     ".", {("Secret", None, "real"), ("ConfigMap", None, "real")}),
    ("replacement-data-field-to-namespace", {
        "kustomization.yaml": K + "resources: [r.yaml]\n" + rep(
            "{kind: ConfigMap, name: env, fieldPath: data.ns}", "{kind: Deployment}", "[metadata.namespace]"),
        "r.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: env}\ndata: {ns: prod}\n---\n" +
        obj("apps/v1", "Deployment", "d", "dev")},
     ".", {("ConfigMap", None, "env"), ("Deployment", "prod", "d")}),
    ("replacement-source-delimiter-and-index", {
        "kustomization.yaml": K + "resources: [r.yaml]\n" + rep(
            "{kind: Secret, options: {delimiter: '-', index: 1}}", "{kind: ConfigMap}"),
        "r.yaml": obj("v1", "Secret", "a-b-c") + "---\n" + cm("x")},
     ".", {("Secret", None, "a-b-c"), ("ConfigMap", None, "b")}),
    ("replacement-target-delimiter-replaces-one-part", {
        "kustomization.yaml": K + "resources: [r.yaml]\n" + rep(
            "{kind: Secret}", "{kind: ConfigMap}", "[metadata.name]", "{delimiter: '.', index: 1}"),
        "r.yaml": obj("v1", "Secret", "new") + "---\n" + cm("a.old.c")},
     ".", {("Secret", None, "new"), ("ConfigMap", None, "a.new.c")}),
    ("replacement-target-index-past-the-end-appends", {
        "kustomization.yaml": K + "resources: [r.yaml]\n" + rep(
            "{kind: Secret}", "{kind: ConfigMap}", "[metadata.name]", "{delimiter: '-', index: 5}"),
        "r.yaml": obj("v1", "Secret", "z") + "---\n" + cm("a-b")},
     ".", {("Secret", None, "z"), ("ConfigMap", None, "a-b-z")}),
    ("replacement-target-negative-index-prefixes", {
        "kustomization.yaml": K + "resources: [r.yaml]\n" + rep(
            "{kind: Secret}", "{kind: ConfigMap}", "[metadata.name]", "{delimiter: '-', index: -1}"),
        "r.yaml": obj("v1", "Secret", "z") + "---\n" + cm("a-b")},
     ".", {("Secret", None, "z"), ("ConfigMap", None, "z-a-b")}),
    ("replacement-reject-leaves-a-target-alone", {
        "kustomization.yaml": K + "resources: [r.yaml]\n" + rep(
            "{kind: Secret}", "{kind: ConfigMap}\n      reject: [{name: keep}]"),
        "r.yaml": obj("v1", "Secret", "s") + "---\n" + cm("keep") + "---\n" + cm("change")},
     ".", {("Secret", None, "s"), ("ConfigMap", None, "keep"), ("ConfigMap", None, "s")}),
    ("replacement-from-a-path-file", {
        "kustomization.yaml": K + "resources: [r.yaml]\nreplacements:\n  - path: rep.yaml\n",
        "rep.yaml": "source: {kind: Secret}\ntargets:\n  - select: {kind: ConfigMap}\n",
        "r.yaml": obj("v1", "Secret", "from-file") + "---\n" + cm("c")},
     ".", {("Secret", None, "from-file"), ("ConfigMap", None, "from-file")}),
    ("replacement-runs-after-the-namespace-transformer", {
        "kustomization.yaml": K + "namespace: apps\nresources: [r.yaml]\n" + rep(
            "{kind: Secret, namespace: apps, fieldPath: metadata.namespace}", "{kind: ConfigMap}"),
        "r.yaml": obj("v1", "Secret", "s", "other") + "---\n" + cm("c")},
     ".", {("Secret", "apps", "s"), ("ConfigMap", "apps", "apps")}),
    ("replacement-runs-after-the-name-prefix", {
        "kustomization.yaml": K + "namePrefix: p-\nresources: [r.yaml]\n" + rep("{kind: Secret}", "{kind: ConfigMap}"),
        "r.yaml": obj("v1", "Secret", "s") + "---\n" + cm("c")},
     ".", {("Secret", None, "p-s"), ("ConfigMap", None, "p-s")}),
    ("replacement-in-an-overlay-reaches-the-base", {
        "base/kustomization.yaml": K + "resources: [cm.yaml]\n", "base/cm.yaml": cm("base"),
        "overlay/kustomization.yaml": K + "resources: [../base, s.yaml]\n" + rep("{kind: Secret}", "{kind: ConfigMap}"),
        "overlay/s.yaml": obj("v1", "Secret", "from-overlay")},
     "overlay", {("ConfigMap", None, "from-overlay"), ("Secret", None, "from-overlay")}),
    ("replacement-selects-by-group-and-version", {
        "kustomization.yaml": K + "resources: [r.yaml]\n" + rep(
            "{kind: Secret}", "{group: apps, version: v1, kind: Deployment}"),
        "r.yaml": obj("v1", "Secret", "s") + "---\n" + obj("apps/v1", "Deployment", "d") + "---\n" +
        obj("example.com/v1", "Deployment", "other")},
     ".", {("Secret", None, "s"), ("Deployment", None, "s"), ("Deployment", None, "other")}),
    ("replacement-with-a-missing-source-changes-nothing", {
        "kustomization.yaml": K + "resources: [r.yaml]\n" + rep("{kind: Secret, name: nope}", "{kind: ConfigMap}"),
        "r.yaml": cm("c")},
     ".", {("ConfigMap", None, "c")}),
    ("replacement-create-sets-a-missing-namespace", {
        "kustomization.yaml": K + "resources: [r.yaml]\n" + rep(
            "{kind: Secret, fieldPath: metadata.namespace}", "{kind: ConfigMap}", "[metadata.namespace]",
            "{create: true}"),
        "r.yaml": obj("v1", "Secret", "s", "made") + "---\n" + cm("c")},
     ".", {("Secret", "made", "s"), ("ConfigMap", "made", "c")}),
]


def _repo(files: Tree, tmp_path: Path) -> Repo:
    root = init_repo(tmp_path / "repo")
    write_files(root, files)
    commit_all(root)
    return Repo.open(root, is_git=True, paths=None, all_files=True, cwd=root)


def _ids(docs: Any) -> Ids:
    out = set()
    for d in docs:
        meta = d.data.get("metadata") or {}
        out.add((d.data.get("kind"), d.namespace, meta.get("name")))
    return out


@pytest.mark.parametrize("files,folder,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_kustomize_build_emits(files: Tree, folder: str, expected: Ids, tmp_path: Path) -> None:
    gitops = model(_repo(files, tmp_path), Config())
    assert _ids(gitops.builder.build(folder).docs) == expected


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) + len(FLUX_CASES) + 2 >= 40


# -- a resources cycle -----------------------------------------------------------------------------------


def test_a_resources_cycle_ends_and_is_recorded(tmp_path: Path) -> None:
    files = {"a/kustomization.yaml": K + "resources: [../b, cm.yaml]\n", "a/cm.yaml": cm("a"),
             "b/kustomization.yaml": K + "resources: [../a]\n"}
    gitops = model(_repo(files, tmp_path), Config())
    assert _ids(gitops.builder.build("a").docs) == {("ConfigMap", None, "a")}
    assert list(gitops.builder.cycles) == [("a", "b")]


def test_a_three_folder_cycle_is_one_loop(tmp_path: Path) -> None:
    files = {"a/kustomization.yaml": K + "resources: [../b]\n", "b/kustomization.yaml": K + "resources: [../c]\n",
             "c/kustomization.yaml": K + "resources: [../a]\n"}
    gitops = model(_repo(files, tmp_path), Config())
    for folder in ("a", "b", "c"):
        gitops.builder.build(folder)
    assert list(gitops.builder.cycles) == [("a", "b", "c")]


# -- what Flux adds ----------------------------------------------------------------------------------------

FLUX_CASES: list[tuple[str, Tree, dict[str, Any], Ids]] = [
    ("target-namespace-overrides", {"app/kustomization.yaml": K + "namespace: a\nresources: [cm.yaml]\n",
                                    "app/cm.yaml": cm("c")}, {"targetNamespace": "t"}, {("ConfigMap", "t", "c")}),
    ("target-namespace-leaves-cluster-kinds", {"app/r.yaml": obj("rbac.authorization.k8s.io/v1", "ClusterRole", "r")},
     {"targetNamespace": "t"}, {("ClusterRole", None, "r")}),
    ("flux-name-prefix-and-suffix", {"app/cm.yaml": cm("c")}, {"namePrefix": "p-", "nameSuffix": "-s"},
     {("ConfigMap", None, "p-c-s")}),
    ("postbuild-substitute-resolves-a-name", {"app/cm.yaml": cm("${APP}-config")},
     {"postBuild": {"substitute": {"APP": "web"}}}, {("ConfigMap", None, "web-config")}),
    ("postbuild-default-when-unset", {"app/cm.yaml": cm("${APP:=fallback}")}, {"postBuild": {"substitute": {}}},
     {("ConfigMap", None, "fallback")}),
    ("postbuild-unknown-stays-opaque", {"app/cm.yaml": cm("${APP}")}, {"postBuild": {"substituteFrom": [
        {"kind": "Secret", "name": "vars"}]}}, {("ConfigMap", None, "${APP}")}),
    ("postbuild-from-a-configmap-in-the-repository", {
        "app/cm.yaml": cm("${APP}"), "vars/vars.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vars\n"
                                                       "data:\n  APP: from-repo\n"},
     {"postBuild": {"substituteFrom": [{"kind": "ConfigMap", "name": "vars"}]}}, {("ConfigMap", None, "from-repo")}),
    ("resourceset-inline-inputs", {"app/rs.yaml": (
        "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata:\n  name: rs\n  namespace: flux-system\n"
        "spec:\n  inputs:\n    - {tenant: a}\n    - {tenant: b}\n  resources:\n"
        "    - apiVersion: v1\n      kind: ConfigMap\n      metadata:\n        name: << inputs.tenant >>-cm\n"
        "        namespace: flux-system\n")}, {},
     {("ResourceSet", "flux-system", "rs"), ("ConfigMap", "flux-system", "a-cm"),
      ("ConfigMap", "flux-system", "b-cm")}),
    ("resourceset-inputs-from-outside-not-modelled", {"app/rs.yaml": (
        "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata:\n  name: rs\n  namespace: flux-system\n"
        "spec:\n  inputsFrom:\n    - kind: ResourceSetInputProvider\n      name: prs\n  resources:\n"
        "    - apiVersion: v1\n      kind: ConfigMap\n      metadata:\n        name: << inputs.id >>\n")}, {},
     {("ResourceSet", "flux-system", "rs")}),
]


@pytest.mark.parametrize("files,spec,expected", [c[1:] for c in FLUX_CASES], ids=[c[0] for c in FLUX_CASES])
def test_flux_kustomization_applies(files: Tree, spec: dict[str, Any], expected: Ids, tmp_path: Path) -> None:
    gitops = model(_repo(files, tmp_path), Config())
    assert _ids(flux_rendered(gitops, gitops.builder.build("app").docs, spec)) == expected


def test_objects_no_cluster_renders_get_kustomize_namespaces(tmp_path: Path) -> None:
    # No bootstrap: the raw objects still take the outermost kustomization's namespace, through a folder entry,
    # over an explicit one (false CL102 "did you mean X" naming X itself came from the written namespace).
    files = {"kubernetes/apps/kustomization.yaml": K + "namespace: media\nresources: [./app]\n",
             "kubernetes/apps/app/kustomization.yaml": K + "resources: [hr.yaml]\n",
             "kubernetes/apps/app/hr.yaml": obj("helm.toolkit.fluxcd.io/v2", "HelmRelease", "h", "default")}
    gitops = model(_repo(files, tmp_path), Config())
    assert [(o.kind, o.namespace) for o in gitops.raw] == [("HelmRelease", "media")]


# -- what Flux leaves out ----------------------------------------------------------------------------------

GOTK = "# placeholder: what flux bootstrap writes is assumed\n"


def _applied(files: Tree, tmp_path: Path) -> Ids:
    gitops = model(_repo(files, tmp_path), Config(gitops_root="clusters"))
    return {(o.kind, o.namespace, o.name) for c in gitops.clusters if c.folder for o in c.objects if o.index >= 0}


def test_sourceignore_leaves_files_out_of_what_a_cluster_applies(tmp_path: Path) -> None:
    files = {"clusters/home/flux-system/gotk-sync.yaml": GOTK, "clusters/home/a.yaml": cm("kept"),
             "clusters/home/skip/b.yaml": cm("skipped"), "clusters/home/skip/keep.yaml": cm("reincluded"),
             ".sourceignore": "/clusters/home/skip/\n!/clusters/home/skip/keep.yaml\n"}
    assert _applied(files, tmp_path) == {("ConfigMap", None, "kept"), ("ConfigMap", None, "reincluded")}


def test_a_kustomizations_own_ignore(tmp_path: Path) -> None:
    ks = ("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n"
          "  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./apps\n  prune: true\n"
          "  sourceRef: {kind: GitRepository, name: flux-system}\n  ignore: |\n    *.draft.yaml\n")
    files = {"clusters/home/flux-system/gotk-sync.yaml": GOTK, "clusters/home/apps.yaml": ks,
             "apps/a.yaml": cm("a"), "apps/b.draft.yaml": cm("draft")}
    assert ("ConfigMap", None, "draft") not in _applied(files, tmp_path)
    assert ("ConfigMap", None, "a") in _applied(files, tmp_path / "again")


def test_postbuild_values_come_from_the_clusters_own_configmap(tmp_path: Path) -> None:
    # Two clusters each define `cluster-settings`: each Kustomization takes its own cluster's value.
    settings = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-settings\n  namespace: flux-system\n"
                "data:\n  CLUSTER: {name}\n")
    ks = ("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n"
          "  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./apps\n  prune: true\n"
          "  sourceRef: {kind: GitRepository, name: flux-system}\n  postBuild:\n    substituteFrom:\n"
          "      - {kind: ConfigMap, name: cluster-settings}\n")
    files = {"apps/cm.yaml": cm("${CLUSTER}-config")}
    for name in ("one", "two"):
        files |= {f"clusters/{name}/flux-system/gotk-sync.yaml": GOTK, f"clusters/{name}/apps.yaml": ks,
                  f"clusters/{name}/settings.yaml": settings.format(name=name)}
    gitops = model(_repo(files, tmp_path), Config(gitops_root="clusters"))
    got = {c.folder: {o.name for o in c.objects if o.path == "apps/cm.yaml"} for c in gitops.clusters if c.folder}
    assert got == {"clusters/one": {"one-config"}, "clusters/two": {"two-config"}}


# -- replacements: what the rules read, and kustomize's failure ----------------------------------------------


def test_a_replacement_with_no_source_is_recorded_as_kustomize_fails(tmp_path: Path) -> None:
    files = {"kustomization.yaml": K + "resources: [r.yaml]\n" + rep("{kind: Secret, name: nope}", "{kind: ConfigMap}"),
             "r.yaml": cm("c")}
    gitops = model(_repo(files, tmp_path), Config())
    gitops.builder.build(".")
    assert list(gitops.builder.replace_errors.items()) == [
        (("kustomization.yaml", 5), "found no matches for source Secret/nope")]


def test_replacements_write_flux_fields_with_list_matching(tmp_path: Path) -> None:
    # a Flux Kustomization's dependsOn entry picked by [name=...], its sourceRef and a HelmRelease's chart
    ks = ("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps}\nspec:\n"
          "  path: ./old\n  sourceRef: {kind: GitRepository, name: old}\n"
          "  dependsOn: [{name: placeholder}, {name: x}]\n")
    hr = ("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: h}\nspec:\n  chart:\n"
          "    spec: {chart: old, sourceRef: {kind: HelmRepository, name: old}}\n")
    src = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: env}\n"
           "data: {infra: infrastructure, repo: main, chart: web}\n")
    files = {"kustomization.yaml": K + "resources: [r.yaml]\nreplacements:\n"
             "  - source: {kind: ConfigMap, fieldPath: data.infra}\n    targets:\n"
             "      - select: {kind: Kustomization}\n        fieldPaths: ['spec.dependsOn.[name=placeholder].name']\n"
             "  - source: {kind: ConfigMap, fieldPath: data.repo}\n    targets:\n"
             "      - select: {kind: Kustomization}\n        fieldPaths: [spec.sourceRef.name]\n"
             "      - select: {kind: HelmRelease}\n        fieldPaths: [spec.chart.spec.sourceRef.name]\n"
             "  - source: {kind: ConfigMap, fieldPath: data.chart}\n    targets:\n"
             "      - select: {kind: HelmRelease}\n        fieldPaths: [spec.chart.spec.chart]\n"
             "      - select: {kind: Kustomization}\n        fieldPaths: [spec.path]\n"
             "        options: {delimiter: /, index: 1}\n",
             "r.yaml": src + "---\n" + ks + "---\n" + hr}
    gitops = model(_repo(files, tmp_path), Config())
    docs = {d.data["kind"]: d.data for d in gitops.builder.build(".").docs}
    assert docs["Kustomization"]["spec"]["dependsOn"] == [{"name": "infrastructure"}, {"name": "x"}]
    assert docs["Kustomization"]["spec"]["sourceRef"]["name"] == "main"
    assert docs["Kustomization"]["spec"]["path"] == "./web"
    assert docs["HelmRelease"]["spec"]["chart"]["spec"] == {"chart": "web",
                                                            "sourceRef": {"kind": "HelmRepository", "name": "main"}}


def test_a_wildcard_field_path_reaches_every_item(tmp_path: Path) -> None:
    dep = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n"
           "      containers:\n        - {name: a, image: a:1, env: [{name: HOST, value: x}]}\n"
           "        - {name: b, image: b:1, env: [{name: HOST, value: y}]}\n")
    files = {"kustomization.yaml": K + "resources: [r.yaml]\n" + rep(
        "{kind: Service}", "{kind: Deployment}", "['spec.template.spec.containers.*.env.[name=HOST].value']"),
        "r.yaml": obj("v1", "Service", "svc") + "---\n" + dep}
    gitops = model(_repo(files, tmp_path), Config())
    dep_doc = next(d for d in gitops.builder.build(".").docs if d.data["kind"] == "Deployment")
    containers = dep_doc.data["spec"]["template"]["spec"]["containers"]
    assert [c["env"][0]["value"] for c in containers] == ["svc", "svc"]


# -- images (api/krusty/images_test.go, api/filters/imagetag) -----------------------------------------------------

IMAGE_CASES: list[tuple[str, str, str, str]] = [
    # (id, the `images` entry, image written, image built)
    ("new-tag", "{name: nginx, newTag: '1.25'}", "nginx:1.19", "nginx:1.25"),
    ("new-tag-on-an-untagged-image", "{name: nginx, newTag: '1.25'}", "nginx", "nginx:1.25"),
    ("new-name-keeps-the-tag", "{name: nginx, newName: registry.example.com/nginx}", "nginx:1.19",
     "registry.example.com/nginx:1.19"),
    ("new-name-and-tag", "{name: nginx, newName: my/nginx, newTag: v2}", "nginx:1.19", "my/nginx:v2"),
    ("digest-replaces-the-tag", "{name: nginx, digest: 'sha256:abc'}", "nginx:1.19", "nginx@sha256:abc"),
    ("registry-port-is-part-of-the-name", "{name: 'localhost:5000/app', newTag: v3}", "localhost:5000/app:v1",
     "localhost:5000/app:v3"),
    ("other-names-untouched", "{name: nginx, newTag: '1.25'}", "nginx-exporter:1", "nginx-exporter:1"),
]


@pytest.mark.parametrize("entry,written,built", [c[1:] for c in IMAGE_CASES], ids=[c[0] for c in IMAGE_CASES])
def test_images_retag_workload_containers(entry: str, written: str, built: str, tmp_path: Path) -> None:
    dep = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n"
           f"      initContainers: [{{name: i, image: '{written}'}}]\n"
           f"      containers: [{{name: c, image: '{written}'}}]\n")
    cron = ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: j}\nspec:\n  jobTemplate:\n    spec:\n"
            f"      template:\n        spec:\n          containers: [{{name: c, image: '{written}'}}]\n")
    files = {"kustomization.yaml": K + f"resources: [r.yaml]\nimages:\n  - {entry}\n", "r.yaml": dep + "---\n" + cron}
    gitops = model(_repo(files, tmp_path), Config())
    docs = {d.data["kind"]: d.data for d in gitops.builder.build(".").docs}
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    assert [pod["initContainers"][0]["image"], pod["containers"][0]["image"]] == [built, built]
    assert docs["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] == built
