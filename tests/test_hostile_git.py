"""When git itself cannot run (issue #16): its own reason in the one-line exit-2 message, never "not a git work
tree", and never a checkout silently linted as a plain folder with --root.

Dubious ownership is real git's refusal: as root the test gives the checkout to another user; otherwise git's
own test switch (GIT_TEST_ASSUME_DIFFERENT_OWNER, which our hardened environment strips, so a wrapper on PATH
sets it) makes git see another owner."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .test_hostile import assert_exit_2, lint, make

REAL_GIT = shutil.which("git")


@pytest.fixture(params=["chown", "git-test-switch"])
def foreign_checkout(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make(tmp_path, {"a.yaml": "a: 1\n"})
    if request.param == "chown":
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            pytest.skip("giving the checkout to another user needs root (the git-test-switch case covers it)")
        for path in [root, *root.rglob("*")]:
            os.lchown(path, 65534, 65534)  # nobody owns it now
    else:
        wrapper = tmp_path / "bin" / "git"
        wrapper.parent.mkdir()
        wrapper.write_text(f'#!/bin/sh\nGIT_TEST_ASSUME_DIFFERENT_OWNER=1 exec "{REAL_GIT}" "$@"\n')
        wrapper.chmod(0o755)
        monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    return root


def test_dubious_ownership_is_named(foreign_checkout: Path) -> None:
    line = assert_exit_2(lint(foreign_checkout, "--all"), "dubious ownership")
    assert "not inside a git work tree" not in line


def test_dubious_ownership_with_root_is_not_linted_as_a_plain_folder(foreign_checkout: Path, tmp_path: Path) -> None:
    assert_exit_2(lint(tmp_path, "--all", "--root", str(foreign_checkout)), "dubious ownership")


def test_git_missing_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make(tmp_path, {"a.yaml": "a: 1\n"})
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert_exit_2(lint(root, "--all"), "git is not installed")
    assert_exit_2(lint(tmp_path, "--all", "--root", str(root)), "git is not installed")


def test_outside_a_work_tree_is_still_plain(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert_exit_2(lint(plain, "--all"), "not inside a git work tree")
