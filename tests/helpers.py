"""Test helpers: materialise fixture cases into real git repositories, run the CLI in-process."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cloudlab_lint.cli import main

PROJECT = Path(__file__).resolve().parent.parent
FIXTURES = PROJECT / "tests" / "fixtures"
SHARED = PROJECT.parent / "shared"
DOT = "_dot_"  # a path component stored as `_dot_x` becomes `.x` (keeps the project's git and lint out of it)


def git(cwd: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, capture_output=True,
                          text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    return path


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8", newline="")


def commit_all(root: Path, message: str = "commit") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)


def _real_name(relative: Path) -> Path:
    return Path(*[part.replace(DOT, ".", 1) if part.startswith(DOT) else part for part in relative.parts])


@dataclass
class Case:
    folder: Path
    spec: dict[str, Any]

    @property
    def rule(self) -> str:
        return self.spec.get("rule") or self.folder.parent.name.split("-")[0]

    @property
    def expected(self) -> set[tuple[str, str, int]]:
        return {(r, p, int(n)) for r, p, n in self.spec.get("expect") or []}


def load_case(folder: Path) -> Case:
    spec = yaml.safe_load((folder / "case.yaml").read_text(encoding="utf-8")) or {}
    return Case(folder, spec)


def materialise(case: Case, dest: Path) -> Path:
    """Copy a case's tree/ and files: into `dest` and make it a git repository as case.yaml says."""
    init_repo(dest)
    tree = case.folder / "tree"
    if tree.is_dir():
        for src in sorted(tree.rglob("*")):
            if src.is_file():
                target = dest / _real_name(src.relative_to(tree))
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target)
    write_files(dest, case.spec.get("files") or {})
    if case.spec.get("config") is not None:
        write_files(dest, {".cloudlab-lint.yaml": yaml.safe_dump(case.spec["config"])})
    untracked = set(case.spec.get("untracked") or [])
    for path in sorted(p for p in dest.rglob("*") if p.is_file() and ".git" not in p.relative_to(dest).parts):
        rel = path.relative_to(dest).as_posix()
        if rel not in untracked:
            git(dest, "add", "-f", "--", rel)
    if case.spec.get("commit", True):
        git(dest, "commit", "-q", "--allow-empty", "-m", "fixture")
    return dest


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    def found(self) -> set[tuple[str, str, int]]:
        return {(f["rule"], f["path"], f["line"]) for f in self.json["findings"]}


def run_cli(args: list[str], cwd: Path) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
    finally:
        os.chdir(old)
    return Outcome(code, out.getvalue(), err.getvalue())


def shared_or_skip(*parts: str) -> Path:
    import pytest

    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (a fresh clone has no ../shared)")
    return path


def runner_settings(monkeypatch: Any, **overrides: Any) -> None:
    """Runs of the CLI in this test take these runner `Settings` (thresholds, forking), as a caller would set them;
    repeated calls add up."""
    from cloudlab_lint.record import replace
    from cloudlab_lint.runner.settings import Settings

    wanted = {**getattr(monkeypatch, "_runner_settings", {}), **overrides}
    monkeypatch._runner_settings = wanted
    real = Settings.from_env.__func__  # type: ignore[attr-defined]

    def from_env(cls: type[Settings], *, keep: bool) -> Settings:
        return replace(real(cls, keep=keep), **wanted)

    monkeypatch.setattr(Settings, "from_env", classmethod(from_env))
