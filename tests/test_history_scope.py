"""CL006 on part of the history, as gitleaks users run it: a pull request's range, a pre-push hook (git's
stdin, or pre-commit's environment), and a clone missing an object that is not a partial clone."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import PROJECT, commit_all, git, init_repo, run_cli, write_files
from .test_history import TOKEN, head, make_repo

OTHER = "gho_" + "PUSH" * 9
OLD = "ghp_" + "OLDX" * 9
ZERO = "0" * 40


def scoped(repo: Path, *args: str, stdin: str = "") -> tuple[set[tuple[str, int]], list[dict], str, int]:
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        outcome = run_cli(["--all", "--select", "CL006", "--format", "json", *args], cwd=repo)
    finally:
        sys.stdin = old
    assert outcome.code in (0, 1), outcome.err
    findings = outcome.json["findings"]
    return {(f["path"], f["line"]) for f in findings}, findings, outcome.err, outcome.code


def pushed_clone(tmp_path: Path) -> tuple[Path, Path]:
    """A clone whose main (holding an old leak, removed since) is on its remote; returns (clone, remote)."""
    source = make_repo(tmp_path)
    write_files(source, {"old.md": f"{OLD}\n"})
    commit_all(source, "old leak")
    git(source, "rm", "-q", "old.md")
    git(source, "commit", "-q", "-m", "remove it")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(source), str(remote))
    git(tmp_path, "clone", "-q", str(remote), "clone")
    return tmp_path / "clone", remote


def test_range_scans_only_the_pull_requests_commits(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_files(repo, {"old.md": f"{OLD}\n"})
    commit_all(repo, "old leak on main")
    base = head(repo)
    git(repo, "checkout", "-q", "-b", "feature")
    write_files(repo, {"apps/bot.yaml": f"bot:\n  token: {TOKEN}\n"})
    commit_all(repo, "feature leak")
    introduced = head(repo)
    git(repo, "checkout", "-q", "main")
    write_files(repo, {"main.md": f"{OTHER}\n"})
    commit_all(repo, "a leak merged into main meanwhile")
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "--no-edit", "main")  # against its first parent the merge adds main.md
    found, findings, err, code = scoped(repo, "--history-range", "main..feature")
    assert code == 1
    assert found == {("apps/bot.yaml", 2)}  # not old.md (before the range), not main.md (main holds it)
    assert introduced[:12] in findings[0]["message"]
    assert "CL006 in the commits of main..feature:" in err
    found, _, _, _ = scoped(repo, "--history-range", f"{base}..feature")
    assert found == {("apps/bot.yaml", 2), ("main.md", 1)}  # against the older base the merge brings main.md
    assert scoped(repo, "--history-range", f"{base}..main")[0] == {("main.md", 1)}
    assert scoped(repo, "--history-range", "feature..main")[0] == set()  # feature holds all of main
    # The whole history still finds all three.
    assert scoped(repo, "--history")[0] == {("apps/bot.yaml", 2), ("main.md", 1), ("old.md", 1)}


def test_range_naming_no_commit_is_a_usage_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    for bad in ("nope..HEAD", "HEAD", "--output=x..HEAD"):
        outcome = run_cli(["--all", "--select", "CL006", f"--history-range={bad}"], cwd=repo)
        assert outcome.code == 2, bad
        assert outcome.err.count("\n") == 1 and "Traceback" not in outcome.err
        assert "--history-range" in outcome.err


def test_pre_push_new_branch_scans_commits_no_remote_tracking_ref_holds(tmp_path: Path) -> None:
    clone, _ = pushed_clone(tmp_path)
    git(clone, "checkout", "-q", "-b", "feature")
    write_files(clone, {"apps/bot.yaml": f"bot:\n  token: {TOKEN}\n"})
    commit_all(clone, "feature leak")
    tip = head(clone)
    line = f"refs/heads/feature {tip} refs/heads/feature {ZERO}\n"
    found, findings, err, code = scoped(clone, "--pre-push", stdin=line)
    assert code == 1 and found == {("apps/bot.yaml", 2)}  # old.md is on origin/main: already pushed
    assert tip[:12] in findings[0]["message"]
    assert "CL006 in the commits pushed (refs/heads/feature): 1 commits" in err
    # A clean new branch passes; a deletion pushes nothing.
    git(clone, "checkout", "-q", "-b", "clean", "main")
    write_files(clone, {"docs.md": "clean\n"})
    commit_all(clone, "docs")
    assert scoped(clone, "--pre-push", stdin=f"refs/heads/clean {head(clone)} refs/heads/clean {ZERO}\n")[3] == 0
    found, _, err, code = scoped(clone, "--pre-push", stdin=f"(delete) {ZERO} refs/heads/gone {tip}\n")
    assert (found, code) == (set(), 0)
    assert "a push of no new commits: 0 commits" in err


def test_pre_push_existing_remote_branch_scans_only_the_new_commits(tmp_path: Path) -> None:
    clone, _ = pushed_clone(tmp_path)
    remote_sha = head(clone, "origin/main")
    write_files(clone, {"apps/bot.yaml": f"bot:\n  token: {TOKEN}\n"})
    commit_all(clone, "leak on main")
    write_files(clone, {"apps/bot.yaml": "bot:\n  token: ${BOT_TOKEN}\n"})
    commit_all(clone, "fixed in the next commit: still pushed")
    line = f"refs/heads/main {head(clone)} refs/heads/main {remote_sha}\n"
    found, _, err, code = scoped(clone, "--pre-push", stdin=line)
    assert code == 1 and found == {("apps/bot.yaml", 2)}
    assert "2 commits" in err
    with pytest.raises(AssertionError):  # not a pre-push line: exit 2
        scoped(clone, "--pre-push", stdin="refs/heads/main main refs/heads/main\n")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_pre_push_on_a_terminal_is_a_usage_error_not_a_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path)
    monkeypatch.setattr(sys, "stdin", Terminal(""))
    outcome = run_cli(["--all", "--select", "CL006", "--pre-push"], cwd=repo)
    assert outcome.code == 2 and "standard input" in outcome.err and outcome.err.count("\n") == 1


def test_a_real_push_runs_the_hook_and_is_refused(tmp_path: Path) -> None:
    """git itself hands the hook its stdin: a leak in the pushed commits stops the push, a clean push goes."""
    clone, remote = pushed_clone(tmp_path)
    hook = clone / ".git" / "hooks" / "pre-push"
    hook.write_text(f"#!/bin/sh\nexec {sys.executable} -m cloudlab_lint --all --select CL006 --pre-push\n",
                    encoding="utf-8")
    hook.chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    git(clone, "checkout", "-q", "-b", "feature")
    write_files(clone, {"docs.md": "clean\n"})
    commit_all(clone, "docs")

    def push() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "push", "-q", "origin", "feature"], cwd=clone, capture_output=True,
                              text=True, env=env, check=False)

    assert push().returncode == 0  # old.md's leak is already on the remote: not this push's
    write_files(clone, {"apps/bot.yaml": f"bot:\n  token: {TOKEN}\n"})
    commit_all(clone, "leak")
    refused = push()
    assert refused.returncode != 0
    assert "apps/bot.yaml" in refused.stdout + refused.stderr and TOKEN not in refused.stdout + refused.stderr
    assert git(remote, "rev-parse", "feature").strip() != head(clone)


def test_pre_commit_pre_push_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pre-commit reads git's stdin itself and passes the range as PRE_COMMIT_FROM_REF/PRE_COMMIT_TO_REF; for a
    push of a new root it passes no range, only the branch and the remote."""
    clone, _ = pushed_clone(tmp_path)
    base = head(clone)
    write_files(clone, {"apps/bot.yaml": f"bot:\n  token: {TOKEN}\n"})
    commit_all(clone, "leak")
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", base)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", head(clone))
    found, _, err, _ = scoped(clone, "--history")
    assert found == {("apps/bot.yaml", 2)} and "(pre-commit): 1 commits" in err
    monkeypatch.delenv("PRE_COMMIT_FROM_REF")
    monkeypatch.delenv("PRE_COMMIT_TO_REF")
    orphan = init_repo(tmp_path / "orphan")  # nothing of it is on any remote: every commit is pushed
    write_files(orphan, {"old.md": f"{OLD}\n"})
    commit_all(orphan, "root")
    write_files(orphan, {"old.md": "gone\n"})
    commit_all(orphan, "later")
    monkeypatch.setenv("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/main")
    monkeypatch.setenv("PRE_COMMIT_REMOTE_NAME", "origin")
    found, _, err, _ = scoped(orphan, "--history")
    assert found == {("old.md", 1)} and "CL006 in the commits pushed (refs/heads/main, pre-commit): 2 commits" in err


def test_missing_object_is_not_called_a_partial_clone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_files(repo, {"apps/values.yaml": "replicas: 2\n"})
    commit_all(repo, "values")
    oid = git(repo, "rev-parse", "HEAD:apps/values.yaml").strip()
    (repo / ".git" / "objects" / oid[:2] / oid[2:]).unlink()  # loose: gone, and no promisor remote
    found, findings, err, code = scoped(repo, "--history")
    assert code == 1 and found == {(".git", 1)}
    message = findings[0]["message"]
    assert "object missing/corrupt repository" in message and oid[:12] in message and "apps/values.yaml" in message
    assert "this is a partial clone" not in message and "not a partial clone" in message
    assert "1 missing (object missing/corrupt repository)" in err and "(partial clone)" not in err
    # A missing tree stops git's walk: said as the same, never a crash.
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    (repo / ".git" / "objects" / tree[:2] / tree[2:]).unlink()
    found, findings, _, code = scoped(repo, "--history")
    assert code == 1 and found == {(".git", 1)}
    assert "object missing/corrupt repository" in findings[0]["message"]
