"""Code scanning: the SARIF category, rule pages, relatedLocations for chains, history findings' commits."""

from __future__ import annotations

import json
from pathlib import Path

from cloudlab_lint.catalog import load_catalog
from cloudlab_lint.project import project_url, rule_help_uri

from .helpers import PROJECT, commit_all, git, init_repo, run_cli, write_files

PLAN_WORKFLOW = """name: ci
on: [pull_request]
permissions: {contents: read}
jobs:
  plan:
    runs-on: ubuntu-latest
    steps:
      - run: mise run deploy
"""
MISE = """[tasks.deploy]
run = "./scripts/deploy.sh"
"""
SCRIPT = "#!/bin/sh\ncd infra\nterraform plan -out=x\n"


def _sarif(root: Path, *args: str) -> dict:
    outcome = run_cli(["--all", "--format", "sarif", "--fail-on", "never", *args], cwd=root)
    assert outcome.code == 0, outcome.err
    return json.loads(outcome.out)


def test_category_only_when_asked_for(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write_files(root, {"README.md": "x\n"})
    commit_all(root)
    assert "automationDetails" not in _sarif(root, "--select", "CL001")["runs"][0]
    run = _sarif(root, "--select", "CL001", "--sarif-category", "cloudlab-lint-history")["runs"][0]
    assert run["automationDetails"] == {"id": "cloudlab-lint-history/"}


def test_every_builtin_rule_has_a_generated_page_its_help_uri_names() -> None:
    base = project_url()
    assert base.startswith("https://github.com/") and base.count("/") == 4
    for rule in load_catalog().rules:
        uri = rule_help_uri(rule.id)
        assert uri.startswith(base + "/") and uri.endswith(f"docs/rules/{rule.id}.md")
        page = PROJECT / "docs" / "rules" / f"{rule.id}.md"
        assert page.is_file(), f"{page} missing: run `python -m cloudlab_lint.gen`"
        assert rule.name in page.read_text(encoding="utf-8")


def test_security_severity_on_exactly_the_catalogs_security_rules() -> None:
    # catalog.md, cross-cutting: the security rules (those of them that exist in this version).
    security = {"CL001", "CL002", "CL003", "CL004", "CL005", "CL006", "CL007", "CL106", "CL107", "CL201", "CL205",
                "CL301", "CL502", "CL503", "CL504"}
    for rule in load_catalog().rules:
        if rule.id in security:
            assert rule.security_severity and 0 < float(rule.security_severity) <= 10, rule.id
            assert "security" in rule.tags, rule.id
        else:
            assert rule.security_severity is None and "security" not in rule.tags, rule.id


def test_the_terraform_plan_chain_is_related_locations(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write_files(root, {".github/workflows/ci.yml": PLAN_WORKFLOW, ".mise.toml": MISE, "scripts/deploy.sh": SCRIPT})
    commit_all(root)
    (result,) = _sarif(root, "--select", "CL201")["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "scripts/deploy.sh"
    related = result["relatedLocations"]
    places = [(r["physicalLocation"]["artifactLocation"]["uri"], r["message"]["text"]) for r in related]
    assert places[0][0] == ".github/workflows/ci.yml" and ".mise.toml" in [p for p, _ in places]
    assert [r["id"] for r in related] == list(range(len(related)))
    assert all(r["physicalLocation"]["region"]["startLine"] >= 1 for r in related)


def test_history_findings_carry_their_commit(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write_files(root, {"old/terraform.tfstate": '{"version": 4, "terraform_version": "1.9.8", "lineage": "x"}\n'})
    commit_all(root, "oops")
    leaked = git(root, "rev-parse", "HEAD").strip()
    git(root, "rm", "-q", "-r", "old")
    write_files(root, {"README.md": "x\n"})
    commit_all(root, "remove")
    doc = _sarif(root, "--history", "--select", "CL006")
    results = [r for r in doc["runs"][0]["results"] if "tfstate" in r["message"]["text"]]
    assert results, doc["runs"][0]["results"]
    for result in results:
        assert result["properties"]["commit"] == leaked
        assert leaked[:12] in result["message"]["text"]
