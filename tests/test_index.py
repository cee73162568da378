"""A commit hook judges exactly what will be committed: the index, through a real installed git hook.

Each case is a real `git commit` (plain, `-a`, `--only PATH`, in a linked work tree) with this tool
installed as `.git/hooks/pre-commit`, exactly as a user or lefthook runs it: no arguments, git's own
`GIT_INDEX_FILE` in the environment. A blocked commit leaves HEAD where it was.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import PROJECT, commit_all, git, init_repo, run_cli, write_files

TOKEN = "ghp_" + "Fake0Tok3n" * 3 + "abcdef"  # built here: the project's own lint never sees a literal token
IGNORE = "terraform.tfstate*\n*.tfstate\n.age-key.txt\n*.agekey\nkubeconfig\ntalosconfig\n"
SOPS_YAML = "creation_rules:\n  - path_regex: .*\\.sops\\.ya?ml$\n    age: " \
            "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n"
PLAIN_SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2-fixture\n"


def install_hook(repo: Path) -> None:
    hooks = Path(git(repo, "rev-parse", "--git-path", "hooks").strip())
    hooks = hooks if hooks.is_absolute() else repo / hooks
    hooks.mkdir(parents=True, exist_ok=True)
    hook = hooks / "pre-commit"
    hook.write_text(f"#!/bin/sh\nexec {sys.executable} -m cloudlab_lint\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)


def commit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`git commit`; git sends a hook's standard output to its standard error: `stdout` holds both."""
    done = subprocess.run(["git", "commit", "-q", "-m", "change", *args], cwd=repo, capture_output=True, text=True,
                          check=False, timeout=120)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout + done.stderr, "")


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """The design's example: this project's own Flux tree, .gitignore and .sops.yaml; a clean first commit."""
    root = init_repo(tmp_path / "repo")
    shutil.copytree(PROJECT / "kubernetes", root / "kubernetes")
    write_files(root, {".gitignore": IGNORE, ".sops.yaml": SOPS_YAML, "README.md": "# lab\n",
                       "notes/todo.md": "nothing yet\n"})
    commit_all(root, "start")
    install_hook(root)
    return root


def test_a_clean_commit_passes(repo: Path) -> None:
    write_files(repo, {"notes/todo.md": "still nothing\n"})
    git(repo, "add", "notes/todo.md")
    done = commit(repo)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("how", ["-a", "--only"])
def test_commit_all_and_commit_path_judge_the_temporary_index(repo: Path, how: str) -> None:
    """`git commit -a` and `git commit PATH` build a temporary index and name it in GIT_INDEX_FILE."""
    before = head(repo)
    write_files(repo, {"notes/todo.md": f"token: {TOKEN}\n"})
    done = commit(repo, "-a") if how == "-a" else commit(repo, "--", "notes/todo.md")
    assert done.returncode != 0
    assert "notes/todo.md:1:" in done.stdout and "CL005" in done.stdout
    assert TOKEN not in done.stdout + done.stderr
    assert head(repo) == before


def test_the_staged_blob_is_judged_not_the_work_tree(repo: Path) -> None:
    before = head(repo)
    write_files(repo, {"notes/todo.md": f"token: {TOKEN}\n"})
    git(repo, "add", "notes/todo.md")
    write_files(repo, {"notes/todo.md": "cleaned, but only on disk\n"})
    done = commit(repo)
    assert done.returncode != 0 and "notes/todo.md:1:" in done.stdout and "CL005" in done.stdout
    assert head(repo) == before
    # And the other way round: a clean index passes whatever the work tree holds.
    git(repo, "add", "notes/todo.md")
    write_files(repo, {"notes/todo.md": f"token: {TOKEN}\n"})
    assert commit(repo).returncode == 0


def test_a_plaintext_sops_file_deleted_from_disk_is_still_judged(repo: Path) -> None:
    write_files(repo, {"kubernetes/apps/db.sops.yaml": PLAIN_SECRET})
    git(repo, "add", "kubernetes/apps/db.sops.yaml")
    os.unlink(repo / "kubernetes/apps/db.sops.yaml")
    done = commit(repo)
    assert done.returncode != 0 and "kubernetes/apps/db.sops.yaml:" in done.stdout and "CL004" in done.stdout
    assert "hunter2-fixture" not in done.stdout + done.stderr


def test_deleting_gitignore_fails_the_commit_that_deletes_it(repo: Path) -> None:
    before = head(repo)
    git(repo, "rm", "-q", ".gitignore")
    done = commit(repo)
    assert done.returncode != 0 and ".gitignore:1:" in done.stdout and "CL001" in done.stdout
    assert head(repo) == before


def test_deleting_a_flux_kustomization_fails_the_commit(repo: Path) -> None:
    git(repo, "rm", "-q", "kubernetes/flux-system/infrastructure.yaml")
    done = commit(repo)
    assert done.returncode != 0
    assert "CL104" in done.stdout and "kubernetes/flux-system/kustomization.yaml" in done.stdout
    assert "CL102" in done.stdout  # apps depends on infrastructure, which is gone


def test_a_linked_work_tree_names_its_index_by_absolute_path(repo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(linked), "-b", "side")
    write_files(linked, {"notes/todo.md": f"token: {TOKEN}\n"})
    done = commit(linked, "-a")
    assert done.returncode != 0 and "notes/todo.md:1:" in done.stdout and "CL005" in done.stdout
    write_files(linked, {"notes/todo.md": "fine\n"})
    assert commit(linked, "-a").returncode == 0


def test_a_hook_changes_nothing_in_the_index(repo: Path) -> None:
    """No optional locks, no index refresh: the index file is byte for byte what git left."""
    write_files(repo, {"notes/todo.md": "x\n"})
    git(repo, "add", "notes/todo.md")
    index = (repo / ".git" / "index").read_bytes()
    out = run_cli(["--format", "json"], cwd=repo)
    assert out.code == 0, out.err
    assert (repo / ".git" / "index").read_bytes() == index


# -- named paths, subcommands, selection ------------------------------------------------------------


def test_an_untracked_named_file_is_judged_as_content(repo: Path) -> None:
    write_files(repo, {"newsecret.yaml": f"token: {TOKEN}\n", "new.sops.yaml": PLAIN_SECRET})
    out = run_cli(["newsecret.yaml", "new.sops.yaml", "--format", "json"], cwd=repo)
    assert out.code == 1
    assert out.found() >= {("CL005", "newsecret.yaml", 1), ("CL004", "new.sops.yaml", 1)}
    assert TOKEN not in out.out + out.err


def test_a_path_that_is_nowhere_is_exit_2(repo: Path) -> None:
    out = run_cli(["nonexistent.yaml"], cwd=repo)
    assert out.code == 2 and out.err == ("cloudlab-lint: error: nonexistent.yaml: no such file in the work tree "
                                         "or the index\n")
    out = run_cli(["rule"], cwd=repo)
    assert out.code == 2 and "did you mean the subcommand `rules`?" in out.err


def test_a_named_staged_deletion_is_a_deletion(repo: Path) -> None:
    git(repo, "rm", "-q", ".gitignore")
    out = run_cli([".gitignore", "--format", "json"], cwd=repo)
    assert out.code == 1 and ("CL001", ".gitignore", 1) in out.found()


def test_subcommands_parse_after_global_options_and_never_after_double_dash(repo: Path, tmp_path: Path) -> None:
    out = run_cli(["--root", str(repo), "graph"], cwd=tmp_path)
    assert out.code == 0 and "infrastructure" in out.out
    out = run_cli(["--debug", "rules", "--format", "json"], cwd=repo)
    assert out.code == 0 and '"CL001"' in out.out
    write_files(repo, {"graph": f"token: {TOKEN}\n"})
    git(repo, "add", "graph")
    out = run_cli(["--format", "json", "--", "graph"], cwd=repo)
    assert out.code == 1 and ("CL005", "graph", 1) in out.found()


def test_a_rule_selected_by_id_that_cannot_run_is_exit_2(repo: Path) -> None:
    out = run_cli(["--all", "--select", "CL006"], cwd=repo)
    assert out.code == 2 and "CL006 runs only with --history" in out.err
    out = run_cli(["--all", "--select", "CL301"], cwd=repo)
    assert out.code == 2 and "CL301 runs only with --github" in out.err
    out = run_cli(["--all", "--select", "CL0", "--format", "json"], cwd=repo)  # a prefix leaves it out
    assert out.code == 0 and "CL006" not in out.json["summary"]["rules"]


# -- suppressions and what counts only when tracked --------------------------------------------------


def test_a_trailing_suppression_covers_its_own_line_only(repo: Path) -> None:
    other = "ghp_" + "An0therFake" * 3 + "xyz"
    directive = "cloudlab-lint" ": disable"  # split: this file's own lint must not take it for a suppression
    write_files(repo, {"notes/todo.md": f"a: {TOKEN}  # {directive}=CL005 fixture\nb: {other}\n"})
    git(repo, "add", "notes/todo.md")
    out = run_cli(["--format", "json"], cwd=repo)
    assert out.found() == {("CL005", "notes/todo.md", 2)}
    write_files(repo, {"notes/todo.md": f"# {directive}=no-plaintext-secrets fixture\nb: {other}\n"})
    git(repo, "add", "notes/todo.md")
    assert run_cli(["--format", "json"], cwd=repo).found() == set()


def test_unknown_and_unused_suppressions_are_notes(repo: Path) -> None:
    directive = "cloudlab-lint" + ": disable=CL999,CL005"  # split: this file's own lint must not read it
    write_files(repo, {"notes/todo.md": f"x: 1  # {directive}\n"})
    git(repo, "add", "notes/todo.md")
    out = run_cli(["--format", "json"], cwd=repo)
    assert out.code == 0
    assert "notes/todo.md:1: suppression names no rule: 'CL999' (ignored)" in out.err
    assert "unused suppression" not in out.err
    out = run_cli(["--format", "json", "--report-unused-suppressions"], cwd=repo)
    assert "notes/todo.md:1: unused suppression: CL005 hides nothing here" in out.err


def test_an_untracked_secrets_baseline_hides_nothing(repo: Path) -> None:
    import json

    write_files(repo, {"notes/todo.md": f"token: {TOKEN}\n"})
    git(repo, "add", "notes/todo.md")
    found = run_cli(["--format", "json"], cwd=repo)
    assert ("CL005", "notes/todo.md", 1) in found.found()
    from cloudlab_lint.stack.secrets import secret_hash

    baseline = {"version": "1.5.0", "plugins_used": [], "filters_used": [],
                "results": {"notes/todo.md": [{"type": "GitHub Token", "hashed_secret": secret_hash(TOKEN),
                                               "line_number": 1, "is_secret": False}]}}
    write_files(repo, {".secrets.baseline": json.dumps(baseline)})
    out = run_cli(["--format", "json"], cwd=repo)
    assert ("CL005", "notes/todo.md", 1) in out.found()
    assert ".secrets.baseline: not tracked by git, ignored" in out.err
    git(repo, "add", ".secrets.baseline")  # tracked, the same baseline does hide it
    assert ("CL005", "notes/todo.md", 1) not in run_cli(["--format", "json"], cwd=repo).found()


def test_an_untracked_config_is_ignored_with_a_note(repo: Path) -> None:
    write_files(repo, {".cloudlab-lint.yaml": "exclude: ['notes/**']\n", "notes/todo.md": f"token: {TOKEN}\n"})
    git(repo, "add", "notes/todo.md")
    out = run_cli(["--format", "json"], cwd=repo)
    assert ("CL005", "notes/todo.md", 1) in out.found()
    assert ".cloudlab-lint.yaml: not tracked by git, ignored" in out.err
    out = run_cli(["--format", "json", "--config", ".cloudlab-lint.yaml"], cwd=repo)  # named: it counts
    assert ("CL005", "notes/todo.md", 1) not in out.found()


def test_the_staged_config_is_the_one_a_hook_uses(repo: Path) -> None:
    write_files(repo, {".cloudlab-lint.yaml": "exclude: ['notes/**']\n"})
    git(repo, "add", ".cloudlab-lint.yaml")
    write_files(repo, {".cloudlab-lint.yaml": "exclude: []\n", "notes/todo.md": f"token: {TOKEN}\n"})
    git(repo, "add", "notes/todo.md")
    assert ("CL005", "notes/todo.md", 1) not in run_cli(["--format", "json"], cwd=repo).found()


def test_fix_edits_the_work_tree_and_says_to_stage(repo: Path) -> None:
    write_files(repo, {".gitignore": "*.tfstate\n"})
    git(repo, "add", ".gitignore")
    out = run_cli(["--fix", "--format", "json"], cwd=repo)
    assert out.code == 1 and ("CL001", ".gitignore", 1) in out.found()  # the index still lacks the fix
    assert "`git add .gitignore` to commit the fix" in out.err
    git(repo, "add", ".gitignore")
    assert ("CL001", ".gitignore", 1) not in run_cli(["--format", "json"], cwd=repo).found()


def test_a_sparse_checkout_is_read_from_git(repo: Path) -> None:
    write_files(repo, {"hidden/leak.md": f"token: {TOKEN}\n"})
    git(repo, "add", "hidden/leak.md")
    git(repo, "commit", "-q", "--no-verify", "-m", "leak")
    git(repo, "sparse-checkout", "set", "--no-cone", "/*", "!/hidden/")
    assert not (repo / "hidden" / "leak.md").exists()
    out = run_cli(["--all", "--format", "json", "--select", "CL005"], cwd=repo)
    assert out.found() == {("CL005", "hidden/leak.md", 1)}


def test_a_directive_quoted_in_prose_is_no_suppression(repo: Path) -> None:
    quoted = "suppress with `# cloudlab-lint" ": disable=CL005 reason` on the line"
    write_files(repo, {"notes/todo.md": f"{quoted}: token: {TOKEN}\n"})
    git(repo, "add", "notes/todo.md")
    assert run_cli(["--format", "json"], cwd=repo).found() == {("CL005", "notes/todo.md", 1)}


def test_a_tracked_file_deleted_only_from_the_work_tree_is_read_from_git(repo: Path) -> None:
    write_files(repo, {"notes/leak.md": f"token: {TOKEN}\n"})
    git(repo, "add", "notes/leak.md")
    git(repo, "commit", "-q", "--no-verify", "-m", "leak")
    os.unlink(repo / "notes" / "leak.md")  # not staged: the commit still tracks it
    out = run_cli(["--all", "--format", "json", "--select", "CL005"], cwd=repo)
    assert out.found() == {("CL005", "notes/leak.md", 1)}


def test_a_named_path_outside_the_repository_is_said(repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.md"
    elsewhere.write_text(f"token: {TOKEN}\n")
    out = run_cli([str(elsewhere), "README.md", "--format", "json"], cwd=repo)
    assert out.code == 2 and f"{elsewhere}: outside the repository at " in out.err


def test_another_repositorys_index_is_not_used(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hook of repository A that runs `cloudlab-lint --root B`: B is judged by its own index."""
    other = init_repo(tmp_path / "other")
    write_files(other, {"a.md": "x\n"})
    commit_all(other)
    write_files(repo, {"notes/todo.md": f"token: {TOKEN}\n"})
    git(repo, "add", "notes/todo.md")
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    out = run_cli(["--root", str(repo), "--format", "json"], cwd=tmp_path)
    assert ("CL005", "notes/todo.md", 1) in out.found()
