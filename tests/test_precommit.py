"""End to end: the real `pre-commit try-repo` installs this repository as a hook repository and runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .helpers import PROJECT, commit_all, git, init_repo, write_files

STATE = '{"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "x", "resources": []}\n'


def _try_repo(target: Path, home: Path, hook: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(PROJECT), hook, "--verbose"],
                          cwd=target, env=env, capture_output=True, text=True, timeout=900, check=False)


def test_try_repo_blocks_a_staged_tfstate_then_passes(tmp_path: Path) -> None:
    home = tmp_path / "pre-commit-home"  # one home for both runs: the hook environment is built once
    target = init_repo(tmp_path / "target")
    write_files(target, {"README.md": "# homelab\n", ".gitignore": "terraform.tfstate*\n.age-key.txt\nkubeconfig\n"
                                                                      "talosconfig\n"})
    commit_all(target)
    write_files(target, {"terraform/terraform.tfstate": STATE})
    git(target, "add", "-f", "terraform/terraform.tfstate")

    failed = _try_repo(target, home, "cloudlab-gitignore")
    output = failed.stdout + failed.stderr
    assert failed.returncode == 1, output
    assert "terraform/terraform.tfstate:1:1: CL002 [error] Terraform state" in output

    git(target, "rm", "-q", "--cached", "terraform/terraform.tfstate")
    (target / "terraform" / "terraform.tfstate").unlink()
    write_files(target, {"terraform/main.tf": 'resource "null_resource" "x" {}\n'})
    git(target, "add", "terraform/main.tf")
    passed = _try_repo(target, home, "cloudlab-gitignore")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "CL002" not in passed.stdout

    # The fix hook (same environment): it repairs .gitignore and fails, as ruff's does, until the fix is staged.
    write_files(target, {".gitignore": "terraform.tfstate*\n.age-key.txt\n"})
    git(target, "add", ".gitignore")
    fixed = _try_repo(target, home, "cloudlab-lint-fix")
    output = fixed.stdout + fixed.stderr
    assert fixed.returncode == 1 and "files were modified" in output, output
    assert "kubeconfig" in (target / ".gitignore").read_text()
    git(target, "add", ".gitignore")
    again = _try_repo(target, home, "cloudlab-lint-fix")
    assert again.returncode == 0, again.stdout + again.stderr

def test_installed_hook_blocks_commit_all_and_deletions(tmp_path: Path) -> None:
    """`pre-commit install`, then real commits: `git commit -a` of a token and a staged deletion of
    `.gitignore` (pre-commit passes no file for it) are both blocked; a clean commit passes."""
    home = tmp_path / "pre-commit-home"
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    target = init_repo(tmp_path / "target")
    rev = git(PROJECT, "rev-parse", "HEAD").strip()
    write_files(target, {
        ".pre-commit-config.yaml":
            f"repos:\n  - repo: {PROJECT}\n    rev: {rev}\n    hooks:\n      - id: cloudlab-lint\n",
        ".gitignore": "terraform.tfstate*\n.age-key.txt\nkubeconfig\ntalosconfig\n",
        "README.md": "# homelab\n", "notes.md": "nothing\n"})
    commit_all(target)
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=target, env=env, check=True,
                   capture_output=True, timeout=120)

    def commit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "commit", "-q", "-m", "change", *args], cwd=target, env=env,
                              capture_output=True, text=True, timeout=900, check=False)

    token = "ghp_" + "Fake0Tok3n" * 3 + "abcdef"
    write_files(target, {"notes.md": f"token: {token}\n"})
    blocked = commit("-a")
    assert blocked.returncode != 0 and "notes.md:1:" in blocked.stdout + blocked.stderr
    assert token not in blocked.stdout + blocked.stderr
    git(target, "checkout", "--", "notes.md")

    git(target, "rm", "-q", ".gitignore")
    blocked = commit()
    assert blocked.returncode != 0 and "CL001" in blocked.stdout + blocked.stderr
    git(target, "reset", "-q", "HEAD", "--", ".gitignore")
    git(target, "checkout", "--", ".gitignore")

    write_files(target, {"notes.md": "still nothing\n"})
    passed = commit("-a")
    assert passed.returncode == 0, passed.stdout + passed.stderr
