"""Small things users noticed: NO_COLOR's empty value, the history progress line, the rules table, the summary,
CL301's link to the project's docs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cloudlab_lint.cli import no_color
from cloudlab_lint.project import project_url

from .helpers import commit_all, init_repo, run_cli, write_files


@pytest.mark.parametrize(("value", "off"), [(None, False), ("", False), ("1", True), ("0", True), ("false", True)])
def test_no_color_only_when_set_and_not_empty(monkeypatch: pytest.MonkeyPatch, value: str | None, off: bool) -> None:
    if value is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", value)
    assert no_color() is off


def test_history_progress_never_shows_more_done_than_its_total() -> None:
    from cloudlab_lint.stack.history import Progress

    ticks = iter(range(100))
    stream = io.StringIO()
    progress = Progress(2, True, stream, clock=lambda: float(next(ticks)))
    for _ in range(2):
        progress.step(10)
    assert "2/2 blobs" in progress.line(50.0)
    progress.step(10)
    line = progress.line(51.0)
    assert "3 blobs" in line and "3/2" not in line and "ETA" not in line


def test_rules_table_aligns_with_longer_team_ids(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write_files(root, {
        ".cloudlab-lint.yaml": "rule_dirs: [policies]\n",
        "policies/TEAM0001-ignore-vault-token.yaml": "id: TEAM0001\nname: ignore-vault-token\nseverity: error\n"
        "short: x\nfull: x\nhelp: {why: x, fix: x}\ncheck: required-ignore\nparams: {probes: [.vault-token]}\n",
    })
    commit_all(root)
    out = run_cli(["rules"], cwd=root).out.splitlines()
    columns = {line.index(" error ") if " error " in line else line.index(" warning ") for line in out}
    import re

    names = {re.match(r"\S+\s+", line).end() for line in out}  # where the name column starts
    assert len(names) == 1 and len(columns) == 1, out


def test_summary_counts_the_files_with_findings(tmp_path: Path) -> None:
    import shutil

    from .helpers import PROJECT, git

    root = init_repo(tmp_path / "r")
    shutil.copytree(PROJECT / "kubernetes", root / "kubernetes")
    for name in ("apps", "infrastructure"):
        path = root / "kubernetes" / "flux-system" / f"{name}.yaml"
        path.write_text(path.read_text().replace("prune: true", "prune: false"))
    commit_all(root)
    kfile = root / "kubernetes" / "apps" / "kustomization.yaml"
    kfile.write_text("# edited\n" + kfile.read_text())
    git(root, "add", "kubernetes/apps/kustomization.yaml")
    # A commit hook given one staged file judges the whole Flux tree: the summary says both numbers.
    out = run_cli(["--select", "CL103"], cwd=root).out.splitlines()[-1]
    assert "(1 rule, 1 file checked, findings in 2 files)" in out, out


def test_cl301_points_at_the_projects_docs_not_the_users_repository(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write_files(root, {"README.md": "x\n"})
    commit_all(root)
    out = run_cli(["--all", "--github", "--github-repo", "acme/homelab", "--select", "CL301", "--format", "json"],
                  cwd=root)
    (finding,) = out.json["findings"]
    assert f"{project_url()}/blob/main/docs/github-token.md" in finding["message"]
