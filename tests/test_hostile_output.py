"""`--output` (issue #16): atomic onto a regular file or a new name; written through anything else, whose node
is never replaced (a device, a FIFO, a link, /dev/stdout). No test here touches the real /dev: a regression
would replace the node, so the nodes are made in a temporary folder."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .test_hostile import lint, make

ARGS = ("--all", "--select", "CL001", "--format", "json")


def _report_ok(text: str) -> None:
    assert json.loads(text)["findings"] == []


def test_output_onto_a_fifo_writes_into_it(tmp_path: Path) -> None:
    root = make(tmp_path, {"a.yaml": "a: 1\n"})
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader exists: the writer's open never waits
    try:
        outcome = lint(root, *ARGS, "--output", str(fifo))
        assert outcome.code == 0, outcome.err
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced by a file"
        _report_ok(os.read(reader, 1 << 20).decode())
    finally:
        os.close(reader)


def test_output_onto_a_link_writes_through_it(tmp_path: Path) -> None:
    root = make(tmp_path, {"a.yaml": "a: 1\n"})
    real = tmp_path / "real.json"
    real.write_text("x" * 100_000)  # longer than the report: what is left of it must go
    link = tmp_path / "report.json"
    link.symlink_to(real)
    assert lint(root, *ARGS, "--output", str(link)).code == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    _report_ok(real.read_text())


def test_output_onto_a_dangling_link_creates_nothing_elsewhere(tmp_path: Path) -> None:
    root = make(tmp_path, {"a.yaml": "a: 1\n"})
    link = tmp_path / "report.json"
    link.symlink_to(tmp_path / "nowhere" / "x.json")
    outcome = lint(root, *ARGS, "--output", str(link))
    assert outcome.code == 2 and "cannot write the report" in outcome.err
    assert link.is_symlink() and not (tmp_path / "nowhere").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="making a device node needs root")
def test_output_onto_a_device_never_replaces_it(tmp_path: Path) -> None:
    root = make(tmp_path, {"a.yaml": "a: 1\n"})
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a private /dev/null
    assert lint(root, *ARGS, "--output", str(null)).code == 0
    assert stat.S_ISCHR(os.lstat(null).st_mode), "the device was replaced by a file"


def test_output_onto_a_regular_file_and_a_new_name_is_atomic(tmp_path: Path) -> None:
    root = make(tmp_path, {"a.yaml": "a: 1\n"})
    old = tmp_path / "old.json"
    old.write_text("x" * 100_000)
    os.chmod(old, 0o640)
    inode = os.stat(old).st_ino
    assert lint(root, *ARGS, "--output", str(old)).code == 0
    _report_ok(old.read_text())
    assert os.stat(old).st_ino != inode and stat.S_IMODE(os.stat(old).st_mode) == 0o640  # renamed over, mode kept
    assert lint(root, *ARGS, "--output", str(tmp_path / "new.json")).code == 0
    _report_ok((tmp_path / "new.json").read_text())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


@pytest.mark.parametrize("name", ["/dev/fd/1", "/dev/stdout"])
def test_output_to_stdout_by_name_prints_the_report(tmp_path: Path, name: str) -> None:
    if name == "/dev/stdout" and os.geteuid() == 0:
        pytest.skip("as root a regression would replace the machine's /dev/stdout; /dev/fd/1 covers the path")
    root = make(tmp_path, {"a.yaml": "a: 1\n"})
    proc = subprocess.run([sys.executable, "-m", "cloudlab_lint", *ARGS, "--output", name], cwd=root,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    _report_ok(proc.stdout)


def test_graph_and_baseline_outputs_use_the_same_door(tmp_path: Path) -> None:
    root = make(tmp_path, {"a.yaml": "a: 1\n"})
    fifo = tmp_path / "base.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        from .helpers import run_cli

        outcome = run_cli(["baseline", "--select", "CL001", "--output", str(fifo)], cwd=root)
        assert outcome.code == 0, outcome.err
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        assert json.loads(os.read(reader, 1 << 20).decode())["findings"] == []
    finally:
        os.close(reader)
