"""CL112 flux-schema beyond the fixture cases: commit hooks, real CRDs, the corpus trees, hostile input."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .helpers import commit_all, git, init_repo, run_cli, shared_or_skip, write_files

KS = """apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  prune: true
  deletionPolicy: Delete
  sourceRef: {kind: GitRepository, name: flux-system}
"""
# The repository's own CRD for Kustomization v1, from a Flux that had no `deletionPolicy` yet.
OLD_COMPONENTS = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: kustomizations.kustomize.toolkit.fluxcd.io}
spec:
  group: kustomize.toolkit.fluxcd.io
  names: {kind: Kustomization, plural: kustomizations}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              properties:
                interval: {type: string}
                prune: {type: boolean}
                sourceRef: {type: object, properties: {kind: {type: string}, name: {type: string}}}
"""


def _found(repo: Path, *args: str) -> set[tuple[str, int]]:
    outcome = run_cli([*args, "--select", "CL112", "--format", "json"], cwd=repo)
    assert outcome.code in (0, 1), outcome.err
    return {(f["path"], f["line"]) for f in outcome.json["findings"]}


SCHEMA_MODULES = ("jsonschema", "cloudlab_lint.stack.crd.compact", "cloudlab_lint.stack.crd.schemas",
                  "cloudlab_lint.stack.crd.validate")
JUDGING = ["cloudlab_lint.stack.crd.compact", "cloudlab_lint.stack.crd.schemas", "cloudlab_lint.stack.crd.validate"]


def _loaded(repo: Path, *args: str) -> list[str]:
    """Which of the schema modules (and jsonschema) a run in a fresh interpreter imported, as a commit hook runs:
    no arguments, the staged files judged."""
    code = ("import sys; from cloudlab_lint.cli import main; main(sys.argv[1:]); sys.stderr.write('LOADED=%s' % "
            f"sorted(m for m in {SCHEMA_MODULES!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=repo, capture_output=True, text=True, check=False)
    assert "LOADED=" in proc.stderr, proc.stderr
    return eval(proc.stderr.rsplit("LOADED=", 1)[1])  # noqa: S307 - our own repr of a list of names


@pytest.mark.parametrize("select", [("--select", "CL112"), ()], ids=["CL112", "every-rule"])
def test_a_hook_that_stages_no_flux_object_loads_no_schema(tmp_path: Path, select: tuple[str, ...]) -> None:
    repo = init_repo(tmp_path / "repo")
    write_files(repo, {"kubernetes/apps/ks.yaml": KS.replace("deletionPolicy", "deletionpolicy"),
                       "kubernetes/apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
                       "README.md": "# x\n"})
    commit_all(repo)
    write_files(repo, {"README.md": "# y\n", "kubernetes/apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"})
    git(repo, "add", "-A")
    assert _loaded(repo, *select) == []  # staged: README.md and a ConfigMap; the broken Kustomization is not staged
    assert _found(repo) == set()
    write_files(repo, {"kubernetes/apps/ks.yaml": KS.replace("deletionPolicy", "deletionpolicy") + "  wait: true\n"})
    git(repo, "add", "-A")
    # A staged Flux object is judged without jsonschema (its import alone was ~50 ms of the hook).
    assert _loaded(repo, *select) == JUDGING
    assert _found(repo) == {("kubernetes/apps/ks.yaml", 7)}


def test_staging_gotk_components_judges_every_flux_object_by_it(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write_files(repo, {"clusters/home/apps.yaml": KS, "README.md": "# x\n"})
    commit_all(repo)
    assert _found(repo, "--all") == set()  # the shipped (current) schema knows deletionPolicy
    write_files(repo, {"clusters/home/flux-system/gotk-components.yaml": OLD_COMPONENTS})
    git(repo, "add", "-A")
    assert _found(repo) == {("clusters/home/apps.yaml", 7)}  # only gotk-components.yaml is staged
    commit_all(repo)
    write_files(repo, {"README.md": "# y\n"})
    git(repo, "add", "-A")
    assert _found(repo) == set()  # a hook judges what it is given
    assert _found(repo, "--all") == {("clusters/home/apps.yaml", 7)}
    # A staged deletion is a change too: the CRD that allowed `legacy` goes, the shipped schema judges.
    write_files(repo, {"clusters/home/apps.yaml": KS.replace("deletionPolicy: Delete", "legacy: true"),
                       "clusters/home/flux-system/gotk-components.yaml": OLD_COMPONENTS.replace(
                           "prune: {type: boolean}", "prune: {type: boolean}\n" + " " * 16 + "legacy: {}")})
    commit_all(repo)
    assert _found(repo, "--all") == set()
    git(repo, "rm", "-q", "clusters/home/flux-system/gotk-components.yaml")
    assert _found(repo) == {("clusters/home/apps.yaml", 7)}


def test_the_closest_cluster_s_crds_decide(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write_files(repo, {"clusters/old/flux-system/gotk-components.yaml": OLD_COMPONENTS,
                       "clusters/old/apps.yaml": KS, "clusters/new/apps.yaml": KS,
                       "clusters/new/flux-system/gotk-components.yaml": OLD_COMPONENTS.replace(
                           "prune: {type: boolean}", "prune: {type: boolean}\n" + " " * 16 + "deletionPolicy: {}")})
    commit_all(repo)
    outcome = run_cli(["--all", "--select", "CL112", "--format", "json"], cwd=repo)
    assert [(f["path"], f["line"]) for f in outcome.json["findings"]] == [("clusters/old/apps.yaml", 7)]
    assert "(CRD in clusters/old/flux-system/gotk-components.yaml)" in outcome.json["findings"][0]["message"]


def test_a_crd_it_cannot_read_falls_back_to_the_shipped_schema(tmp_path: Path) -> None:
    crd = yaml.safe_load(OLD_COMPONENTS)
    deep: dict = {"type": "object"}
    for _ in range(70):  # deeper than a CRD schema may be (64), within what YAML may nest (200)
        deep = {"type": "object", "properties": {"x": deep}}
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["deep"] = deep
    crd = yaml.safe_dump(crd)
    repo = init_repo(tmp_path / "repo")
    write_files(repo, {"clusters/home/flux-system/gotk-components.yaml": crd,
                       "clusters/home/apps.yaml": KS.replace("prune: true", "prune: yes please")})
    commit_all(repo)
    outcome = run_cli(["--all", "--select", "CL112", "--format", "json"], cwd=repo)
    assert outcome.code == 1, outcome.err
    assert {(f["path"], f["line"]) for f in outcome.json["findings"]} == {("clusters/home/apps.yaml", 6)}
    assert any("cannot be read" in note for note in outcome.json["notes"])


def test_an_object_wrong_everywhere_is_said_in_bounded_findings(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    extra = "".join(f"  field{i}: {i}\n" for i in range(80))
    write_files(repo, {"apps.yaml": KS + extra})
    commit_all(repo)
    outcome = run_cli(["--all", "--select", "CL112", "--format", "json"], cwd=repo)
    found = [(f["line"], f["message"]) for f in outcome.json["findings"]]
    assert len(found) == 51 and (1, "Kustomization `apps`: 30 more schema problems not shown") in found


# -- real CRDs: the gotk-components.yaml Flux v0.24.1 wrote ------------------------------------


def test_real_gotk_components_judges_the_versions_it_serves(tmp_path: Path) -> None:
    """The real file serves HelmRelease v2beta1, Kustomization v1beta1 and v1beta2, sources v1beta1: objects
    of those versions are judged by it, a v1 Kustomization (which it does not serve) by the shipped schema."""
    real = shared_or_skip("corpus", "flux", "real-gotk-components", "gotk-components.yaml")
    repo = init_repo(tmp_path / "repo")
    (repo / "clusters/home/flux-system").mkdir(parents=True)
    shutil.copyfile(real, repo / "clusters/home/flux-system/gotk-components.yaml")
    write_files(repo, {"clusters/home/apps.yaml": """apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  prune: true
  validation: client
  patchesStrategicMerge: [{kind: Deployment}]
  sourceRef: {kind: GitRepository, name: flux-system}
  dependson: [{name: infra}]
---
apiVersion: helm.toolkit.fluxcd.io/v2beta1
kind: HelmRelease
metadata: {name: podinfo, namespace: apps}
spec:
  interval: 5m
  chart:
    spec: {chart: podinfo, version: 6.0.0, sourceRef: {kind: HelmRepository, name: podinfo}}
  install: {remediation: {retries: three}}
  valuesFrom: [{kind: ConfigMap, name: values}]
---
apiVersion: source.toolkit.fluxcd.io/v1beta1
kind: HelmRepository
metadata: {name: podinfo, namespace: apps}
spec: {interval: 1h, url: "https://stefanprodan.github.io/podinfo", timeout: 60s}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infra, namespace: flux-system}
spec: {interval: 10m, prune: true, sourceRef: {kind: GitRepository, name: flux-system}, validation: client}
"""})
    commit_all(repo)
    outcome = run_cli(["--all", "--select", "CL112", "--format", "json"], cwd=repo)
    found = {(f["line"], f["message"].split(": ", 1)[1].split(" ", 1)[0]) for f in outcome.json["findings"]}
    assert found == {(10, "`spec.dependson`"), (19, "`spec.install.remediation.retries`"),
                     (30, "`spec.validation`")}, outcome.json["findings"]
    by_line = {f["line"]: f["message"] for f in outcome.json["findings"]}
    assert by_line[10].endswith("(CRD in clusters/home/flux-system/gotk-components.yaml)")
    assert "CRD in" not in by_line[30]  # v1 is not served by v0.24.1's CRD: the shipped schema judged it


# -- the corpus: real repositories give no false finding ----------------------------------------

CORPUS: dict[str, str | None] = {
    "flux/fluxcd-flux2-kustomize-helm-example": "apps/base/podinfo/release.yaml",
    "flux/fluxcd-flux2-kustomize-helm-example--pre-flux-2.7": "apps/base/podinfo/release.yaml",
    "flux/fluxcd-flux2-multi-tenancy": "infrastructure/kyverno/sync.yaml",
    "flux/fluxcd-flux2-multi-tenancy--dev-team-branch": None,  # removed betas only: nothing CL112 judges
    "realworld/fluxcd-flux2-kustomize-helm-example": "apps/base/podinfo/release.yaml",
    "realworld/onedr0p-home-ops": "kubernetes/apps/default/atuin/app/helmrelease.yaml",
    "realworld/xunholy-k8s-gitops": "kubernetes/apps/base/home-system/bazarr/app/helmrelease.yaml",
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_repositories_give_no_false_finding(name: str, tmp_path: Path) -> None:
    """`--all` on every corpus repository gives no CL112 finding: hand-checked, every Flux object there is
    valid. The only candidate on the way was onedr0p-home-ops's Alert with `eventSources` of kind
    FluxInstance, valid because flux-operator installs the Alert CRD with its own kinds added to that enum
    (the shipped Alert schema carries them). Objects of removed beta APIs (dev-team branch, multi-tenancy's
    v1beta2 OCIRepository) are CL110's and not judged here; kinds with no shipped schema (tofu-controller's
    Terraform, the schema plugin's) neither. onedr0p-home-ops's five source-watcher ArtifactGenerators are
    judged and valid.

    So that the test can fail, one Flux object per tree gets `spec.intervall` first, and exactly that
    finding appears (which also shows the tree's Flux objects are judged at all); the dev-team branch holds
    only removed beta APIs and so nothing CL112 judges.
    """
    src = shared_or_skip("corpus", *name.split("/"))
    repo = tmp_path / "repo"
    shutil.copytree(src, repo)
    for path in repo.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    planted = CORPUS[name]
    expected = set()
    if planted is not None:
        text = (repo / planted).read_text(encoding="utf-8")
        head, sep, rest = text.partition("\nspec:\n")
        assert sep, f"{planted} has no top-level spec"
        (repo / planted).write_text(f"{head}\nspec:\n  intervall: 5m\n{rest}", encoding="utf-8")
        expected = {(planted, head.count("\n") + 3)}
    init_repo(repo)
    commit_all(repo)
    assert _found(repo, "--all") == expected


def test_messages_suggest_the_closest_name_and_never_quote_the_value(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write_files(repo, {"apps.yaml": KS.replace("deletionPolicy: Delete", "deletionPolicy: delete\n  dependson: []")
                       + "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: s}\n"
                       "spec: {interval: 1m, url: 'git@token-1234.example:repo'}\n"})
    commit_all(repo)
    outcome = run_cli(["--all", "--select", "CL112", "--format", "json"], cwd=repo)
    messages = [f["message"] for f in outcome.json["findings"]]
    assert len(messages) == 3, messages
    assert any("`spec.deletionPolicy` must be one of" in m and m.endswith("did you mean `Delete`?") for m in messages)
    assert any("`spec.dependson` is not a field" in m and m.endswith("did you mean `dependsOn`?") for m in messages)
    assert any("`spec.url` must be a URL starting with `http://`, `https://` or `ssh://`" in m for m in messages)
    assert "token-1234" not in outcome.out


def test_the_check_knows_the_same_crd_files_as_the_schema_source() -> None:
    from cloudlab_lint.checks import flux_crd
    from cloudlab_lint.stack.crd import schemas as flux_crds

    assert flux_crd.COMPONENTS == flux_crds.COMPONENTS


HELM_RELEASE = """apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: app, namespace: apps}
spec:
  interval: 30m
  chart:
    spec: {chart: app, version: 1.0.0, sourceRef: {kind: HelmRepository, name: charts}}
  values:
    image: {tag: "1.0"}
    replicas: 2
"""


def test_a_helm_release_is_judged_on_its_facts_and_read_whole_only_for_a_finding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The facts leave a HelmRelease's `values` out; its schema asks only their type, so a valid release is
    judged without a second parse, and a release with a finding is judged (and said) from the whole object."""
    from cloudlab_lint.repo import Repo

    read_whole: list[str] = []
    original = Repo.yaml

    def counting(self: Repo, path: str) -> object:
        read_whole.append(path)
        return original(self, path)

    monkeypatch.setattr(Repo, "yaml", counting)
    typo = HELM_RELEASE.replace("  values:\n", "  intervall: 5m\n  values:\n")
    listed = HELM_RELEASE.replace("  values:\n    image: {tag: \"1.0\"}\n    replicas: 2\n", "  values:\n    - 1\n")
    root = init_repo(tmp_path / "repo")
    write_files(root, {"kubernetes/apps/ok.yaml": HELM_RELEASE, "kubernetes/apps/typo.yaml": typo,
                       "kubernetes/apps/listed.yaml": listed})
    commit_all(root)
    # `values` is free-form (x-kubernetes-preserve-unknown-fields): a list there is no finding, read whole or not
    assert _found(root, "--all") == {("kubernetes/apps/typo.yaml", 8)}
    assert "kubernetes/apps/typo.yaml" in read_whole
    assert not {"kubernetes/apps/ok.yaml", "kubernetes/apps/listed.yaml"} & set(read_whole)
