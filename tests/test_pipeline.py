"""The pipeline model (workflows, mise, lefthook, scripts) and its rules beyond the fixture cases."""

from __future__ import annotations

from pathlib import Path

from cloudlab_lint.repo import Repo
from cloudlab_lint.stack.pipeline import (
    CheckJob,
    command_matches,
    job_runs,
    lefthook_model,
    mise_check_jobs,
    mise_model,
)
from cloudlab_lint.stack.pipeline_workflows import expand_matrix

from .helpers import commit_all, init_repo, write_files


def make_repo(tmp_path: Path, files: dict[str, str]) -> Repo:
    root = init_repo(tmp_path / "repo")
    write_files(root, files)
    commit_all(root)
    return Repo.open(root, is_git=True, paths=None, all_files=True, cwd=root)


CI = """\
on:
  pull_request:
  push: {branches: [main]}
permissions: {contents: read}
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: echo "mise run check"
  test:
    strategy:
      matrix:
        os: [ubuntu-latest, macos-latest]
        python: ["3.12"]
        include:
          - os: windows-latest
            python: "3.11"
    runs-on: ${{ matrix.os }}
    steps:
      - uses: jdx/mise-action@v2
      - run: |
          mise install
          mise run check
  named:
    name: Check ${{ matrix.os }}
    strategy: {matrix: {os: [a, b]}}
    runs-on: ubuntu-latest
    steps:
      - run: ./scripts/ci.sh
  call:
    uses: ./.github/workflows/reusable.yml
"""

REUSABLE = """\
on: workflow_call
jobs:
  inner:
    name: Inner
    runs-on: ubuntu-latest
    steps:
      - run: mise check
"""


def test_mise_check_jobs_contract(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {
        ".github/workflows/ci.yml": CI,
        ".github/workflows/reusable.yml": REUSABLE,
        ".github/workflows/push-only.yml": "on: push\njobs:\n  x:\n    steps:\n      - run: mise run check\n",
        "scripts/ci.sh": "#!/bin/sh\nset -eu\nmise run lint ::: check\n",
        ".mise.toml": '[tasks.check]\nrun = "true"\n[tasks.lint]\nrun = "true"\n',
    })
    jobs = mise_check_jobs(repo)
    assert set(jobs) == {
        CheckJob("test (ubuntu-latest, 3.12)", ".github/workflows/ci.yml", 10),
        CheckJob("test (macos-latest, 3.12)", ".github/workflows/ci.yml", 10),
        CheckJob("test (windows-latest, 3.11)", ".github/workflows/ci.yml", 10),
        CheckJob("Check a", ".github/workflows/ci.yml", 24),
        CheckJob("Check b", ".github/workflows/ci.yml", 24),
        CheckJob("call / Inner", ".github/workflows/ci.yml", 30),
    }


def test_no_workflows_no_check_jobs(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"README.md": "x\n"})
    assert mise_check_jobs(repo) == []


def test_matrix_include_exclude() -> None:
    combos = expand_matrix({"os": ["a", "b"], "v": [1, 2], "exclude": [{"os": "b", "v": 2}],
                            "include": [{"os": "a", "extra": "x"}, {"os": "c", "v": 9}]})
    assert combos == [{"os": "a", "v": 1, "extra": "x"}, {"os": "a", "v": 2, "extra": "x"}, {"os": "b", "v": 1},
                      {"os": "c", "v": 9}]
    assert expand_matrix("${{ fromJSON(needs.a.outputs.m) }}") == []


def test_command_matches() -> None:
    assert command_matches(("terraform", "-chdir=infra", "plan", "-out=x"), ["terraform", "plan"])
    assert command_matches(("/usr/bin/terraform", "apply"), ["terraform", "apply"])
    assert command_matches(("terragrunt", "run-all", "plan"), ["terragrunt", "plan"])
    assert not command_matches(("terraform", "workspace", "select", "plan"), ["terraform", "plan"])
    assert not command_matches(("terraform", "show", "plan.out"), ["terraform", "plan"])
    assert command_matches(("terraform", "fmt", "-check", "-recursive"), ["terraform", "fmt", "-check"])
    assert not command_matches(("terraform", "fmt"), ["terraform", "fmt", "-check"])
    assert command_matches(("gitleaks", "git", "--staged"), ["gitleaks"])
    assert command_matches(("cloudlab-lint", "--all", "--history"), ["cloudlab-lint", "--history"])


def test_mise_tasks_from_every_location(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {
        ".mise/config.toml": '[tools]\n"aqua:fluxcd/flux2" = "2.7.5"\n[tasks]\nfmt = "terraform fmt -check"\n'
                             '[tasks.check]\ndepends = ["fmt", "lint:*"]\nrun = [{task = "kube"}]\n',
        "mise-tasks/lint/yaml": "#!/usr/bin/env bash\n# comment\nyamllint .\n",
        ".config/mise/tasks/kube": "#!/bin/sh\n#MISE depends=[\"fmt\"]\nkubeconform x\n",
        "mise-tasks/py": "#!/usr/bin/env python3\nprint('terraform plan')\n",
    })
    mise = mise_model(repo)
    assert {"fmt", "check", "lint:yaml", "kube", "py"} <= set(mise.tasks)
    assert mise.tasks["kube"].depends == ("fmt",)
    assert [t.short for t in mise.tools] == ["flux2"]
    from cloudlab_lint.stack.pipeline import resolver

    words = {c.words for c in resolver(repo).task_closure("check")}
    assert {("terraform", "fmt", "-check"), ("yamllint", "."), ("kubeconform", "x")} <= words
    assert not resolver(repo).task_closure("py")  # not a shell script: nothing we can read


def test_lefthook_dotted_toml(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {
        ".lefthook.toml": '[pre-commit.commands.fmt]\nglob = "*.tf"\nrun = "terraform fmt -check {staged_files}"\n'
                          '[pre-commit.commands.off]\nskip = true\nrun = "tflint"\n',
    })
    hook = lefthook_model(repo)
    assert hook.path == ".lefthook.toml"
    assert [(c.name, c.glob, c.skip) for c in hook.hooks["pre-commit"]] == [("fmt", ("*.tf",), False),
                                                                             ("off", (), True)]


def test_job_runs_follow_scripts_and_make(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {
        ".github/workflows/ci.yml": "on: pull_request\njobs:\n  a:\n    steps:\n      - run: make plan\n"
                                    "        working-directory: infra\n",
        "infra/Makefile": "plan: init\n\t@terraform plan\ninit:\n\tterraform init\n",
    })
    (run,) = job_runs(repo)
    described = [c.describe() for c in run.commands]
    assert any("make plan (infra/Makefile:1)" in d and d.endswith("`terraform plan` (infra/Makefile:2)")
               for d in described), described
