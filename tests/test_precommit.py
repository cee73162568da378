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
