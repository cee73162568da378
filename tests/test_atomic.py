"""Nothing lost: --fix, --output and baseline write whole files or nothing, and keep the file mode.

The writes are made to fail for real at the step that matters (the rename, the fsync) by
wrapping the os functions: the old file must stay byte for byte, with its mode, and no temp
file may be left behind.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest

from cloudlab_lint import atomic
from cloudlab_lint.atomic import write_atomic

from .helpers import commit_all, init_repo, run_cli, write_files

GOOD_IGNORE = "terraform.tfstate*\n.age-key.txt\nkubeconfig\ntalosconfig\n"
STATE = '{"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "x", "resources": []}\n'


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Record fsync and replace as they happen (real calls, just watched)."""
    seen: list[tuple[str, ...]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        seen.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        seen.append(("replace", str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    return seen


def fail_rename(monkeypatch: pytest.MonkeyPatch) -> None:
    def replace(src: str, dst: str) -> None:
        raise OSError(errno.EIO, "injected rename failure")

    monkeypatch.setattr(atomic.os, "replace", replace)


# -- the primitive ---------------------------------------------------------------------------


def test_new_file_is_written_through_a_synced_temp_file_in_the_same_folder(
        tmp_path: Path, calls: list[tuple[str, ...]]) -> None:
    target = tmp_path / "sub" / "report.json"
    target.parent.mkdir()
    write_atomic(target, "héllo\n")
    assert target.read_bytes() == "héllo\n".encode()
    (fsync_call, fsync_path), (op, src, dst) = calls
    assert fsync_call == "fsync" and op == "replace"
    assert fsync_path == src, "the file synced is the file renamed"
    assert Path(src).parent == target.parent and dst == str(target)
    assert Path(src).name.startswith(".report.json.")
    umask = os.umask(0)
    os.umask(umask)
    assert mode(target) == 0o666 & ~umask
    assert leftovers(target.parent) == []


@pytest.mark.parametrize("old_mode", [0o600, 0o640, 0o644, 0o755, 0o444])
def test_existing_mode_is_kept(tmp_path: Path, old_mode: int) -> None:
    target = tmp_path / "file"
    target.write_bytes(b"old")
    target.chmod(old_mode)
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new" and mode(target) == old_mode


def test_a_linked_target_is_replaced_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep me")
    link = tmp_path / "repo" / "report.json"
    link.parent.mkdir()
    link.symlink_to(outside)
    write_atomic(link, b"report")
    assert outside.read_bytes() == b"keep me"
    assert not link.is_symlink() and link.read_bytes() == b"report"


@pytest.mark.parametrize("where, exc", [
    ("replace", OSError(errno.EIO, "rename failed")),
    ("fsync", OSError(errno.ENOSPC, "No space left on device")),
    ("fsync", KeyboardInterrupt()),
    ("chmod", OSError(errno.EPERM, "not permitted")),
])
def test_interrupted_write_leaves_the_old_file_and_no_temp(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, exc: BaseException) -> None:
    target = tmp_path / "data.txt"
    target.write_bytes(b"the old content\r\n")
    target.chmod(0o640)

    def boom(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(atomic.os, where, boom)
    with pytest.raises(type(exc)):
        write_atomic(target, b"the new content that must never be half-written\n" * 1000)
    monkeypatch.undo()
    assert target.read_bytes() == b"the old content\r\n"
    assert mode(target) == 0o640
    assert leftovers(tmp_path) == []


# -- through the command line ----------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "repo")
    write_files(root, {".gitignore": "# mine\n", "terraform/state.json": STATE})
    commit_all(root)
    return root


def test_output_keeps_mode_and_survives_a_failed_rename(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = repo / "report.json"
    out = run_cli(["--all", "--format", "json", "--output", "report.json"], cwd=repo)
    assert out.code == 1 and out.out == ""
    first = report.read_bytes()
    assert json.loads(first)["findings"]
    report.chmod(0o600)
    write_files(repo, {"terraform/other.json": STATE})
    commit_all(repo)
    out = run_cli(["--all", "--format", "json", "--output", "report.json"], cwd=repo)
    assert mode(report) == 0o600 and report.read_bytes() != first
    second = report.read_bytes()
    fail_rename(monkeypatch)
    write_files(repo, {"terraform/third.json": STATE})
    commit_all(repo)
    out = run_cli(["--all", "--format", "sarif", "--output", "report.json"], cwd=repo)
    assert out.code == 2 and "cannot write the report" in out.err and "Traceback" not in out.err
    assert report.read_bytes() == second and mode(report) == 0o600
    assert leftovers(repo) == []


def test_baseline_keeps_mode_and_survives_a_failed_rename(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    baseline = repo / ".cloudlab-lint-baseline.json"
    assert run_cli(["baseline"], cwd=repo).code == 0
    first = baseline.read_bytes()
    baseline.chmod(0o640)
    write_files(repo, {"terraform/other.json": STATE})
    commit_all(repo)
    fail_rename(monkeypatch)
    out = run_cli(["baseline"], cwd=repo)
    assert out.code == 2 and "cannot write" in out.err and "Traceback" not in out.err
    assert baseline.read_bytes() == first and mode(baseline) == 0o640
    monkeypatch.undo()
    assert run_cli(["baseline"], cwd=repo).code == 0
    assert baseline.read_bytes() != first and mode(baseline) == 0o640
    assert leftovers(repo) == []


def test_fix_keeps_mode_and_survives_a_failed_rename(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ignore = repo / ".gitignore"
    ignore.chmod(0o600)
    fail_rename(monkeypatch)
    out = run_cli(["--all", "--fix", "--select", "CL001"], cwd=repo)
    assert out.code == 2 and "Traceback" not in out.err
    assert ignore.read_bytes() == b"# mine\n" and mode(ignore) == 0o600
    assert leftovers(repo) == []
    monkeypatch.undo()
    out = run_cli(["--all", "--fix", "--select", "CL001"], cwd=repo)
    assert out.code == 1 and "files were modified by --fix" in out.err, out.out + out.err  # as ruff's fix does
    text = ignore.read_text(encoding="utf-8")
    assert text.startswith("# mine\n") and "terraform.tfstate" in text and mode(ignore) == 0o600


def test_fix_never_copies_a_linked_gitignore_from_outside(tmp_path: Path) -> None:
    outside = tmp_path / "private.txt"
    outside.write_text("AGE-SECRET-KEY-1FAKEFAKEFAKE\n", encoding="utf-8")
    root = init_repo(tmp_path / "repo")
    write_files(root, {"a.txt": "a\n"})
    (root / ".gitignore").symlink_to(outside)
    commit_all(root)
    out = run_cli(["--all", "--fix", "--select", "CL001"], cwd=root)
    assert outside.read_text(encoding="utf-8") == "AGE-SECRET-KEY-1FAKEFAKEFAKE\n"
    # The link is neither read nor replaced (git does not follow a linked .gitignore either): the fix says why.
    assert (root / ".gitignore").is_symlink()
    assert "CL001: not fixed: .gitignore is not a regular file" in out.err
    assert "AGE-SECRET-KEY" not in out.out + out.err
