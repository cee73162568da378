"""The Flux family beyond the fixture cases: real corpus trees, the graph command, the team rule kind
`manifest-schema`, the repository's own tree, and the small parsers the rules rest on."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from cloudlab_lint.checks.flux_common import seconds, version_problem
from cloudlab_lint.parsing.yamlx import load_documents
from cloudlab_lint.stack.gitops.graph import closest
from cloudlab_lint.stack.gitops.kustomize import is_remote
from cloudlab_lint.stack.gitops.patch import Rendered, apply_patch, json6902, merge, selector_matches

from .helpers import PROJECT, commit_all, init_repo, run_cli, shared_or_skip, write_files

# -- the real trees in ../shared/corpus/flux -------------------------------------------------

TREE_RULES = "CL102,CL103,CL104,CL105,CL107,CL108"
CORPUS = {
    # tree: (chain, the findings that are true, as (rule, path, line, what the message says))
    "fluxcd-flux2-kustomize-helm-example": (["infra-controllers", "infra-configs", "apps"], {
        # infra-configs sets neither wait nor healthChecks: true by the catalog.
        ("CL103", "clusters/production/infrastructure.yaml", 23, "wait: true"),
        ("CL103", "clusters/staging/infrastructure.yaml", 23, "wait: true"),
        # the overlays patch in `>=1.0.0` / `>=1.0.0-alpha`: unbounded ranges.
        ("CL105", "apps/production/podinfo-values.yaml", 9, "no upper bound"),
        ("CL105", "apps/staging/podinfo-values.yaml", 9, "no upper bound"),
        # envoy-gateway's OCIRepository semver `>= 1.8.0-rc.0`: unbounded.
        ("CL105", "infrastructure/controllers/envoy-gateway.yaml", 21, "no upper bound"),
    }),
    "fluxcd-flux2-kustomize-helm-example--pre-flux-2.7": (["infra-controllers", "infra-configs", "apps"], {
        ("CL103", "clusters/production/apps.yaml", 7, "retryInterval"),
        ("CL103", "clusters/staging/apps.yaml", 6, "retryInterval"),
        ("CL103", "clusters/production/infrastructure.yaml", 23, "wait: true"),
        ("CL103", "clusters/staging/infrastructure.yaml", 23, "wait: true"),
        ("CL105", "apps/production/podinfo-values.yaml", 9, "no upper bound"),
        ("CL105", "apps/staging/podinfo-values.yaml", 9, "no upper bound"),
        ("CL105", "infrastructure/controllers/ingress-nginx.yaml", 28, "every version"),
    }),
    "fluxcd-flux2-multi-tenancy": (["kyverno", "kyverno-policies", "tenants"], {
        *{("CL103", f"clusters/{c}/infrastructure.yaml", 6, "retryInterval") for c in ("production", "staging")},
        *{("CL103", f"clusters/{c}/{f}", line, what) for c in ("production", "staging")
          for f, line in (("infrastructure.yaml", 22), ("tenants.yaml", 6))
          for what in ("retryInterval", "`timeout`", "wait: true")},
        ("CL103", "infrastructure/kyverno/sync.yaml", 6, "retryInterval"),
        *{("CL103", "tenants/base/dev-team/sync.yaml", 17, what)
          for what in ("retryInterval", "`timeout`", "wait: true")},
    }),
    "fluxcd-flux2-multi-tenancy--dev-team-branch": (["flux-system"], {
        ("CL105", "production/podinfo-values.yaml", 9, "no upper bound"),
        ("CL105", "staging/podinfo-values.yaml", 9, "no upper bound"),
    }),
}


def corpus_repo(name: str, chain: list[str], dest: Path) -> Path:
    src = shared_or_skip("corpus", "flux", name)
    shutil.copytree(src, dest)
    init_repo(dest)
    flux: dict = {"chain": chain}
    if (dest / "clusters").is_dir():
        flux["clusters"] = ["clusters/production", "clusters/staging"]
    write_files(dest, {".cloudlab-lint.yaml": yaml.safe_dump({"gitops_root": ".", "flux": flux})})
    commit_all(dest)
    return dest


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_tree_gives_only_true_findings(name: str, tmp_path: Path) -> None:
    chain, expected = CORPUS[name]
    repo = corpus_repo(name, chain, tmp_path / "repo")
    outcome = run_cli(["--all", "--select", TREE_RULES, "--format", "json"], cwd=repo)
    assert outcome.code in (0, 1), outcome.err
    findings = outcome.json["findings"]
    got = {(f["rule"], f["path"], f["line"]) for f in findings}
    assert got == {(r, p, n) for r, p, n, _ in expected}, findings
    for rule, path, line, what in expected:
        messages = [f["message"] for f in findings if (f["rule"], f["path"], f["line"]) == (rule, path, line)]
        assert any(what in m for m in messages), (rule, path, line, what, messages)
    # What would be false in these trees: sources, paths, references, owners and chains all resolve.
    assert not [f for f in findings if "sourceRef" in f["message"] or "path `" in f["message"]]


@pytest.mark.parametrize("name", ["fluxcd-flux2-kustomize-helm-example", "fluxcd-flux2-multi-tenancy"])
def test_corpus_graph_draws_the_chain(name: str, tmp_path: Path) -> None:
    chain, _ = CORPUS[name]
    repo = corpus_repo(name, chain, tmp_path / "repo")
    text = run_cli(["graph", "--format", "text"], cwd=repo)
    assert text.code == 0, text.err
    for cluster in ("clusters/production", "clusters/staging"):
        assert f"cluster {cluster}" in text.out
    for before, after in zip(chain, chain[1:], strict=False):
        assert f"flux-system/{after}  <- {before}" in text.out
    assert "BROKEN" not in text.out and "CYCLE" not in text.out
    mermaid = run_cli(["graph", "--format", "mermaid"], cwd=repo).out
    assert mermaid.startswith("flowchart LR")
    assert mermaid.count(f'["flux-system/{chain[-1]}"]') == 2  # one node per cluster: names repeat across clusters


def test_corpus_removed_apis(tmp_path: Path) -> None:
    repo = corpus_repo("fluxcd-flux2-multi-tenancy--dev-team-branch", ["flux-system"], tmp_path / "dev")
    found = run_cli(["--all", "--select", "CL110", "--format", "json"], cwd=repo).found()
    assert found == {("CL110", "base/podinfo-release.yaml", 1), ("CL110", "base/podinfo-repository.yaml", 1),
                     ("CL110", "production/podinfo-values.yaml", 1), ("CL110", "staging/podinfo-values.yaml", 1)}
    repo = corpus_repo("fluxcd-flux2-multi-tenancy", ["kyverno"], tmp_path / "mt")
    outcome = run_cli(["--all", "--select", "CL110", "--format", "json"], cwd=repo)
    assert outcome.found() == {("CL110", "infrastructure/kyverno/source.yaml", 1)}
    assert "source.toolkit.fluxcd.io/v1`" in outcome.json["findings"][0]["message"]


# -- graph ------------------------------------------------------------------------------------

SYNC = """apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 1m, url: "ssh://git@github.com/example/cloudlab"}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 10m, path: ./kubernetes, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
"""


def _ks(name: str, *deps: str) -> str:
    dep = "".join(f"\n    - name: {d}" for d in deps)
    return (f"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n"
            f"  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./kubernetes/apps\n  prune: true\n"
            f"  sourceRef: {{kind: GitRepository, name: flux-system}}\n  dependsOn:{dep}\n")


def broken_tree(root: Path) -> Path:
    init_repo(root)
    write_files(root, {
        "kubernetes/kustomization.yaml": "resources: [flux-system]\n",
        "kubernetes/flux-system/gotk-sync.yaml": SYNC,
        "kubernetes/flux-system/kustomization.yaml": "resources: [gotk-sync.yaml, graph.yaml]\n",
        "kubernetes/flux-system/graph.yaml": "---\n".join(
            [_ks("infrastructure", "flux-system"), _ks("apps", "infra"), _ks("a", "b"), _ks("b", "a")]),
        "kubernetes/apps/kustomization.yaml": "resources: []\n",
    })
    commit_all(root)
    return root


def test_graph_marks_broken_edges_and_cycles_in_every_format(tmp_path: Path) -> None:
    repo = broken_tree(tmp_path / "repo")
    text = run_cli(["graph"], cwd=repo)
    assert text.code == 0, text.err
    assert "flux-system/infrastructure  <- flux-system" in text.out
    assert "BROKEN: flux-system/apps depends on flux-system/infra, which does not exist" in text.out
    assert "CYCLE: flux-system/a -> flux-system/b -> flux-system/a" in text.out
    mermaid = run_cli(["graph", "--format", "mermaid"], cwd=repo).out
    assert '["flux-system/infra (missing)"]:::missing' in mermaid
    assert re.search(r"c0m0 -\.->\|missing\| c0n\d", mermaid)
    assert mermaid.count("-->|cycle|") == 2 and ":::cycle" in mermaid
    dot = run_cli(["graph", "--format", "dot"], cwd=repo).out
    assert dot.startswith("digraph flux {") and dot.rstrip().endswith("}")
    assert 'label="missing", style=dashed, color=red' in dot
    assert dot.count('[label="cycle", color=red]') == 2


def test_graph_is_empty_without_a_flux_tree(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write_files(repo, {"README.md": "# no flux here\n"})
    commit_all(repo)
    outcome = run_cli(["graph", "--format", "mermaid"], cwd=repo)
    assert outcome.code == 0 and outcome.out == ""


def test_markdown_report_embeds_the_mermaid_graph(tmp_path: Path) -> None:
    repo = broken_tree(tmp_path / "repo")
    outcome = run_cli(["--all", "--select", "CL102", "--format", "markdown"], cwd=repo)
    assert outcome.code == 1
    assert "```mermaid\nflowchart LR" in outcome.out
    assert "(missing)" in outcome.out


def test_cycle_finding_prints_the_whole_cycle(tmp_path: Path) -> None:
    repo = broken_tree(tmp_path / "repo")
    outcome = run_cli(["--all", "--select", "CL102", "--format", "json"], cwd=repo)
    messages = [f["message"] for f in outcome.json["findings"]]
    assert any("dependsOn cycle: a -> b -> a" in m for m in messages)
    assert any("`infra`" in m and "did you mean `infrastructure`?" in m for m in messages)


# -- the repository's own tree --------------------------------------------------------------


def test_own_tree_passes_every_flux_rule() -> None:
    if not (PROJECT / ".git").exists():
        pytest.skip("not a git checkout")
    outcome = run_cli(["--all", "--select", "CL1", "--format", "json", "--fail-on", "note"], cwd=PROJECT)
    assert outcome.code == 0, outcome.out
    assert outcome.json["findings"] == []


# -- team rule kind: manifest-schema --------------------------------------------------------


def team_rule_from_docs() -> str:
    """The example in docs/team-rules.md, so the documentation stays true."""
    text = (PROJECT / "docs" / "team-rules.md").read_text(encoding="utf-8")
    match = re.search(r"`policies/TEAM001-helmrelease-install-retries\.yaml`:\n\n```yaml\n(.*?)```", text, re.S)
    assert match, "docs/team-rules.md lost its example"
    return match.group(1)


RELEASES = """apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cert-manager
  namespace: cert-manager
spec:
  interval: 30m
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
spec:
  install:
    remediation:
      retries: "three"
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: good
spec:
  install:
    remediation:
      retries: 3
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-selected
"""


def test_manifest_schema_team_rule(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write_files(repo, {
        ".cloudlab-lint.yaml": "rule_dirs: [policies/]\n",
        "policies/TEAM001-helmrelease-install-retries.yaml": team_rule_from_docs(),
        "kubernetes/infrastructure/releases.yaml": RELEASES,
        "archive/old-release.yaml": RELEASES,  # outside the rule's path glob
    })
    commit_all(repo)
    outcome = run_cli(["--all", "--select", "TEAM001", "--format", "json"], cwd=repo)
    assert outcome.code == 1, outcome.err
    findings = {(f["path"], f["line"], f["message"]) for f in outcome.json["findings"]}
    assert findings == {
        ("kubernetes/infrastructure/releases.yaml", 6, "HelmRelease `cert-manager`: `spec.install` is required"),
        ("kubernetes/infrastructure/releases.yaml", 16,
         "HelmRelease `podinfo`: `spec.install.remediation.retries` must be of type integer"),
    }
    # Pre-commit mode judges the staged files only.
    quiet = run_cli(["archive/old-release.yaml", "--select", "TEAM001", "--format", "json"], cwd=repo)
    assert quiet.code == 0 and quiet.json["findings"] == []


def test_manifest_schema_never_prints_the_value(tmp_path: Path) -> None:
    rule = {
        "id": "TEAM002", "name": "secret-shape", "severity": "error", "check": "manifest-schema",
        "short": "Secrets carry a token of the expected shape.", "full": "Secrets carry a token of the expected shape.",
        "help": {"why": "shape", "fix": "fix it"},
        "params": {"kind": "Secret", "schema": {"properties": {"stringData": {"properties": {
            "token": {"type": "string", "pattern": "^ENC\\[", "maxLength": 10}}}}}},
    }
    repo = init_repo(tmp_path / "repo")
    write_files(repo, {
        ".cloudlab-lint.yaml": "rule_dirs: [policies]\n",
        "policies/TEAM002.yaml": yaml.safe_dump(rule),
        "k8s/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\nstringData:\n"
                           "  token: fake-token-value-0123456789\n",
    })
    commit_all(repo)
    for fmt in ("text", "json", "sarif", "markdown"):
        outcome = run_cli(["--all", "--select", "TEAM002", "--format", fmt], cwd=repo)
        assert outcome.code == 1, outcome.err
        assert "fake-token-value" not in outcome.out + outcome.err
    found = run_cli(["--all", "--select", "TEAM002", "--format", "json"], cwd=repo).json["findings"]
    assert {(f["line"], f["message"]) for f in found} == {
        (6, "Secret `api`: `stringData.token` must match the pattern `^ENC\\[`"),
        (6, "Secret `api`: `stringData.token` fails maxLength 10"),
    }


# -- the small parsers ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "pinned"), [
    ("1.16.2", True), ("1.x", True), ("~1.2", True), ("^1.0.0", True), (">=1.0.0 <2.0.0", True),
    ("1.0.0 - 1.4.0", True), ("=1.2.3", True), ("v1.2.3", True),
    ("*", False), ("", False), (None, False), ("x", False), (">=1.0.0", False), ("> 1.0", False),
    ("1.x || >=3.0.0", False), (">= 1.8.0-rc.0", False),
])
def test_version_pins(value: object, pinned: bool) -> None:
    assert (version_problem(value) is None) is pinned


def test_go_durations() -> None:
    assert seconds("10m0s") == 600 and seconds("1h30m") == 5400 and seconds("500ms") == 0.5
    assert seconds("10 minutes") is None and seconds(10) is None and seconds("") is None


@pytest.mark.parametrize(("value", "remote"), [
    ("https://github.com/stefanprodan/podinfo//kustomize?ref=6.7.1", True),
    ("github.com/example/base/app?ref=v1.0.0", True), ("git@github.com:o/r.git//base", True),
    ("../base", False), ("podinfo.yaml", False), ("github-actions.yaml", False),
])
def test_remote_resources(value: str, remote: bool) -> None:
    assert is_remote(value) is remote


def test_closest_name() -> None:
    names = ["flux-system", "infrastructure", "apps"]
    assert closest("infra", names) == "infrastructure"
    assert closest("aps", names) == "apps"
    assert closest("zzz", names) is None


def test_patches_merge_and_json6902() -> None:
    base = {"spec": {"interval": "10m", "path": "./a", "keep": 1}}
    merged = merge(base, {"spec": {"path": "./b", "keep": None, "decryption": {"provider": "sops"}}})
    assert merged == {"spec": {"interval": "10m", "path": "./b", "decryption": {"provider": "sops"}}}
    assert base["spec"]["path"] == "./a"  # the original stays as parsed
    ops = [{"op": "add", "path": "/spec/decryption", "value": {"provider": "sops"}},
           {"op": "add", "path": "/spec/list/-", "value": 2}, {"op": "remove", "path": "/spec/interval"},
           {"op": "add", "path": "/nowhere/deep", "value": 1}]
    out = json6902({"spec": {"interval": "1m", "list": [1]}}, ops)
    assert out == {"spec": {"decryption": {"provider": "sops"}, "list": [1, 2]}}


def test_flux_generated_kustomization_takes_every_manifest_and_units(tmp_path: Path) -> None:
    from cloudlab_lint.repo import Repo
    from cloudlab_lint.stack.gitops.kustomize import Builder

    ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {}\n"
    root = init_repo(tmp_path / "repo")
    write_files(root, {
        "apps/a.yaml": ns.format("a"),
        "apps/deep/er/b.yaml": ns.format("b"),
        "apps/values.yaml": "replicaCount: 2\n",  # not a manifest: not taken
        "apps/unit/kustomization.yaml": "resources: [listed.yaml]\n",
        "apps/unit/listed.yaml": ns.format("listed"),
        "apps/unit/unlisted.yaml": ns.format("unlisted"),
        "apps/unit/inner/c.yaml": ns.format("c"),  # below a unit: only what the unit lists counts
    })
    commit_all(root)
    repo = Repo.open(root, is_git=True, paths=None, all_files=True, cwd=root)
    built = Builder(repo).build("apps")
    names = sorted(d.data["metadata"]["name"] for d in built.docs)
    assert names == ["a", "b", "listed"]
    assert built.folders == {"apps", "apps/unit"}
    assert "apps/values.yaml" not in built.files and "apps/unit/unlisted.yaml" not in built.files


# -- a Flux Kustomization's own spec.patches (defaults a parent sets for its children) ---------

FIXTURES = Path(__file__).parent / "fixtures"


def defaults_case(name: str) -> dict[str, str]:
    """The files of a fixture case whose parent Kustomization patches defaults into podinfo."""
    case = yaml.safe_load((FIXTURES / name / "case.yaml").read_text())
    return dict(case["files"])


def lint_files(files: dict[str, str], root: Path, select: str) -> list[dict]:
    repo = init_repo(root)
    write_files(repo, files)
    commit_all(repo)
    outcome = run_cli(["--all", "--select", select, "--format", "json"], cwd=repo)
    assert outcome.code in (0, 1), outcome.err
    return outcome.json["findings"]


@pytest.mark.parametrize(("selector", "labels", "matches"), [
    ("", {}, True),
    ("team=apps", {"team": "apps"}, True),
    ("team==apps", {"team": "infra"}, False),
    ("example.com/defaults!=disabled", {}, True),  # `!=` holds for objects without the label
    ("example.com/defaults!=disabled", {"example.com/defaults": "disabled"}, False),
    ("tier in (web, api),!legacy", {"tier": "api"}, True),
    ("tier in (web, api),!legacy", {"tier": "api", "legacy": "yes"}, False),
    ("tier notin (web)", {}, True),
    ("tier notin (web)", {"tier": "web"}, False),
    ("managed", {"managed": "true"}, True),
    ("managed", {}, False),
    ("enabled=true", {"enabled": True}, True),
])
def test_label_selectors(selector: str, labels: dict, matches: bool) -> None:
    assert selector_matches(selector, labels) is matches


def test_label_selector_that_does_not_parse_selects_nothing() -> None:
    assert selector_matches("a=b,,c", {"a": "b"}) is None
    assert selector_matches("!a=b", {}) is None
    doc = Rendered("ks.yaml", 0, 1, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, None)
    patched = apply_patch([doc], [{"data": {"k": "v"}}], {"kind": "ConfigMap", "labelSelector": "a in (b"})
    assert patched[0] is doc


def test_targeted_strategic_merge_keeps_the_identity_of_what_it_patches() -> None:
    base = load_documents("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n"
                          "  name: podinfo\n  namespace: apps\n  labels: {team: a}\nspec:\n  path: ./p\n")[0].data
    patch = load_documents("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n"
                           "  name: _\n  labels: {tier: b}\nspec:\n  prune: true\n")[0].data
    doc = Rendered("ks.yaml", 0, 1, base, "apps")
    target = {"group": "kustomize.toolkit.fluxcd.io", "kind": "Kustom.*", "name": "pod.+"}
    out = apply_patch([doc], [patch], target)[0].data
    assert out["metadata"] == {"name": "podinfo", "namespace": "apps", "labels": {"team": "a", "tier": "b"}}
    assert out["spec"] == {"path": "./p", "prune": True}
    # Without a target, a patch applies to the object of its own kind and name only.
    assert apply_patch([doc], [patch], None)[0] is doc
    # A core-group object is not of group `v1`.
    core = Rendered("cm.yaml", 0, 1, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, None)
    assert apply_patch([core], [{"data": {"k": "v"}}], {"group": "v1", "kind": "ConfigMap"})[0] is core


def test_patched_in_values_point_at_the_base_document() -> None:
    base = load_documents("kind: Kustomization\nmetadata:\n  name: a\nspec:\n  path: ./a\n  interval: 1h\n")[0].data
    patch = load_documents("\n\n\n\n\n\n\n\n\nspec:\n  interval: 2h\n  decryption:\n    provider: sops\n"
                           "    secretRef:\n      name: age\n")[0].data
    merged = merge(base, patch)
    spec, home = merged["spec"], base.key_line("spec")
    assert home == 4
    assert spec.key_line("interval") == base["spec"].key_line("interval") == 6  # replaced in place
    # Added: at the `spec:` key it lands under (where a missing field is reported), never the patch's line.
    assert spec.key_line("decryption") == home
    assert spec["decryption"]["secretRef"].key_line("name") == home
    ops = load_documents("- op: add\n  path: /spec/healthChecks\n  value:\n    - kind: Deployment\n"
                         "      name: x\n")[0].data
    out = json6902(base, ops)
    assert out["spec"].key_line("healthChecks") == home
    assert out["spec"]["healthChecks"][0].key_line("name") == home


def test_defaults_from_parent_patches_reach_every_rule(tmp_path: Path) -> None:
    files = defaults_case("CL103-flux-kustomization-spec/pass-defaults-from-parent-patches")
    assert lint_files(files, tmp_path / "ok", "CL103,CL105,CL107") == []


def test_a_bad_default_from_a_parent_patch_is_reported_at_the_child(tmp_path: Path) -> None:
    files = defaults_case("CL103-flux-kustomization-spec/pass-defaults-from-parent-patches")
    parent = "kubernetes/flux-system/apps.yaml"
    assert files[parent].count("        retryInterval: 2m\n") == 1  # the patch's, not the parent's own
    files[parent] = files[parent].replace("        retryInterval: 2m\n", "        retryInterval: soon\n")
    findings = lint_files(files, tmp_path / "bad", "CL103")
    assert [(f["path"], f["line"]) for f in findings] == [("kubernetes/apps/podinfo/ks.yaml", 6)], findings
    assert "`retryInterval: soon`, which is no Go duration" in findings[0]["message"]


@pytest.mark.parametrize(("selector", "expected"), [
    ("app.kubernetes.io/name=podinfo", []),
    ("app.kubernetes.io/name=other", [("CL105", "kubernetes/apps/podinfo/app/helmrelease.yaml", 8)]),
])
def test_defaults_outside_every_cluster_reach_helm_releases(selector: str, expected: list, tmp_path: Path) -> None:
    # No gotk-sync.yaml: the parent (listed after its child) patches the child, whose patched-in
    # spec.patches then give its HelmRelease an interval, unless their selector misses it.
    files = defaults_case("CL103-flux-kustomization-spec/pass-defaults-from-parent-patches-without-bootstrap")
    parent = "kubernetes/clusters/home/ks.yaml"
    files[parent] = files[parent].replace("app.kubernetes.io/name=podinfo", selector)
    findings = lint_files(files, tmp_path / "repo", "CL103,CL105")
    assert [(f["rule"], f["path"], f["line"]) for f in findings] == expected, findings


def test_a_label_opts_a_child_out_of_the_parent_defaults(tmp_path: Path) -> None:
    files = defaults_case("CL103-flux-kustomization-spec/pass-defaults-from-parent-patches")
    child = "kubernetes/apps/podinfo/ks.yaml"
    files[child] = files[child].replace("  namespace: flux-system\n",
                                        "  namespace: flux-system\n  labels:\n    example.com/defaults: disabled\n")
    findings = lint_files(files, tmp_path / "repo", "CL103")
    # One finding lists every missing field (one edit of the Kustomization fixes them all).
    assert len(findings) == 1, findings
    missing = sorted(set(re.findall(r"`([a-zA-Z]+)", findings[0]["message"].split("must set ")[1])) - {"healthChecks"})
    assert missing == ["interval", "retryInterval", "timeout", "wait"], findings  # prune comes by name


def test_components_of_a_flux_kustomization_join_what_it_applies(tmp_path: Path) -> None:
    # podinfo takes a kustomize Component (relative to its path) that patches every HelmRelease's interval
    # and adds a SOPS Secret: the HelmRelease is judged patched, and the Secret needs decryption.
    files = defaults_case("CL103-flux-kustomization-spec/pass-defaults-from-parent-patches")
    parent, child = "kubernetes/flux-system/apps.yaml", "kubernetes/apps/podinfo/ks.yaml"
    files[parent] = files[parent].replace("app.kubernetes.io/name=podinfo", "app.kubernetes.io/name=other")
    files[parent] = files[parent].replace("          secretRef:\n", "          secretRefs:\n")  # no usable decryption
    files[child] += "  components:\n    - ../../../components/defaults\n"
    files["kubernetes/apps/podinfo/app/kustomization.yaml"] = files[
        "kubernetes/apps/podinfo/app/kustomization.yaml"].replace("  - secret.sops.yaml\n", "")
    secret = files.pop("kubernetes/apps/podinfo/app/secret.sops.yaml")
    files["kubernetes/components/defaults/secret.sops.yaml"] = secret
    files["kubernetes/components/defaults/kustomization.yaml"] = (
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - secret.sops.yaml\n"
        "patches:\n  - patch: |-\n      apiVersion: helm.toolkit.fluxcd.io/v2\n      kind: HelmRelease\n"
        "      metadata:\n        name: _\n      spec:\n        interval: 1h\n    target:\n      kind: HelmRelease\n")
    findings = lint_files(files, tmp_path / "repo", "CL105,CL107")
    assert [(f["rule"], f["path"], f["line"]) for f in findings] == [("CL107", child, 6)], findings
    assert "kubernetes/components/defaults/secret.sops.yaml" in findings[0]["message"]
    files[child] = files[child].replace("  components:\n    - ../../../components/defaults\n", "")
    findings = lint_files(files, tmp_path / "without", "CL105,CL107")
    assert [(f["rule"], f["path"]) for f in findings] == [("CL105", "kubernetes/apps/podinfo/app/helmrelease.yaml")]
