"""A hostile repository's own git settings never run a command.

The repository's `.git/config` (which a stranger controls once the user clones and runs us in
CI or in a hook) points every setting that can run a program at a trap script that leaves a
marker file. First, plain unhardened git in a copy of the repository proves the traps are armed
(so this test can fail); then every cloudlab-lint command runs, stdout and stderr on a real
terminal (a pager would start there), and no marker may appear.
"""

from __future__ import annotations

import os
import pty
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cloudlab_lint.gitcmd import git as hardened_git

from .helpers import commit_all, git, init_repo, write_files

HOOKS = ("pre-commit", "prepare-commit-msg", "commit-msg", "post-commit", "post-checkout", "post-merge",
         "pre-push", "post-rewrite", "reference-transaction", "post-index-change", "fsmonitor-watchman",
         "pre-auto-gc", "push-to-checkout", "sendemail-validate", "applypatch-msg", "pre-applypatch")

# Every setting of a repository's config that makes git run a program; value = trap name.
SETTINGS = {
    "core.fsmonitor": "fsmonitor",
    "core.pager": "pager",
    "core.editor": "editor",
    "core.sshCommand": "ssh",
    "core.askPass": "askpass",
    "core.hooksPath": None,  # a folder of trap hooks, set below
    "core.alternateRefsCommand": "alternate-refs",
    "diff.external": "diff-external",
    "diff.evil.textconv": "textconv",
    "diff.evil.command": "diff-command",
    "filter.evil.clean": "filter-clean",
    "filter.evil.smudge": "filter-smudge",
    "filter.evil.process": "filter-process",
    "merge.evil.driver": "merge-driver",
    "log.showSignature": "true",
    "gpg.program": "gpg",
    "gpg.ssh.program": "gpg-ssh",
    "gpg.x509.program": "gpg-x509",
    "pager.log": "pager-log",
    "pager.diff": "pager-diff",
    "pager.status": "pager-status",
    "credential.helper": "credential",
    "sequence.editor": "sequence-editor",
    "uploadpack.packObjectsHook": "pack-objects",
    "remote.origin.url": "ext::",
    "protocol.allow": "always",
    "core.untrackedCache": "true",
}

SIGNED_COMMIT = """tree {tree}
parent {parent}
author Fixture <fixture@example.invalid> 1767225600 +0000
committer Fixture <fixture@example.invalid> 1767225600 +0000
gpgsig -----BEGIN PGP SIGNATURE-----
{blank}
 iQEzBAABCAAdFiEEfakefakefakefakefakefakefakefakeFAmZ0ZXN0AAoJEGZha2Vm
 =fake
 -----END PGP SIGNATURE-----

a commit that claims a signature
"""


def _trap(folder: Path, name: str, markers: Path) -> str:
    path = folder / name
    path.write_text(f"#!/bin/sh\necho \"$@\" >> '{markers}/{name}'\ncat\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


def arm(repo: Path, traps: Path, markers: Path) -> None:
    """Point every dangerous setting (and every hook, in both hook folders) at a trap."""
    traps.mkdir(exist_ok=True)
    markers.mkdir(exist_ok=True)
    hooks = traps / "hooks"
    hooks.mkdir(exist_ok=True)
    for hook in HOOKS:
        _trap(hooks, hook, markers)
        shutil.copy(hooks / hook, repo / ".git" / "hooks" / hook)
    for key, name in SETTINGS.items():
        if key == "core.hooksPath":
            value = str(hooks)
        elif name in ("true", "always"):
            value = name
        elif name == "ext::":
            value = "ext::" + _trap(traps, "ext-remote", markers) + " %S"
        elif key == "credential.helper":
            value = "!" + _trap(traps, name, markers)
        else:
            value = _trap(traps, name, markers)
        git(repo, "config", key, value)


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    root = init_repo(tmp_path / "repo")
    write_files(root, {
        ".gitignore": "terraform.tfstate*\n.age-key.txt\nkubeconfig\ntalosconfig\n",
        ".gitattributes": "* diff=evil filter=evil merge=evil\n",
        "kubernetes/apps/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n",
        ".github/workflows/ci.yaml":
            "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
    })
    commit_all(root, "first")
    # A commit that carries a (fake) signature: `log.showSignature` would hand it to gpg.program.
    tree = git(root, "rev-parse", "HEAD^{tree}").strip()
    parent = git(root, "rev-parse", "HEAD").strip()
    body = SIGNED_COMMIT.format(tree=tree, parent=parent, blank=" ")
    proc = subprocess.run(["git", "hash-object", "-t", "commit", "-w", "--stdin"], cwd=root, input=body,
                          capture_output=True, text=True, check=True)
    git(root, "update-ref", "refs/heads/main", proc.stdout.strip())
    write_files(root, {"kubernetes/apps/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n"})
    git(root, "add", "kubernetes/apps/app.yaml")  # something staged, for the pre-commit mode
    write_files(root, {"kubernetes/apps/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"})
    markers = tmp_path / "markers"
    arm(root, tmp_path / "traps", markers)
    return root, markers


def test_the_traps_are_armed(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    """Plain git in a copy of the repository sets off the traps: the tests below can fail."""
    root, markers = hostile
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, symlinks=True)
    plain = dict(os.environ)  # conftest's isolation (no user config, fixed identity), nothing hardened

    def fired_by(*args: str) -> set[str]:
        subprocess.run(["git", *args], cwd=copy, env=plain, capture_output=True, check=False, timeout=120)
        names = {p.name for p in markers.iterdir()}
        shutil.rmtree(markers)
        markers.mkdir()
        return names

    assert {"fsmonitor", "filter-process", "post-index-change"} <= fired_by("status")
    assert "gpg" in fired_by("log", "-1", "--format=%H")  # log.showSignature, whatever the format
    assert "diff-command" in fired_by("diff", "HEAD~1")
    assert "textconv" in fired_by("-c", "diff.evil.command=", "log", "-p", "-1", "HEAD~1")
    assert "pre-commit" in fired_by("-c", "filter.evil.process=", "-c", "filter.evil.clean=cat",
                                    "commit", "-q", "-m", "x")


def on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run the real command with stdout and stderr on a pseudo-terminal (where pagers start)."""
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    env = {**os.environ, "TERM": "xterm", "PAGER": "less", "GIT_PAGER": "less"}
    env.pop("NO_COLOR", None)
    try:
        proc = subprocess.run([sys.executable, "-m", "cloudlab_lint", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                              stdout=slave, stderr=slave, env=env, timeout=600, check=False)
    finally:
        os.close(slave)
    reader.join(timeout=60)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")


COMMANDS = [
    ["--all"],
    ["--all", "--history"],
    [],  # pre-commit mode: what is staged
    ["kubernetes/apps/app.yaml", ".gitattributes"],
    ["--all", "--fix"],
    ["--all", "--format", "sarif", "--output", "report.sarif"],
    ["--all", "--github"],
    ["baseline", "--output", "baseline.json"],
    ["graph"],
    ["rules"],
    ["explain", "CL001"],
]


def test_no_command_sets_off_a_trap(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    root, markers = hostile  # armed exactly as in test_the_traps_are_armed
    for args in COMMANDS:
        code, out = on_a_terminal(args, root)
        assert "Traceback" not in out, (args, out)
        assert code in (0, 1, 2), (args, code, out)
        fired = sorted(p.name for p in markers.iterdir())
        assert fired == [], (args, fired, [(markers / f).read_text() for f in fired])


def test_the_hardened_door_itself(hostile: tuple[Path, Path]) -> None:
    """The git calls the tool makes, and the usual read-only ones, made directly through gitcmd."""
    root, markers = hostile
    for args in (("ls-files", "-z", "--cached", "--full-name"),
                 ("diff", "--cached", "--name-only", "-z", "--no-renames", "--diff-filter=ACMRT", "--no-ext-diff"),
                 ("log", "--all", "--topo-order", "--reverse", "--no-renames", "--diff-merges=first-parent", "--root",
                  "--raw", "--no-abbrev", "-z", "--format=%x01%H", "--no-ext-diff", "--no-textconv"),
                 ("log", "-1"), ("log", "-p", "--no-ext-diff", "--no-textconv"), ("show", "--no-textconv", "HEAD"),
                 ("rev-parse", "--show-toplevel", "--absolute-git-dir"), ("rev-parse", "--is-shallow-repository"),
                 ("config", "--get", "remote.origin.url"), ("for-each-ref", "--count=1"),
                 ("cat-file", "-p", "HEAD:kubernetes/apps/app.yaml"),
                 ("cat-file", "--batch-check=%(objectname)", "--batch-all-objects", "--unordered"),
                 ("ls-remote", "origin"), ("fetch", "origin")):
        hardened_git(root, *args, check=False)
        fired = sorted(p.name for p in markers.iterdir())
        assert fired == [], (args, fired)
