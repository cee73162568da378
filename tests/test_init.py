"""`cloudlab-lint init`: the design's repository scaffolded, passing `--all` but for the placeholders it names."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from cloudlab_lint.scaffold import AGE_PLACEHOLDER

from .helpers import commit_all, git, init_repo, run_cli, write_files


def test_init_in_an_empty_repository_passes_but_for_its_placeholders(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "homelab")
    outcome = run_cli(["init"], cwd=root)
    assert outcome.code == 0, outcome.err
    for path in (".sops.yaml", ".gitignore", ".mise.toml", "lefthook.yml", ".github/workflows/check.yml",
                 ".pre-commit-config.yaml", ".cloudlab-lint.yaml", "kubernetes/kustomization.yaml",
                 "kubernetes/flux-system/gotk-sync.yaml", "kubernetes/apps/kustomization.yaml"):
        assert (root / path).is_file(), path
        assert f"created {path}" in outcome.out
    assert "Placeholders to replace:" in outcome.out and ".sops.yaml: replace" in outcome.out
    assert (root / ".cloudlab-lint.yaml").read_text().startswith("# yaml-language-server: $schema=https://")
    commit_all(root)
    result = run_cli(["--all", "--format", "json"], cwd=root)
    # Only the named placeholder: the age key of .sops.yaml's two creation rules.
    assert result.found() == {("CL004", ".sops.yaml", 7), ("CL004", ".sops.yaml", 9)}, result.out
    assert all(AGE_PLACEHOLDER in f["message"] for f in result.json["findings"])
    history = run_cli(["--all", "--history", "--select", "CL006", "--format", "json"], cwd=root)
    assert history.code == 0 and history.found() == set()
    # The workflow uses the action; the pre-commit config names the hooks.
    workflow = yaml.safe_load((root / ".github/workflows/check.yml").read_text())
    uses = [s.get("uses", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert any(u.startswith("cloudlab/cloudlab-lint@") for u in uses)
    hooks = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert {h["id"] for h in hooks} >= {"cloudlab-lint", "cloudlab-lint-fix"}


def test_init_never_overwrites_and_takes_the_url_from_origin(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "homelab")
    git(root, "remote", "add", "origin", "git@github.com:jane/cloudlab.git")
    write_files(root, {".gitignore": "mine\n"})
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\n")
    os.symlink(outside, root / "lefthook.yml")  # a link is kept, never written through
    outcome = run_cli(["init"], cwd=root)
    assert outcome.code == 0, outcome.err
    assert (root / ".gitignore").read_text() == "mine\n" and outside.read_text() == "keep\n"
    assert "kept    .gitignore (exists)" in outcome.out and "kept    lefthook.yml (exists)" in outcome.out
    assert "url: ssh://git@github.com/jane/cloudlab\n" in (root / "kubernetes/flux-system/gotk-sync.yaml").read_text()
    assert "OWNER/REPOSITORY" not in outcome.out
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}
    again = run_cli(["init"], cwd=root)
    assert again.code == 0 and "created" not in again.out
    assert before == {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert not list(root.rglob(".cloudlab-init-*"))  # no temporary file left behind


def test_init_outside_a_git_repository_is_exit_2(tmp_path: Path) -> None:
    outcome = run_cli(["init", "--root", str(tmp_path)], cwd=tmp_path)
    assert outcome.code == 2 and "init needs a git repository" in outcome.err
    assert list(tmp_path.iterdir()) == []


def test_init_then_commit_passes_a_real_lint_of_its_own_kept_files(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "homelab")
    write_files(root, {"README.md": "# homelab\n"})
    commit_all(root)
    assert run_cli(["init"], cwd=root).code == 0
    commit_all(root)
    assert run_cli(["--all", "--ignore", "CL004", "--fail-on", "note"], cwd=root).code == 0
