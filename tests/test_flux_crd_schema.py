"""CL112's schema machinery: the compact form, the shipped data, the validator's Kubernetes semantics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudlab_lint import fluxschemagen
from cloudlab_lint.parsing.yamlx import load_documents
from cloudlab_lint.stack.crd.compact import CRDError, compact, compact_crd, to_jsonschema
from cloudlab_lint.stack.crd.schemas import DATA
from cloudlab_lint.stack.crd.validate import is_substituted, may_backtrack, qualified_name_problem, validator_for

# One valid object of each kind people write, as current Flux and flux-operator accept them.
EXAMPLES = {
    "Kustomization": """
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system, labels: {app.kubernetes.io/part-of: cluster}}
spec:
  interval: 10m
  retryInterval: 2m
  timeout: 5m
  prune: true
  wait: true
  path: ./kubernetes/apps
  targetNamespace: apps
  sourceRef: {kind: GitRepository, name: flux-system}
  dependsOn: [{name: infrastructure}]
  decryption: {provider: sops, secretRef: {name: sops-age}}
  postBuild: {substitute: {cluster: home}, substituteFrom: [{kind: ConfigMap, name: vars, optional: true}]}
""",
    "HelmRelease": """
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: apps}
spec:
  interval: 30m
  timeout: 5m
  chart:
    spec:
      chart: podinfo
      version: 6.7.1
      sourceRef: {kind: HelmRepository, name: podinfo}
  install: {remediation: {retries: 3}}
  upgrade: {cleanupOnFail: true, remediation: {retries: 3, strategy: rollback}}
  driftDetection: {mode: enabled}
  values: {replicaCount: 2, ingress: {enabled: true}}
""",
    "GitRepository": """
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m0s
  timeout: 60s
  url: ssh://git@github.com/example/cluster
  ref: {branch: main}
  secretRef: {name: flux-system}
""",
    "HelmRepository": """
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: podinfo, namespace: apps}
spec: {interval: 1h, url: "https://stefanprodan.github.io/podinfo"}
""",
    "OCIRepository": """
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: podinfo, namespace: apps}
spec: {interval: 10m, url: "oci://ghcr.io/stefanprodan/charts/podinfo", ref: {semver: ">=6.0.0 <7.0.0"}}
""",
    "FluxInstance": """
apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata: {name: flux, namespace: flux-system}
spec:
  distribution: {version: "2.x", registry: ghcr.io/fluxcd}
  components: [source-controller, kustomize-controller, helm-controller, notification-controller]
  cluster: {type: kubernetes, multitenant: false, networkPolicy: true}
  sync: {kind: GitRepository, url: "https://github.com/example/cluster", ref: refs/heads/main, path: clusters/home}
""",
    "ResourceSet": """
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: apps, namespace: flux-system}
spec:
  inputs: [{name: podinfo}]
  resources: [{apiVersion: v1, kind: Namespace, metadata: {name: "<< inputs.name >>"}}]
""",
    "Alert": """
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {name: slack, namespace: flux-system}
spec:
  providerRef: {name: slack}
  eventSeverity: error
  eventSources: [{kind: Kustomization, name: "*"}, {kind: FluxInstance, name: flux}]
""",
}


def _bundled(group: str, kind: str, version: str) -> dict[str, Any]:
    return json.loads((DATA / group / f"{kind}.json").read_text(encoding="utf-8"))["versions"][version]


def _validator(doc: dict[str, Any]) -> Any:
    group, version = doc["apiVersion"].split("/")
    return validator_for(_bundled(group, doc["kind"], version))


def _errors(doc: Any) -> list[tuple[tuple[Any, ...], str]]:
    return sorted((tuple(e.absolute_path), e.validator) for e in _validator(doc).iter_errors(doc))


def test_every_shipped_kind_loads_and_compiles() -> None:
    index = json.loads((DATA / "index.json").read_text(encoding="utf-8"))["kinds"]
    kinds = {(g, k) for g, ks in index.items() for k in ks}
    assert {("kustomize.toolkit.fluxcd.io", "Kustomization"), ("helm.toolkit.fluxcd.io", "HelmRelease"),
            ("fluxcd.controlplane.io", "FluxInstance"), ("fluxcd.controlplane.io", "ResourceSet"),
            ("image.toolkit.fluxcd.io", "ImagePolicy"), ("notification.toolkit.fluxcd.io", "Receiver")} <= kinds
    files = {(p.parent.name, p.stem) for p in DATA.glob("*/*.json")}
    assert files == kinds, "index.json and the kind files disagree: rerun python -m cloudlab_lint.fluxschemagen"
    for group, kind in sorted(kinds):
        data = json.loads((DATA / group / f"{kind}.json").read_text(encoding="utf-8"))
        assert (data["group"], data["kind"]) == (group, kind) and data["source"]
        assert sorted(data["versions"]) == index[group][kind]
        for node in data["versions"].values():
            assert "description" not in json.dumps(node), "the compact form keeps no prose"
            validator_for(node)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_valid_examples_validate(kind: str) -> None:
    doc = yaml.safe_load(EXAMPLES[kind])
    assert _errors(doc) == []
    doc["spec"]["intervall"] = "1m"  # and the same object with a typo does not
    assert (("spec", "intervall"), "additionalProperties") in _errors(doc)


def _scalar_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() if path or k not in ("apiVersion", "kind")
                for p in _scalar_paths(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _scalar_paths(v, (*path, i))]
    return [path]


def _shuffled(node: Any, draw: Any) -> Any:
    if isinstance(node, dict):
        keys = draw(st.permutations(list(node)))
        return {k: _shuffled(node[k], draw) for k in keys}
    if isinstance(node, list):
        return [_shuffled(v, draw) for v in node]
    return node


@settings(deadline=None, max_examples=60)
@given(st.sampled_from(sorted(EXAMPLES)), st.data())
def test_valid_objects_stay_valid_reordered_and_substituted(kind: str, data: st.DataObject) -> None:
    doc = _shuffled(yaml.safe_load(EXAMPLES[kind]), data.draw)
    paths = _scalar_paths(doc)
    chosen = data.draw(st.lists(st.sampled_from(paths), unique=True, max_size=len(paths)))
    for path in chosen:
        form = data.draw(st.sampled_from(["${VAR}", "${VAR_2:=default}", "prefix-${VAR}", "${VAR:-x}"]))
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = form
    # Through our own YAML reader, as a file would come: `${VAR}` stays a string wherever it stands.
    (parsed,) = load_documents(yaml.safe_dump(doc, sort_keys=False))
    assert _errors(parsed.data) == []


def test_substitution_and_qualified_names() -> None:
    assert all(is_substituted(v) for v in ("${A}", "${A:=b}", "x-${A_1}-y", "${a:-1m}"))
    assert not any(is_substituted(v) for v in ("$A", "${}", "${1A}", "{A}", 5, None))
    assert not qualified_name_problem("app.kubernetes.io/name") and not qualified_name_problem("tier")
    for bad in ("bad key", "-x", "UPPER.example.com/x", "/x", "a" * 64, "x/"):
        assert qualified_name_problem(bad), bad


def test_kubernetes_rules_for_metadata_null_and_formats() -> None:
    doc = yaml.safe_load(EXAMPLES["HelmRepository"])
    doc["metadata"] = {"name": "Not_A_Name", "namespace": "x" * 64, "labels": {"ok": "v", "bad": "not a value"},
                       "annotations": {"any/thing": "goes: anywhere"}, "finalizers": "x", "labls": {}}
    doc["spec"]["suspend"] = None  # pruned by the API server before it validates
    assert _errors(doc) == sorted([
        (("metadata", "name"), "pattern"), (("metadata", "namespace"), "maxLength"),
        (("metadata", "labels", "bad"), "pattern"), (("metadata", "finalizers"), "type"),
        (("metadata", "labls"), "additionalProperties")])
    doc = yaml.safe_load(EXAMPLES["HelmRepository"])
    doc["spec"]["url"] = None  # pruned: missing, though the key is there
    del doc["metadata"]["name"]
    assert _errors(doc) == [(("metadata", "name"), "required"), (("spec", "url"), "required")]
    node = {"type": "object", "fields": {"when": {"type": "string", "format": "date-time"},
                                         "count": {"type": "integer", "format": "int32"},
                                         "wait": {"type": "string", "format": "duration"}}}
    check = validator_for(node)
    named = {"metadata": {"name": "x"}}
    assert not list(check.iter_errors({**named, "when": "2026-01-31T12:00:00Z", "count": 5, "wait": "1h30m"}))
    bad = {(tuple(e.absolute_path), e.validator) for e in check.iter_errors(
        {**named, "when": "31/01/2026", "count": 2**40, "wait": "ten minutes"})}
    assert bad == {(("when",), "format"), (("count",), "format"), (("wait",), "format")}


CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.demo.fluxcd.io}
spec:
  group: demo.fluxcd.io
  names: {kind: Widget, plural: widgets}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          description: A widget.
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              required: [size]
              properties:
                size: {x-kubernetes-int-or-string: true, anyOf: [{type: integer}, {type: string}]}
                extra: {x-kubernetes-preserve-unknown-fields: true, type: object}
                labels: {type: object, additionalProperties: {type: string}}
                template: {type: object, x-kubernetes-embedded-resource: true, properties: {spec: {type: object}}}
            status: {type: object, properties: {ready: {type: boolean}}}
    - name: v0
      served: false
      storage: false
      schema: {openAPIV3Schema: {type: object}}
"""


def test_compact_keeps_the_facts_of_a_crd() -> None:
    versions = compact_crd(yaml.safe_load(CRD))
    assert list(versions) == ["v1"]  # an unserved version is not kept
    node = versions["v1"]
    assert "description" not in json.dumps(node) and node["fields"]["status"] == {}
    spec = node["fields"]["spec"]
    assert spec["required"] == ["size"] and spec["fields"]["size"] == {"intOrString": True}
    assert spec["fields"]["extra"] == {"type": "object", "open": True}
    check = validator_for(node)
    good = {"metadata": {"name": "w"}, "spec": {"size": "50%", "extra": {"any": {"thing": 1}}, "labels": {"a": "b"},
                     "template": {"apiVersion": "v1", "kind": "X", "metadata": {}, "spec": {}}}}
    assert not list(check.iter_errors(good))
    bad = {"spec": {"size": [1], "labels": {"a": 1}, "template": {"other": 1}}, "status": {"anything": True}}
    assert {(tuple(e.absolute_path), e.validator) for e in check.iter_errors(bad)} == {(("metadata",), "required"),
        (("spec", "size"), "type"), (("spec", "labels", "a"), "type"),
        (("spec", "template", "other"), "additionalProperties")}


def test_compact_refuses_what_it_cannot_read() -> None:
    deep: dict[str, Any] = {"type": "object"}
    for _ in range(100):
        deep = {"type": "object", "properties": {"x": deep}}
    with pytest.raises(CRDError):
        compact(deep)
    with pytest.raises(CRDError):
        compact(["not", "a", "mapping"])
    assert to_jsonschema({"type": "object"}) == {"type": "object", "additionalProperties": False}
    odd = {"type": "string", "pattern": 5, "enum": "a", "multipleOf": 0, "maxLength": True, "format": None,
           "minimum": float("nan"), "uniqueItems": "yes", "minLength": 1}
    assert compact(odd) == {"type": "string", "minLength": 1}  # forms that would break the validator are dropped
    assert compact_crd({"kind": "CustomResourceDefinition", "spec": {"versions": "nope"}}) == {}


def test_generator_writes_compact_data_and_the_operator_kinds(tmp_path: Path) -> None:
    crds = tmp_path / "crds"
    crds.mkdir()
    (crds / "widgets.yaml").write_text(CRD, encoding="utf-8")
    alert = yaml.safe_load(CRD.replace("demo.fluxcd.io", "notification.toolkit.fluxcd.io").replace(
        "kind: Widget", "kind: Alert").replace("name: v1\n", "name: v1beta3\n").replace(
        "labels: {type: object", "eventSources: {type: array, items: {type: object, properties: {kind: "
        "{type: string, enum: [Kustomization]}}}}\n                labels: {type: object"))
    operator = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "spec": {"group": "fluxcd.controlplane.io", "names": {"kind": "FluxInstance"}, "versions": [
                    {"name": "v1", "served": True, "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    (crds / "more.yaml").write_text(yaml.safe_dump_all([alert, operator, {"kind": "ConfigMap"}]), encoding="utf-8")
    out = tmp_path / "out"
    assert fluxschemagen.main([f"{crds}=test@v1", "--out", str(out)]) == 0
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert index == {"kinds": {"demo.fluxcd.io": {"Widget": ["v1"]}, "fluxcd.controlplane.io": {"FluxInstance": ["v1"]},
                               "notification.toolkit.fluxcd.io": {"Alert": ["v1beta3"]}}, "patterns": []}
    written = json.loads((out / "notification.toolkit.fluxcd.io" / "Alert.json").read_text(encoding="utf-8"))
    kinds = written["versions"]["v1beta3"]["fields"]["spec"]["fields"]["eventSources"]["items"]["fields"]["kind"]
    assert kinds["enum"] == ["Kustomization", "FluxInstance", "ResourceSet", "ResourceSetInputProvider"]
    assert written["source"] == "test@v1 more.yaml"


@pytest.mark.parametrize(("pattern", "risky"), [
    ("^(a+)+$", True), ("^(a|aa)*$", True), ("^([a-z]{2,3})+$", True), (r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$", True),
    ("^(http|https|ssh)://", False), ("^((http|https|oci)://.*){0,1}$", False),
    ("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", False), ("^(ab){1}c*$", False), ("^[(|+]+$", False), (r"^(\(a)+$", False),
])
def test_patterns_that_could_backtrack_badly(pattern: str, risky: bool) -> None:
    assert may_backtrack(pattern) is risky


def test_a_repository_crd_pattern_runs_only_when_it_cannot_backtrack_badly() -> None:
    duration = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
    node = {"type": "object", "fields": {"evil": {"type": "string", "pattern": "^(a+)+$"},
                                         "url": {"type": "string", "pattern": "^https://"},
                                         "every": {"type": "string", "pattern": duration}}}
    skipped: list[str] = []
    check = validator_for(node, frozenset({duration}), skipped)
    assert skipped == ["^(a+)+$"]
    evil = "a" * 40 + "!"  # seconds of backtracking per character added, were it run
    named = {"metadata": {"name": "x"}}
    found = {e.absolute_path[0] for e in check.iter_errors({**named, "evil": evil, "url": "http://x", "every": "5"})}
    assert found == {"url", "every"}
    assert not list(check.iter_errors({**named, "url": "http://" + "x" * 5000}))  # a guarded pattern skips long values
