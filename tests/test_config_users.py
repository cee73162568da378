"""The config as users write it: rule names wherever ids go, per-path ignores, the baseline key, the schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from cloudlab_lint.config import SCHEMA, SCHEMA_FILE
from cloudlab_lint.project import config_schema_url

from .helpers import PROJECT, commit_all, init_repo, run_cli, write_files

KEY = "AGE-SECRET-KEY-1" + "Q" * 58
GOOD_IGNORE = "terraform.tfstate*\n.age-key.txt\nkubeconfig\ntalosconfig\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "repo")
    write_files(root, {".gitignore": GOOD_IGNORE, "notes/a.md": f"{KEY}\n", "docs/b.md": f"{KEY}\n"})
    commit_all(root)
    return root


def _config(root: Path, text: str) -> None:
    """The config counts when tracked (an untracked one is ignored with a note)."""
    write_files(root, {".cloudlab-lint.yaml": text})
    commit_all(root)


def _found(root: Path, *args: str) -> set[tuple[str, str, int]]:
    outcome = run_cli(["--all", "--format", "json", "--fail-on", "never", *args], cwd=root)
    assert outcome.code == 0, outcome.err
    return outcome.found()


def test_rule_names_work_in_the_config_and_on_the_command_line(repo: Path) -> None:
    _config(repo, "rules:\n  forbidden-file-tracked: {severity: warning}\n")
    out = run_cli(["--all", "--select", "forbidden-file-tracked", "--format", "json"], cwd=repo).json
    assert {f["severity"] for f in out["findings"]} == {"warning"} and out["summary"]["rules"] == ["CL002"]
    _config(repo, "rules:\n  forbiden-file-tracked: {enabled: false}\n")
    outcome = run_cli(["--all"], cwd=repo)
    assert outcome.code == 2 and "rules.forbiden-file-tracked: unknown rule id or name" in outcome.err


def test_per_path_ignore_by_id_or_name(repo: Path) -> None:
    assert _found(repo, "--select", "CL002") == {("CL002", "notes/a.md", 1), ("CL002", "docs/b.md", 1)}
    _config(repo, "ignore:\n  'docs/**': [forbidden-file-tracked]\n  'x/*': [CL001]\n")
    assert _found(repo, "--select", "CL002") == {("CL002", "notes/a.md", 1)}
    _config(repo, "ignore:\n  'notes/*': [CL002]\n")
    assert _found(repo, "--select", "CL002") == {("CL002", "docs/b.md", 1)}
    _config(repo, "ignore:\n  'notes/*': [CL005]\n")  # another rule: no effect
    assert ("CL002", "notes/a.md", 1) in _found(repo, "--select", "CL002")
    _config(repo, "ignore:\n  'notes/*': [CL0002]\n")
    outcome = run_cli(["--all"], cwd=repo)
    assert outcome.code == 2 and "ignore.notes/*: unknown rule id or name 'CL0002'" in outcome.err


def test_the_baseline_key(repo: Path) -> None:
    assert run_cli(["baseline", "--select", "CL002"], cwd=repo).code == 0
    _config(repo, "baseline: .cloudlab-lint-baseline.json\n")
    assert _found(repo, "--select", "CL002") == set()
    write_files(repo, {"notes/c.md": f"{KEY}\n"})
    commit_all(repo)
    assert _found(repo, "--select", "CL002") == {("CL002", "notes/c.md", 1)}
    _config(repo, "baseline: ci/baseline.json\n")
    outcome = run_cli(["--all"], cwd=repo)
    assert outcome.code == 2 and "baseline file not found" in outcome.err
    # `cloudlab-lint baseline` writes where the config says.
    (repo / "ci").mkdir()
    assert run_cli(["baseline", "--select", "CL002"], cwd=repo).code == 0
    assert (repo / "ci" / "baseline.json").is_file()


def test_the_schema_is_the_one_the_validator_uses_and_jsonschema_accepts_it() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema == SCHEMA and schema["$id"] == config_schema_url()
    jsonschema.Draft202012Validator.check_schema(schema)
    # The project's own config, and the README's example, are valid.
    jsonschema.validate(yaml.safe_load((PROJECT / ".cloudlab-lint.yaml").read_text(encoding="utf-8")), schema)
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    assert f"# yaml-language-server: $schema={config_schema_url()}" in readme
    example = readme.split("## Configuration: `.cloudlab-lint.yaml`")[1].split("```yaml\n")[1].split("```")[0]
    jsonschema.validate(yaml.safe_load(example), schema)


def test_the_schema_line_is_a_comment_the_loader_ignores(repo: Path) -> None:
    _config(repo, f"# yaml-language-server: $schema={config_schema_url()}\nrules:\n  CL002: {{enabled: false}}\n")
    assert _found(repo, "--select", "CL002,CL001") == set()
