"""What a commit hook keeps in `.git/cloudlab-lint/` (issue #16), damaged in every way: truncated, of the wrong
shape (under the right key), a FIFO, a link, oversized. Each run still reports exactly what a run without any
kept file reports, never hangs, never crashes, and replaces the damaged file with a regular one of its own.
Forged files never change what `--all` (CI) reports: it reads none of them.

A FIFO would block a plain `open` forever: those runs are in a thread with a hang guard that, should it ever
trip, releases the reader (opening the FIFO for writing) before failing.
"""

from __future__ import annotations

import json
import os
import pickle
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cloudlab_lint import catalog
from cloudlab_lint.runner import keptfile, store
from cloudlab_lint.runner import keptformat as treememo_file

from .helpers import commit_all, git, load_case, materialise, run_cli, runner_settings, write_files
from .test_hostile import MARKER
from .test_treememo import BASE

WORKFLOW = ".github/workflows/ci.yml"
CI = "on: pull_request\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: terraform plan\n"
TARGETS = ("kubernetes/apps/extra.yaml", WORKFLOW)
KINDS = ("facts", "tree-result", "rules.json")
HANG_GUARD = 300  # seconds; a run takes well under one


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep files written moments ago, and open the fact store from the first file on (fixtures are small)."""
    runner_settings(monkeypatch, racy_ns=0)
    runner_settings(monkeypatch, open_after=0)


@pytest.fixture
def repo(tmp_path: Path, quick: None) -> Path:
    root = materialise(load_case(BASE), tmp_path / "repo")
    write_files(root, {WORKFLOW: CI})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "ci")
    return root


def kept(root: Path, name: str) -> Path:
    return root / ".git" / "cloudlab-lint" / name


def hook(root: Path, *extra: str) -> tuple[tuple[str, str, int, str], ...]:
    out = run_cli([*TARGETS, "--format", "json", "--fail-on", "never", *extra], cwd=root)
    assert out.code == 0 and "Traceback" not in out.err and "internal error" not in out.err, out.err
    assert out.json["errors"] == [], out.json["errors"]
    return tuple((f["rule"], f["path"], f["line"], f["message"]) for f in out.json["findings"])


def bounded(run: Callable[[], Any], fifo: Path | None = None) -> Any:
    """`run()` in a thread; should it block (a FIFO opened for reading), unblock it and fail."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = run()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    if thread.is_alive():
        if fifo is not None:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("the run blocked on a kept file")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _pickled(path: Path, allowed: frozenset[tuple[str, str]]) -> tuple[Any, Any]:
    return keptfile._Restricted(path.read_bytes(), allowed).load()


def wrong_shape(kind: str, path: Path) -> bytes:
    """The right header or key, a body of another shape: what once gave `internal error (KeyError)`."""
    if kind == "rules.json":
        doc = json.loads(path.read_text())
        doc["data"][5] = {"id": "CL005"}  # keyed right, no name, help or check
        return json.dumps(doc).encode()
    if kind == "facts":
        header, _ = _pickled(path, store._ALLOWED)
        return pickle.dumps((header, ({}, {("yaml", "kubernetes/apps/extra.yaml"): "not an entry"})))
    header, stored = _pickled(path, treememo_file._ALLOWED)
    return pickle.dumps((header, {**stored, "rules": {"CL101": ("k", "not hits", stored["rules"]["CL101"][2])}}))


def damage(kind: str, how: str, path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = path.read_bytes()
    if how == "truncated":
        path.write_bytes(good[:len(good) // 2])
    elif how == "wrong-shape":
        path.write_bytes(wrong_shape(kind, path))
    elif how == "fifo":
        path.unlink()
        os.mkfifo(path)
    elif how == "symlink":  # a valid copy, elsewhere: never followed
        outside.write_bytes(good)
        path.unlink()
        path.symlink_to(outside)
    elif how == "oversized":  # a sparse file one byte over the cap: refused by its size, never read
        module = {"facts": store, "rules.json": catalog}.get(kind, treememo_file)
        cap = catalog.MAX_KEPT if kind == "rules.json" else module.MAX_BYTES
        with open(path, "r+b") as fh:
            fh.truncate(cap + 1)


@pytest.mark.parametrize("how", ["truncated", "wrong-shape", "fifo", "symlink", "oversized"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_kept_file_is_ignored_and_replaced(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     kind: str, how: str) -> None:
    hook(repo)  # keeps all four
    path = kept(repo, kind)
    assert stat.S_ISREG(os.lstat(path).st_mode), f"{kind} was not kept"
    expected = hook(repo, "--no-cache")
    outside = tmp_path / "outside-copy"
    damage(kind, how, path, outside, monkeypatch)
    before = outside.read_bytes() if how == "symlink" else None
    assert bounded(lambda: hook(repo), path if how == "fifo" else None) == expected
    assert stat.S_ISREG(os.lstat(path).st_mode), f"the damaged {kind} ({how}) was not replaced"
    assert os.stat(path).st_size < 64 << 20
    if before is not None:
        assert outside.read_bytes() == before  # the link's target was neither read as ours nor written
    assert bounded(lambda: hook(repo)) == expected  # and the replacement serves


def test_a_kept_folder_that_is_a_link_is_neither_read_nor_written(repo: Path, tmp_path: Path) -> None:
    hook(repo)
    elsewhere = tmp_path / "elsewhere"
    kept(repo, "").rename(elsewhere)
    (repo / ".git" / "cloudlab-lint").symlink_to(elsewhere)
    listing = {p.name: p.stat().st_mtime_ns for p in elsewhere.iterdir()}
    with open(repo / TARGETS[0], "a") as fh:
        fh.write("# edited: what was kept no longer holds, a new result would be written\n")
    assert hook(repo) == hook(repo, "--no-cache")
    assert {p.name: p.stat().st_mtime_ns for p in elsewhere.iterdir()} == listing


# -- forged files never change what --all reports -------------------------------------------------


def test_forged_kept_files_never_hide_a_finding_in_all(repo: Path) -> None:
    secret = "kubernetes/apps/secret.yaml"
    write_files(repo, {secret: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  k: plain\n",
                       "notes/key.md": f"{MARKER}\n"})
    commit_all(repo)
    run_cli([secret, "notes/key.md"], cwd=repo)  # the hook keeps their parses and the rules
    # Forge: the Secret parses as nothing, CL004's and CL005's parameters empty out, under the right keys.
    header, (stamps, entries) = _pickled(kept(repo, "facts"), store._ALLOWED)
    forged = {k: (e[0], [], None, e[3]) for k, e in entries.items() if k[1] == secret}
    assert forged, "the hook kept nothing of the Secret"
    kept(repo, "facts").write_bytes(pickle.dumps((header, (stamps, {**entries, **forged}))))
    doc = json.loads(kept(repo, "rules.json").read_text())
    for data in doc["data"]:
        if data["id"] in ("CL004", "CL005"):
            data["params"] = {k: [] if isinstance(v, list) else v for k, v in data["params"].items()}
    kept(repo, "rules.json").write_text(json.dumps(doc))
    out = run_cli(["--all", "--select", "CL004,CL005", "--format", "json"], cwd=repo)
    found = {(f["rule"], f["path"]) for f in out.json["findings"]}
    assert {("CL004", secret), ("CL005", "notes/key.md")} <= found, found
    assert MARKER not in out.out + out.err
