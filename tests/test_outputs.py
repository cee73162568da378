"""`--output FORMAT=FILE`, repeatable: one analysis, several reports; plain `--output FILE` with `--format`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import commit_all, git, init_repo, run_cli, write_files

STATE = '{"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "x", "resources": []}\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "repo")
    write_files(root, {".gitignore": "terraform.tfstate*\n.age-key.txt\nkubeconfig\ntalosconfig\n",
                       "x/terraform.tfstate": STATE})
    git(root, "add", "-f", ".")
    commit_all(root)
    return root


def test_several_reports_from_one_run(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cloudlab_lint.engine as engine

    runs = []
    real = engine.run
    monkeypatch.setattr(engine, "run", lambda *a, **k: runs.append(1) or real(*a, **k))
    out = run_cli(["--all", "--select", "CL002", "--output", "sarif=r.sarif", "--output", "json=r.json",
                   "--output", "markdown=r.md", "--sarif-category", "cl"], cwd=repo)
    assert out.code == 1 and len(runs) == 1
    # stdout keeps the --format report (text) when no plain --output and no FORMAT=- takes it.
    assert "x/terraform.tfstate:1:1: CL002 [error]" in out.out
    sarif = json.loads((repo / "r.sarif").read_text())
    assert sarif["runs"][0]["results"][0]["ruleId"] == "CL002" and sarif["runs"][0]["automationDetails"]["id"] == "cl/"
    assert json.loads((repo / "r.json").read_text())["findings"][0]["rule"] == "CL002"
    assert "forbidden-file-tracked" in (repo / "r.md").read_text()


def test_format_dash_is_stdout_and_plain_output_keeps_working(repo: Path) -> None:
    out = run_cli(["--all", "--select", "CL002", "--output", "github=-", "--output", "json=r.json"], cwd=repo)
    assert out.out.startswith("::error file=x/terraform.tfstate") and (repo / "r.json").is_file()
    out = run_cli(["--all", "--select", "CL002", "--format", "json", "--output", "plain.json",
                   "--output", "text=r.txt"], cwd=repo)
    assert out.out == "" and json.loads((repo / "plain.json").read_text())["findings"]
    assert (repo / "r.txt").read_text().startswith("x/terraform.tfstate:1:1: CL002")
    # A file really named like FORMAT=FILE: give it a folder.
    out = run_cli(["--all", "--select", "CL002", "--format", "json", "--output", "./sarif=odd"], cwd=repo)
    assert json.loads((repo / "sarif=odd").read_text())["schema_version"] == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--output", "a.txt", "--output", "b.txt"], "give one plain FILE"),
    (["--output", "json=a", "--output", "sarif=a"], "a is named twice"),
    (["--output", "json=-", "--output", "github=-"], "stdout is named twice"),
    (["--output", "sarif="], "FORMAT=FILE needs a file name"),
])
def test_output_usage_errors_write_nothing(repo: Path, args: list[str], message: str) -> None:
    before = sorted(p.name for p in repo.iterdir())
    out = run_cli(["--all", "--select", "CL002", *args], cwd=repo)
    assert out.code == 2 and message in out.err and out.out == ""
    assert sorted(p.name for p in repo.iterdir()) == before
