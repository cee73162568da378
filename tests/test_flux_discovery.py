"""Where clusters start: `flux bootstrap`, flux-operator's FluxInstance (manifest, the flux-instance chart's values
inline or from a ConfigMap), an OCI sync resolved against the folder CI pushes, `flux.clusters`, and ResourceSets."""

from __future__ import annotations

from pathlib import Path

from cloudlab_lint.config import Config
from cloudlab_lint.repo import Repo
from cloudlab_lint.stack.gitops.tree import GitOps, model

from .helpers import commit_all, init_repo, run_cli, write_files

KS = ("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n"
      "  namespace: flux-system\nspec:\n  interval: 1h\n  retryInterval: 1m\n  timeout: 5m\n  prune: true\n"
      "  wait: true\n  path: {path}\n  sourceRef:\n    kind: {kind}\n    name: flux-system\n")
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\n"


def instance(kind: str, path: str, ns: str = "flux-system", name: str = "") -> str:
    extra = f"      name: {name}\n" if name else ""
    return (f"apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n  namespace: {ns}\n"
            f"spec:\n  distribution:\n    version: 2.x\n  sync:\n    kind: {kind}\n    url: https://example.com/repo\n"
            f"    ref: main\n    path: {path}\n{extra}")


def build(files: dict[str, str], tmp_path: Path, config: Config | None = None) -> GitOps:
    root = init_repo(tmp_path / "repo")
    write_files(root, files)
    commit_all(root)
    return model(Repo.open(root, is_git=True, paths=None, all_files=True, cwd=root), config or Config())


def applied(gitops: GitOps) -> set[str]:
    return {o.name for c in gitops.clusters if c.folder is not None for o in c.objects if o.index >= 0}


def test_a_fluxinstance_manifest_syncs_a_git_path(tmp_path: Path) -> None:
    gitops = build({"kubernetes/flux-system/instance.yaml": instance("GitRepository", "kubernetes/cluster"),
                    "kubernetes/cluster/ks.yaml": KS.format(name="apps", path="./kubernetes/apps",
                                                            kind="GitRepository"),
                    "kubernetes/apps/cm.yaml": CM.format(name="app-config")}, tmp_path)
    real = [c for c in gitops.clusters if c.folder is not None]
    assert [(c.kind, c.folder) for c in real] == [("FluxInstance", "kubernetes/cluster")]
    assert real[0].bootstrap is not None and real[0].bootstrap.key == ("flux-system", "flux-system")
    assert {"apps", "app-config"} <= applied(gitops)


def test_sync_name_defaults_to_the_instance_namespace(tmp_path: Path) -> None:
    gitops = build({"kubernetes/flux/instance.yaml": instance("GitRepository", "kubernetes/cluster", ns="gitops"),
                    "kubernetes/cluster/cm.yaml": CM.format(name="x")}, tmp_path)
    boot = next(c for c in gitops.clusters if c.folder is not None).bootstrap
    assert boot is not None and boot.key == ("gitops", "gitops")


def test_an_oci_sync_path_is_relative_to_the_folder_ci_pushes(tmp_path: Path) -> None:
    push = ("on: push\njobs:\n  push:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n"
            "          flux push artifact oci://ghcr.io/example/manifests:main \\\n"
            "            --path=\"./deploy\" \\\n            --source=example\n")
    gitops = build({"deploy/flux/instance.yaml": instance("OCIRepository", "./clusters/home"),
                    "deploy/clusters/home/ks.yaml": KS.format(name="apps", path="./apps", kind="OCIRepository"),
                    "deploy/apps/cm.yaml": CM.format(name="pushed"), ".github/workflows/push.yaml": push}, tmp_path)
    cluster = next(c for c in gitops.clusters if c.folder is not None)
    assert (cluster.folder, cluster.base) == ("deploy/clusters/home", "deploy")
    assert "pushed" in applied(gitops)
    assert not gitops.notes


def test_an_oci_sync_without_a_push_is_a_note_naming_the_key(tmp_path: Path) -> None:
    gitops = build({"kubernetes/flux/instance.yaml": instance("OCIRepository", "./clusters/home"),
                    "kubernetes/clusters/home/cm.yaml": CM.format(name="x")}, tmp_path)
    assert len(gitops.notes) == 1 and "flux push artifact" in gitops.notes[0] and "flux.clusters" in gitops.notes[0]


def test_the_flux_instance_chart_takes_values_from_a_configmap(tmp_path: Path) -> None:
    hr = ("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: flux-instance\n"
          "  namespace: flux-system\nspec:\n  interval: 1h\n  chart:\n    spec:\n      chart: flux-instance\n"
          "      sourceRef: {kind: HelmRepository, name: cp}\n  valuesFrom:\n    - kind: ConfigMap\n"
          "      name: instance-values\n")
    values = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: instance-values\n  namespace: flux-system\n"
              "data:\n  values.yaml: |\n    instance:\n      sync:\n        kind: GitRepository\n"
              "        url: https://example.com/repo\n        path: kubernetes/cluster\n")
    gitops = build({"kubernetes/flux/hr.yaml": hr, "kubernetes/flux/values.yaml": values,
                    "kubernetes/cluster/cm.yaml": CM.format(name="synced")}, tmp_path)
    assert [c.folder for c in gitops.clusters if c.folder] == ["kubernetes/cluster"]
    assert "synced" in applied(gitops)


def test_configured_clusters_replace_discovery(tmp_path: Path) -> None:
    files = {"kubernetes/flux/instance.yaml": instance("GitRepository", "kubernetes/cluster"),
             "kubernetes/cluster/cm.yaml": CM.format(name="one"), "other/cm.yaml": CM.format(name="two")}
    gitops = build(files, tmp_path, Config(clusters=("other",)))
    assert [(c.kind, c.folder) for c in gitops.clusters if c.folder] == [("flux.clusters", "other")]
    assert applied(gitops) == {"two"}


def test_a_resourceset_generates_kustomizations_the_cluster_follows(tmp_path: Path) -> None:
    rset = ("apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata:\n  name: apps\n"
            "  namespace: flux-system\nspec:\n  inputs:\n    - {app: web}\n  resources:\n"
            "    - apiVersion: kustomize.toolkit.fluxcd.io/v1\n      kind: Kustomization\n      metadata:\n"
            "        name: << inputs.app >>\n        namespace: flux-system\n      spec:\n        interval: 1h\n"
            "        prune: true\n        path: ./kubernetes/apps/<< inputs.app >>\n"
            "        sourceRef: {kind: GitRepository, name: flux-system}\n")
    gitops = build({"kubernetes/flux/instance.yaml": instance("GitRepository", "kubernetes/cluster"),
                    "kubernetes/cluster/rset.yaml": rset, "kubernetes/apps/web/cm.yaml": CM.format(name="web-config")},
                   tmp_path)
    cluster = next(c for c in gitops.clusters if c.folder)
    assert ("flux-system", "web") in cluster.kustomizations
    assert "web-config" in applied(gitops)


def test_no_cluster_is_one_note_and_no_chain_finding(tmp_path: Path) -> None:
    files = {"kubernetes/apps/ks.yaml": KS.format(name="apps", path="./kubernetes/apps", kind="GitRepository")}
    root = init_repo(tmp_path / "repo")
    write_files(root, files)
    commit_all(root)
    out = run_cli(["--all", "--select", "CL1", "--format", "json"], cwd=root)
    assert out.json["findings"] == []
    assert [n for n in out.json["notes"] if "no Flux cluster found" in n and "flux.clusters" in n]
    assert "no Flux cluster found" in run_cli(["graph"], cwd=root).out


def test_an_instance_cluster_without_the_chain_is_not_held_to_it(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    write_files(root, {"kubernetes/flux/instance.yaml": instance("GitRepository", "kubernetes/cluster"),
                       "kubernetes/cluster/ks.yaml": KS.format(name="apps", path="./kubernetes/apps",
                                                               kind="GitRepository"),
                       "kubernetes/apps/cm.yaml": CM.format(name="a")})
    commit_all(root)
    assert run_cli(["--all", "--select", "CL101,CL102", "--format", "json"], cwd=root).json["findings"] == []


def test_bootstraps_beyond_the_cap_are_a_note(tmp_path: Path, monkeypatch: object) -> None:
    from cloudlab_lint.stack.gitops import boot as gitops_boot

    monkeypatch.setattr(gitops_boot, "MAX_CLUSTERS", 2)  # type: ignore[attr-defined]
    files = {f"c{i}/flux-system/gotk-sync.yaml": "# placeholder\n" for i in range(3)}
    files |= {f"c{i}/cm.yaml": CM.format(name=f"cm{i}") for i in range(3)}
    gitops = build(files, tmp_path, Config(gitops_root="c0"))
    assert [c.folder for c in gitops.clusters if c.folder] == ["c0", "c1"]
    assert any("only the first 2" in n for n in gitops.notes)
