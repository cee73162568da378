"""The GitHub Action: its script end to end against a real repository, GitHub's files in tmp; action.yml statically."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .helpers import PROJECT, commit_all, git, init_repo, write_files

STATE = '{"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "x", "resources": []}\n'
GOOD_IGNORE = "terraform.tfstate*\n.age-key.txt\nkubeconfig\ntalosconfig\n"
CONFIG = "exclude: [\"archive/**\"]\nrules:\n  CL401: {enabled: false}\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "workspace")
    write_files(root, {".gitignore": GOOD_IGNORE, "README.md": "# homelab\n", ".cloudlab-lint.yaml": CONFIG})
    commit_all(root)
    return root


Ran = tuple[subprocess.CompletedProcess[str], Path, dict[str, str]]


def _run(root: Path, tmp: Path, event: dict | None = None, base: str | None = None, **inputs: str) -> Ran:
    runner = tmp / "runner"
    runner.mkdir(exist_ok=True)
    summary, output, event_path = runner / "summary.md", runner / "output", runner / "event.json"
    for path in (summary, output):
        path.write_text("", encoding="utf-8")
    event_path.write_text(json.dumps(event or {}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INPUT_")}
    env.update(GITHUB_WORKSPACE=str(root), GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(output),
               RUNNER_TEMP=str(runner), GITHUB_EVENT_PATH=str(event_path), GITHUB_REPOSITORY="acme/homelab",
               GITHUB_EVENT_NAME="pull_request" if event or base else "push", GITHUB_ACTIONS="true")
    if base:
        env["GITHUB_BASE_REF"] = base
    env.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    proc = subprocess.run([sys.executable, "-m", "cloudlab_lint.action"], cwd=tmp, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    outputs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if "=" in line)
    return proc, summary, outputs


def test_findings_fail_the_step_and_every_report_is_written(workspace: Path, tmp_path: Path) -> None:
    write_files(workspace, {"terraform/terraform.tfstate": STATE})
    git(workspace, "add", "-f", "terraform/terraform.tfstate")
    commit_all(workspace)
    proc, summary, outputs = _run(workspace, tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert outputs["exit-code"] == "1" and outputs["upload"] == "true"
    # Annotations on stdout, for the step's log.
    assert "::error file=terraform/terraform.tfstate,line=1" in proc.stdout
    # The SARIF file, valid against the 2.1.0 schema, no category unless asked for.
    doc = json.loads(Path(outputs["sarif-file"]).read_text(encoding="utf-8"))
    from .sarif_check import validate_sarif

    validate_sarif(doc)  # the full schema where ../shared has it; the structure and URI grammar in any clone
    assert "automationDetails" not in doc["runs"][0]
    assert any(r["ruleId"] == "CL002" for r in doc["runs"][0]["results"])
    # The job summary: the findings, and what the repository's config turns off.
    text = summary.read_text(encoding="utf-8")
    assert "CL002" in text and "Rules disabled: `CL401`" in text and "Paths excluded: `archive/**`" in text


def test_a_clean_repository_passes_and_fail_on_never_passes_findings(workspace: Path, tmp_path: Path) -> None:
    proc, summary, outputs = _run(workspace, tmp_path, args="--select CL0")
    assert proc.returncode == 0 and outputs["exit-code"] == "0", proc.stdout + proc.stderr
    assert "No findings." in summary.read_text(encoding="utf-8")
    write_files(workspace, {".gitignore": "node_modules/\n"})
    commit_all(workspace)
    proc, _, outputs = _run(workspace, tmp_path, args="--select CL001", **{"fail_on": "never"})
    assert proc.returncode == 0 and "::error file=.gitignore" in proc.stdout
    proc, _, _ = _run(workspace, tmp_path, args="--select CL001", **{"fail_on": "sometimes"})
    assert proc.returncode == 2 and "::error title=cloudlab-lint::input `fail-on` must be one of" in proc.stdout


def test_a_forks_pull_request_skips_the_upload_with_a_notice(workspace: Path, tmp_path: Path) -> None:
    fork = {"pull_request": {"head": {"repo": {"full_name": "stranger/homelab"}}}}
    proc, _, outputs = _run(workspace, tmp_path, event=fork, args="--select CL0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert outputs["upload"] == "false" and outputs["sarif-file"]
    assert "::notice title=cloudlab-lint::SARIF upload skipped: a pull request from the fork stranger/homelab" \
        in proc.stdout
    same = {"pull_request": {"head": {"repo": {"full_name": "acme/homelab"}}}}
    assert _run(workspace, tmp_path, event=same, args="--select CL0")[2]["upload"] == "true"
    # sarif: false writes none and uploads none.
    _, _, outputs = _run(workspace, tmp_path, args="--select CL0", sarif="false")
    assert outputs["upload"] == "false" and outputs["sarif-file"] == ""


def test_history_on_a_shallow_checkout_says_how_to_get_it(workspace: Path, tmp_path: Path) -> None:
    commit_all(workspace, "second")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth=1", f"file://{workspace}", str(clone))
    proc, _, outputs = _run(clone, tmp_path, history="true", args="--select CL006")
    assert proc.returncode == 1 and outputs["exit-code"] == "1"
    assert "fetch-depth: 0" in proc.stdout


def test_config_from_base_reads_the_base_branchs_config(workspace: Path, tmp_path: Path) -> None:
    origin = workspace
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", f"file://{origin}", str(clone))
    # The pull request turns CL001 off; the base branch's config does not.
    write_files(clone, {".gitignore": "node_modules/\n",
                        ".cloudlab-lint.yaml": CONFIG + "  CL001: {enabled: false}\n"})
    commit_all(clone, "pr")
    proc, summary, _ = _run(clone, tmp_path, args="--select CL001")
    assert proc.returncode == 0, proc.stdout
    proc, summary, _ = _run(clone, tmp_path, base="main", args="--select CL001", **{"config_from_base": "true"})
    assert proc.returncode == 1 and "::error file=.gitignore" in proc.stdout, proc.stdout + proc.stderr
    assert "the base branch's `.cloudlab-lint.yaml`" in summary.read_text(encoding="utf-8")


def _action() -> dict:
    return yaml.safe_load((PROJECT / "action.yml").read_text(encoding="utf-8"))


def test_action_yml_inputs_and_wiring() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert set(inputs) == {"args", "history", "github", "sarif", "category", "fail-on", "summary", "config-from-base"}
    assert inputs["sarif"]["default"] == "true" and inputs["fail-on"]["default"] == "error"
    assert inputs["summary"]["default"] == "true"
    steps = action["runs"]["steps"]
    # This exact version, from the action's own checkout.
    assert '"$GITHUB_ACTION_PATH"' in steps[0]["run"] and "pip install" in steps[0]["run"]
    lint = next(s for s in steps if s.get("id") == "lint")
    assert "-m cloudlab_lint.action" in lint["run"]
    # Every input reaches the script as INPUT_<NAME>, the name action.py reads.
    for name in inputs:
        assert lint["env"][f"INPUT_{name.upper().replace('-', '_')}"] == f"${{{{ inputs.{name} }}}}"
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert re.fullmatch(r"github/codeql-action/upload-sarif@[0-9a-f]{40}", upload["uses"])
    assert "always()" in upload["if"] and "steps.lint.outputs.upload == 'true'" in upload["if"]
    assert upload["with"] == {"sarif_file": "${{ steps.lint.outputs.sarif-file }}",
                              "category": "${{ inputs.category }}"}
    # No expression is ever interpolated into a shell script (template injection).
    for step in steps:
        assert "${{" not in step.get("run", ""), step["name"]


def test_action_yml_pins_a_released_upload_sarif() -> None:
    text = (PROJECT / "action.yml").read_text(encoding="utf-8")
    # codeql-action v4.36.2 (the tag's commit, read from github/codeql-action).
    assert "upload-sarif@8aad20d150bbac5944a9f9d289da16a4b0d87c1e # v4.36.2" in text


def test_a_broken_config_fails_with_exit_2_and_says_so_in_the_summary(workspace: Path, tmp_path: Path) -> None:
    write_files(workspace, {".cloudlab-lint.yaml": "colour: true\n"})
    commit_all(workspace)
    proc, summary, outputs = _run(workspace, tmp_path)
    assert proc.returncode == 2 and outputs["exit-code"] == "2" and outputs["upload"] == "false"
    assert "colour: unknown key" in proc.stderr
    assert "The run stopped before it could report (exit status 2)" in summary.read_text(encoding="utf-8")
