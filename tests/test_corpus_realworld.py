"""`--all` on real GitOps repositories of every shape, with no configuration: the Flux family (CL1xx) and CL203
report exactly the findings checked by hand, recorded in `tests/golden/realworld/<name>.json`.

The snapshots are /work/shared/corpus/realworld/ (see its PROVENANCE.md), each copied into a temporary git
repository. Other families' findings (secrets, SOPS, CI) are other tests' business and are not compared here.

Hand-checks (2026-12-04), each finding read against the file and the rule's own text:

- onedr0p/home-ops (flux-operator: the flux-instance chart's `values.instance.sync`, GitRepository,
  path `kubernetes/flux/cluster`): the cluster is found; no "not defined in this cluster" (was 78).
  CL103 x134: 78 Kustomizations (77 apps and `cluster-apps`) set neither `retryInterval` nor `timeout`
  (grep: no ks.yaml holds `retryInterval`), 56 write `wait: false` without `healthChecks` (57 write
  `wait: false`; `kopiur` has healthChecks). The default `require` demands them: true. CL203 x2: no mise
  `check` task (the repository uses just), and `[tools]` lists neither kubeconform nor flux2: true.
  No CL101/CL102/CL108 any more: the seed layout and chain are not this repository's (no gotk-sync.yaml),
  and the kopiur/zeroscaler components render a different object per app (`${APP}` substituted).
- fluxcd/flux2-kustomize-helm-example (`flux bootstrap`, `clusters/{staging,production}`, no kubernetes/,
  ExternalArtifacts from an ArtifactGenerator): both clusters found, the graph drawn. CL105 x3: the two
  overlays patch `>=1.0.0` / `>=1.0.0-alpha` into podinfo, and envoy-gateway's OCIRepository follows
  `>= 1.8.0-rc.0`: unbounded, true. CL103 x2: `infra-configs` sets no `wait` in either cluster: true.
- xunholy/k8s-gitops (flux-operator inside a ResourceSet, values from a configMapGenerator values file,
  OCIRepository sync `./clusters/cluster-00` relative to `flux push artifact --path=./kubernetes` in
  .github/workflows/oci.yaml): the cluster is found at kubernetes/clusters/cluster-00. CL103 x38: 30 write
  `wait: false`, three write `prune: false` and (with `cluster`) four set no `retryInterval` (the parent's
  defaults patch skips them by the `gitops.owncloud.ai/defaults: disabled` label), and the disabled
  `minecraft-witherstorm` names an ExternalArtifact that no ArtifactGenerator produces: true. CL108 x3: the
  instance's Kustomization applies `clusters/cluster-00` with Flux's generated kustomization, which takes
  each `flux-system/*/app` folder whole, also applied by its own Kustomization: true. CL109 x4: files in
  folders whose kustomization file does not list them (examples, two encrypted Secrets, a PodMonitor): true.
  The note names the ResourceSet whose inputs come from outside the repository.

The lines are where a reader fixes each one (the spec key, or `spec` for a missing field).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .helpers import PROJECT, commit_all, init_repo, run_cli, shared_or_skip

GOLDEN = PROJECT / "tests" / "golden" / "realworld"
NAMES = ["onedr0p-home-ops", "fluxcd-flux2-kustomize-helm-example", "xunholy-k8s-gitops"]


def _repo(name: str, dest: Path) -> Path:
    src = shared_or_skip("corpus", "realworld", name)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".git"))
    init_repo(dest)
    commit_all(dest)
    return dest


@pytest.mark.parametrize("name", NAMES)
def test_flux_findings_on_real_repositories_are_the_hand_checked_ones(name: str, tmp_path: Path) -> None:
    repo = _repo(name, tmp_path / "repo")
    outcome = run_cli(["--all", "--format", "json", "--fail-on", "never"], cwd=repo)
    assert outcome.code == 0, outcome.err
    found = sorted([f["rule"], f["path"], f["line"], f["message"]] for f in outcome.json["findings"]
                   if f["rule"].startswith("CL1") or f["rule"] == "CL203")
    expected = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    assert found == expected["findings"]
    assert [n for n in outcome.json.get("notes", []) if "Flux" in n or "ResourceSet" in n or "FluxInstance" in n] \
        == expected["notes"]


def test_a_clusters_folder_repository_draws_both_clusters(tmp_path: Path) -> None:
    repo = _repo("fluxcd-flux2-kustomize-helm-example", tmp_path / "repo")
    text = run_cli(["graph", "--format", "text"], cwd=repo).out
    assert "cluster clusters/production" in text and "cluster clusters/staging" in text
    assert text.count("flux-system/apps  <- infra-configs") == 2
