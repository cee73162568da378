"""The pipeline model (workflows, mise, lefthook, scripts) and its rules beyond the fixture cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudlab_lint.repo import Repo
from cloudlab_lint.stack.pipeline.model import (
    CheckJob,
    command_matches,
    job_runs,
    lefthook_model,
    mise_check_jobs,
    mise_model,
)
from cloudlab_lint.stack.pipeline.workflows import expand_matrix

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
    from cloudlab_lint.stack.pipeline.model import resolver

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


# -- rules end to end ------------------------------------------------------------------------

from .helpers import PROJECT, git, run_cli, shared_or_skip  # noqa: E402

PIPELINE_RULES = "CL201,CL202,CL203,CL204,CL205,CL401"


def test_cl201_message_shows_the_whole_chain(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    write_files(root, {
        ".github/workflows/ci.yml": "on: pull_request\njobs:\n  check:\n    steps:\n      - name: Check\n"
                                    "        run: mise run check\n",
        ".mise.toml": '[tasks.check]\ndepends = ["infra"]\n[tasks.infra]\nrun = "./scripts/plan.sh"\n',
        "scripts/plan.sh": "#!/bin/bash\nset -e\nterraform -chdir=terraform plan\n",
    })
    commit_all(root)
    outcome = run_cli(["--all", "--select", "CL201", "--format", "json"], cwd=root)
    (finding,) = outcome.json["findings"]
    assert (finding["path"], finding["line"]) == ("scripts/plan.sh", 3)
    message = finding["message"]
    for part in ["job check (.github/workflows/ci.yml:3)", "step 'Check'", "task check (.mise.toml:1)",
                 "task infra (.mise.toml:3)", "script scripts/plan.sh", "`terraform -chdir=terraform plan`"]:
        assert part in message, message
    assert message.index("task check") < message.index("task infra") < message.index("script scripts/plan.sh")


def test_pre_commit_mode_runs_when_a_followed_file_is_staged(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    write_files(root, {
        ".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    steps:\n      - run: tools/deploy\n",
        "tools/deploy": "#!/bin/sh\necho ok\n",
        "docs/notes.txt": "x\n",
    })
    commit_all(root)
    write_files(root, {"tools/deploy": "#!/bin/sh\nterraform apply -auto-approve\n", "docs/notes.txt": "y\n"})
    git(root, "add", "docs/notes.txt")
    quiet = run_cli(["--select", "CL201", "--format", "json"], cwd=root)  # only docs/notes.txt is staged
    assert quiet.json["findings"] == []
    git(root, "add", "tools/deploy")
    loud = run_cli(["--select", "CL201", "--format", "json"], cwd=root)
    assert {(f["path"], f["line"]) for f in loud.json["findings"]} == {("tools/deploy", 2)}


def test_this_repository_passes_its_own_pipeline_rules() -> None:
    outcome = run_cli(["--all", "--select", PIPELINE_RULES, "--format", "json", "--fail-on", "note"], cwd=PROJECT)
    assert outcome.json["findings"] == [], outcome.json["findings"]
    assert mise_check_jobs(Repo.open(PROJECT, is_git=True, paths=None, all_files=True, cwd=PROJECT)) == [
        CheckJob("check", ".github/workflows/check.yml", 15)]


@pytest.mark.parametrize("name", ["fluxcd-flux2-kustomize-helm-example", "fluxcd-flux2-multi-tenancy"])
def test_corpus_repositories_give_no_pipeline_findings(name: str, tmp_path: Path) -> None:
    import shutil

    source = shared_or_skip("corpus", "flux", name)
    root = tmp_path / "repo"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns(".git"))
    init_repo(root)
    commit_all(root)
    outcome = run_cli(["--all", "--select", PIPELINE_RULES, "--format", "json", "--fail-on", "note"], cwd=root)
    assert outcome.code == 0 and outcome.json["findings"] == [], outcome.json["findings"]


def test_seed_design_roadmap_is_numbered() -> None:
    import re

    from cloudlab_lint.checks.docs import parse_readme

    seed = shared_or_skip("seed", "bootstrap-flux-design.md").read_text(encoding="utf-8").splitlines()
    roadmap = parse_readme(seed, re.compile(r"(?i)^phase\b"))
    assert [n for n, _ in roadmap.steps] == list(range(1, 31))
    decisions = next(t for t in roadmap.tables if t[0][0][:2] == ["Decision", "Step"])
    assert [row[0][1] for row in decisions[2:]] == ["2", "4", "5", "7", "13", "14", "16"]


def test_matrix_include_after_a_new_combination() -> None:
    # The second include sees the combination the first one appended (found crashing on a real workflow).
    combos = expand_matrix({"os": ["a"], "include": [{"os": "z", "v": 1}, {"extra": True}]})
    assert combos == [{"os": "a", "extra": True}, {"os": "z", "v": 1}]


def test_mise_task_config_includes_a_tasks_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {
        "mise.toml": '[task_config]\nincludes = ["tasks.toml", "ci-tasks"]\n',
        "tasks.toml": '[lint]\nrun = "tflint"\n\n[plan]\nrun = "terraform plan"\n',
        "ci-tasks/check": "#!/bin/sh\nmise run lint\n",
    })
    mise = mise_model(repo)
    assert (mise.tasks["plan"].path, mise.tasks["plan"].line) == ("tasks.toml", 4)
    assert mise.tasks["check"].path == "ci-tasks/check"
    from cloudlab_lint.stack.pipeline.model import resolver

    assert ("tflint",) in {c.words for c in resolver(repo).task_closure("check")}


def test_fan_out_is_bounded(tmp_path: Path) -> None:
    # 30 tasks, each depending on every later one: 29**8 paths within the depth limit if followed naively.
    lines = []
    for i in range(29):
        later = ", ".join(f'"t{j}"' for j in range(i + 1, 30))
        lines.append(f'[tasks.t{i}]\ndepends = [{later}]\nrun = "echo {i}"\n')
    repo = make_repo(tmp_path, {".mise.toml": "".join(lines) + '[tasks.t29]\nrun = "terraform plan"\n'})
    from cloudlab_lint.stack.pipeline.model import resolver

    found = resolver(repo).task_closure("t0")
    assert ("terraform", "plan") in {c.words for c in found}  # t0 -> t29 directly, before the budget ends
    assert any("stopped following commands" in n for n in repo.notes)


def test_default_working_directory_and_shell(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {
        ".github/workflows/ci.yml": "on: push\ndefaults:\n  run:\n    working-directory: infra\njobs:\n  a:\n"
                                    "    defaults: {run: {shell: python}}\n    steps:\n"
                                    "      - run: print('terraform plan')\n"
                                    "  b:\n    steps:\n      - run: ./plan.sh\n",
        "infra/plan.sh": "#!/usr/bin/env bash\nterraform plan\n",
    })
    runs = {run.job.id: run for run in job_runs(repo)}
    assert runs["a"].commands == ()
    assert ("terraform", "plan") in {c.words for c in runs["b"].commands}


def test_messages_never_carry_command_line_secrets(tmp_path: Path) -> None:
    from cloudlab_lint.stack.pipeline.resolve import shown

    token = "ghp_" + "FAKE0123456789abcdefFAKE0123456789ab"
    root = init_repo(tmp_path / "repo")
    write_files(root, {
        ".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    steps:\n"
                                    f"      - run: make plan TOKEN={token}\n"
                                    f"      - run: terraform plan -var \"token={token}\"\n"
                                    "          -var=pw=s3cr3t-Value_1234567890abc\n",
        "Makefile": f"plan:\n\tcurl -H 'Authorization: Bearer {token}' x && terraform -chdir=infra plan {token}\n",
    })
    commit_all(root)
    for fmt in ("text", "json", "sarif", "github", "markdown"):
        outcome = run_cli(["--all", "--select", "CL201", "--format", fmt], cwd=root)
        assert outcome.code == 1, outcome.err
        for needle in (token, token[4:20], "s3cr3t"):
            assert needle not in outcome.out and needle not in outcome.err
    assert shown(("terraform", "-chdir=infra", "plan", "-out=tfplan", "-var=token=abc")) == \
        "terraform -chdir=infra plan -out=tfplan -var=…"


def test_cl204_pre_commit_counts_only_when_a_runner(tmp_path: Path) -> None:
    """By default (`runners: [lefthook]`) a complete .pre-commit-config.yaml does not stand in for lefthook;
    an unread remote is a note and part of the finding, never a silent pass."""
    from .helpers import commit_all, init_repo, run_cli, write_files

    repo = init_repo(tmp_path / "repo")
    write_files(repo, {
        ".mise.toml": "[tools]\nterraform = \"1.9.8\"\n",
        ".pre-commit-config.yaml": (
            "repos:\n  - repo: https://github.com/antonbabenko/pre-commit-terraform\n    rev: v1.96.1\n"
            "    hooks:\n      - id: terraform_fmt\n  - repo: local\n    hooks:\n      - id: kustomize\n"
            "        entry: kustomize build kubernetes\n        language: system\n        pass_filenames: false\n"
            "  - repo: https://github.com/gitleaks/gitleaks\n    rev: v8.21.2\n    hooks:\n      - id: gitleaks\n"),
    })
    commit_all(repo)
    found = run_cli(["--all", "--select", "CL204", "--format", "json"], cwd=repo).found()
    assert found == {("CL204", ".mise.toml", 1)}
    write_files(repo, {".cloudlab-lint.yaml": "rules:\n  CL204: {params: {runners: [lefthook, pre-commit]}}\n"})
    commit_all(repo)
    assert run_cli(["--all", "--select", "CL204", "--format", "json"], cwd=repo).found() == set()
    write_files(repo, {"lefthook.yml": "remotes:\n  - git_url: https://github.com/example/hooks\n"
                                       "pre-commit:\n  commands:\n    a: {run: echo}\n",
                       ".cloudlab-lint.yaml": ""})
    commit_all(repo)
    outcome = run_cli(["--all", "--select", "CL204", "--format", "json"], cwd=repo)
    assert outcome.found() == {("CL204", "lefthook.yml", 3)}
    assert all("not followed: remote `https://github.com/example/hooks`" in f["message"]
               for f in outcome.json["findings"])
    assert "lefthook.yml:2: CL204 did not follow lefthook remote" in outcome.err


def test_cl204_commit_hook_on_a_file_lefthook_extends(tmp_path: Path) -> None:
    """Staging only the config that lefthook.yml extends is judged like staging lefthook.yml itself."""
    from .helpers import commit_all, git, init_repo, run_cli, write_files

    repo = init_repo(tmp_path / "repo")
    shared = ("pre-commit:\n  commands:\n    fmt:\n      glob: '*.tf'\n      run: terraform fmt -check {staged_files}\n"
              "    kustomize:\n      glob: 'kubernetes/**/*.yaml'\n      run: kustomize build kubernetes\n"
              "    gitleaks:\n      run: gitleaks git --staged\n")
    write_files(repo, {"lefthook.yml": "extends: [hooks/shared.yml]\n", "hooks/shared.yml": shared})
    commit_all(repo)
    assert run_cli(["--all", "--select", "CL204", "--format", "json"], cwd=repo).found() == set()
    write_files(repo, {"hooks/shared.yml": shared + "    validate:\n      run: terraform validate\n"})
    git(repo, "add", "hooks/shared.yml")
    found = run_cli(["--select", "CL204", "--format", "json"], cwd=repo).found()
    assert found == {("CL204", "hooks/shared.yml", 12)}
