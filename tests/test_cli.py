"""The command line: every flag, every exit status, configuration errors, suppression, baseline, fixes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cloudlab_lint import checks

from .helpers import commit_all, git, init_repo, run_cli, write_files

GOOD_IGNORE = "terraform.tfstate*\n.age-key.txt\nkubeconfig\ntalosconfig\n"
STATE = '{"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "x", "resources": []}\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "repo")
    write_files(root, {".gitignore": GOOD_IGNORE, "README.md": "# demo\n"})
    commit_all(root)
    return root


def lint(root: Path, *args: str) -> tuple[int, str, str]:
    outcome = run_cli(list(args), cwd=root)
    return outcome.code, outcome.out, outcome.err


def test_help_and_version(repo: Path) -> None:
    code, out, _ = lint(repo, "--help")
    assert code == 0 and "--all" in out and "--fail-on" in out
    code, out, _ = lint(repo, "--version")
    assert code == 0 and out.startswith("cloudlab-lint ")


def test_clean_repository_exits_0(repo: Path) -> None:
    code, out, err = lint(repo, "--all", "--select", "CL000,CL001,CL002")
    assert code == 0, err
    assert out.startswith("0 errors, 0 warnings, 0 notes")


def test_findings_exit_1_and_text_format(repo: Path) -> None:
    write_files(repo, {"terraform/state.json": STATE})
    commit_all(repo)
    code, out, _ = lint(repo, "--all", "--select", "CL002")
    assert code == 1
    assert out.splitlines()[0].startswith("terraform/state.json:1:1: CL002 [error] Terraform state JSON")
    assert "1 error, 0 warnings, 0 notes" in out


def test_fail_on_levels(repo: Path) -> None:
    write_files(repo, {"terraform/state.json": STATE})
    commit_all(repo)
    assert lint(repo, "--all", "--select", "CL002", "--fail-on", "never")[0] == 0
    assert lint(repo, "--all", "--select", "CL002", "--fail-on", "note")[0] == 1
    # Downgraded by config to a warning: error threshold passes, warning threshold fails.
    write_files(repo, {".cloudlab-lint.yaml": "rules:\n  CL002: {severity: warning}\n"})
    commit_all(repo)  # an untracked config never counts
    assert lint(repo, "--all", "--select", "CL002")[0] == 0
    assert lint(repo, "--all", "--select", "CL002", "--fail-on", "warning")[0] == 1


def test_select_and_ignore_by_prefix(repo: Path) -> None:
    write_files(repo, {"terraform/state.json": STATE})
    commit_all(repo)
    out = run_cli(["--all", "--select", "CL00", "--ignore", "CL002", "--format", "json"], cwd=repo).json
    assert "CL002" not in out["summary"]["rules"] and "CL001" in out["summary"]["rules"]
    assert not [f for f in out["findings"] if f["rule"] == "CL002"]
    code, _, err = lint(repo, "--all", "--select", "XX9")
    assert code == 2 and "no rule id starts with 'XX9'" in err


def test_paths_mode_judges_only_given_tracked_files(repo: Path) -> None:
    write_files(repo, {"a/terraform.tfstate": STATE, "b/terraform.tfstate": STATE, "c/terraform.tfstate": STATE})
    git(repo, "add", "-f", "a/terraform.tfstate", "b/terraform.tfstate")
    out = run_cli(["a/terraform.tfstate", "c/terraform.tfstate", "--select", "CL002", "--format", "json"], cwd=repo)
    assert out.found() == {("CL002", "a/terraform.tfstate", 1)}  # c/ is untracked: never part of the tree
    # No paths and no --all: what is staged.
    out = run_cli(["--select", "CL002", "--format", "json"], cwd=repo)
    assert out.found() == {("CL002", "a/terraform.tfstate", 1), ("CL002", "b/terraform.tfstate", 1)}


def test_paths_relative_to_a_subfolder(repo: Path) -> None:
    write_files(repo, {"a/terraform.tfstate": STATE})
    git(repo, "add", "-f", "a/terraform.tfstate")
    out = run_cli(["terraform.tfstate", "--select", "CL002", "--format", "json"], cwd=repo / "a")
    assert out.found() == {("CL002", "a/terraform.tfstate", 1)}


def test_root_flag_and_not_a_repository(repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, _, err = lint(elsewhere, "--all")
    assert code == 2 and "not inside a git work tree" in err and "Traceback" not in err
    code, out, err = lint(elsewhere, "--all", "--root", str(repo), "--select", "CL001")
    assert code == 0, err
    # A plain folder given with --root is linted as a whole.
    write_files(elsewhere, {"terraform.tfstate": STATE})
    out = run_cli(["--all", "--root", str(elsewhere), "--select", "CL002", "--format", "json"], cwd=elsewhere)
    assert out.found() == {("CL002", "terraform.tfstate", 1)}
    assert "not a git work tree" in out.err


def test_output_file_is_written_and_stdout_stays_empty(repo: Path) -> None:
    target = repo / "reports" / "out.json"
    target.parent.mkdir()
    code, out, _ = lint(repo, "--all", "--select", "CL001", "--format", "json", "--output", str(target))
    assert code == 0 and out == ""
    assert json.loads(target.read_text())["schema_version"] == 1
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]  # no temp file left behind
    code, _, err = lint(repo, "--all", "--output", str(repo / "missing" / "x.json"))
    assert code == 2 and "cannot write the report" in err


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("colour: true\n", ".cloudlab-lint.yaml: colour: unknown key"),
        ("flux:\n  chain: apps\n", ".cloudlab-lint.yaml: flux.chain: 'apps' is not of type 'array'"),
        ("flux:\n  layuot: {}\n", ".cloudlab-lint.yaml: flux.layuot: unknown key"),
        ("rules:\n  CL999: {enabled: false}\n", ".cloudlab-lint.yaml: rules.CL999: unknown rule id"),
        ("rules:\n  CL001: {params: {probe: []}}\n",
         ".cloudlab-lint.yaml: rules.CL001.params.probe: unknown parameter"),
        ("rules:\n  CL001: {severity: fatal}\n", ".cloudlab-lint.yaml: rules.CL001.severity: 'fatal' is not one of"),
        ("exclude: [1, 2\n", ".cloudlab-lint.yaml:2: invalid YAML"),
        ("- a\n- b\n", ".cloudlab-lint.yaml: (top level): ['a', 'b'] is not of type 'object'"),
    ],
)
def test_invalid_config_is_exit_2_with_one_line(repo: Path, config: str, message: str) -> None:
    write_files(repo, {".cloudlab-lint.yaml": config})
    git(repo, "add", ".cloudlab-lint.yaml")  # an untracked config is ignored (see test_untracked_config_*)
    code, out, err = lint(repo, "--all")
    assert code == 2 and out == ""
    assert err.startswith(f"cloudlab-lint: error: {message}"), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_config_flag_names_another_file(repo: Path) -> None:
    write_files(repo, {"ci/lint.yaml": "rules:\n  CL001: {enabled: false}\n"})
    out = run_cli(["--all", "--config", "ci/lint.yaml", "--format", "json"], cwd=repo).json
    assert "CL001" not in out["summary"]["rules"]
    code, _, err = lint(repo, "--all", "--config", "nope.yaml")
    assert code == 2 and "nope.yaml: config file not found" in err


def test_disabled_rule_does_not_run(repo: Path) -> None:
    write_files(repo, {".cloudlab-lint.yaml": "rules:\n  CL002: {enabled: false}\n", "x/terraform.tfstate": STATE})
    git(repo, "add", "-f", ".")
    assert lint(repo, "--all", "--select", "CL002")[0] == 0


def test_inline_suppression_and_exclude(repo: Path) -> None:
    write_files(repo, {
        "notes/a.md": "# cloudlab-lint: disable=CL002 fixture key for docs\nAGE-SECRET-KEY-1" + "Q" * 58 + "\n",
        "notes/b.md": "AGE-SECRET-KEY-1" + "Q" * 58 + "  # cloudlab-lint" ": disable=forbidden-file-tracked\n",
        "notes/c.md": "AGE-SECRET-KEY-1" + "Q" * 58 + "\n",
        "archive/d.md": "AGE-SECRET-KEY-1" + "Q" * 58 + "\n",
        ".cloudlab-lint.yaml": "exclude: ['archive/**']\n",
    })
    commit_all(repo)
    out = run_cli(["--all", "--select", "CL002", "--format", "json"], cwd=repo)
    assert out.found() == {("CL002", "notes/c.md", 1)}
    assert out.json["summary"]["suppressed"] == 2  # archive/ is not even read


def test_baseline_round_trip_survives_line_moves(repo: Path) -> None:
    key = "AGE-SECRET-KEY-1" + "Q" * 58
    write_files(repo, {"notes/a.md": f"intro\n{key}\n"})
    commit_all(repo)
    code, _, err = lint(repo, "baseline", "--select", "CL002")
    assert code == 0 and "wrote 1 findings" in err
    baseline = json.loads((repo / ".cloudlab-lint-baseline.json").read_text())
    assert baseline["version"] == 1 and baseline["findings"][0]["rule"] == "CL002"
    assert key not in (repo / ".cloudlab-lint-baseline.json").read_text()
    assert lint(repo, "--all", "--select", "CL002", "--baseline", ".cloudlab-lint-baseline.json")[0] == 0
    # Unrelated lines above move the finding: still baselined. A new one is not.
    write_files(repo, {"notes/a.md": f"one\ntwo\nthree\nintro\n{key}\n", "notes/new.md": f"{key}\n"})
    commit_all(repo)
    out = run_cli(["--all", "--select", "CL002", "--baseline", ".cloudlab-lint-baseline.json", "--format", "json"],
                  cwd=repo)
    assert out.found() == {("CL002", "notes/new.md", 1)} and out.json["summary"]["suppressed"] == 1
    code, _, err = lint(repo, "--all", "--baseline", "nope.json")
    assert code == 2 and "baseline file not found" in err
    write_files(repo, {"bad.json": "[1, 2]"})
    code, _, err = lint(repo, "--all", "--baseline", "bad.json")
    assert code == 2 and "not a cloudlab-lint baseline" in err


def test_fix_appends_missing_patterns_keeping_crlf(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    (root / ".gitignore").write_bytes(b"node_modules/\r\nterraform.tfstate")
    commit_all(root)
    code, out, err = lint(root, "--all", "--select", "CL001", "--fix")
    # As ruff's fix does: files changed, so the run fails (a commit hook must not pass without them staged).
    assert code == 1, out
    assert "files were modified by --fix: .gitignore" in err and "fixed 1 file" in out
    data = (root / ".gitignore").read_bytes()
    assert data.startswith(b"node_modules/\r\nterraform.tfstate\r\n# never commit")
    assert b"\r\n.age-key.txt\r\n" in data and b"\nkubeconfig\r\n" in data and b"talosconfig\r\n" in data
    assert "CL001: added to .gitignore: terraform.tfstate.backup, .age-key.txt, kubeconfig, talosconfig" in err
    # Nothing left to add: a second run changes nothing.
    before = (root / ".gitignore").read_bytes()
    assert lint(root, "--all", "--select", "CL001", "--fix")[0] == 0
    assert (root / ".gitignore").read_bytes() == before


def test_fix_reports_what_it_cannot_fix(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write_files(root, {".gitignore": GOOD_IGNORE, "terraform/.gitignore": "!terraform.tfstate\n"})
    commit_all(root)
    out = run_cli(["--all", "--select", "CL001", "--fix", "--format", "json"], cwd=root)
    # The nested negation still re-includes terraform/terraform.tfstate after the fix.
    assert ("CL001", ".gitignore", 1) in out.found() and out.code == 1
    assert "re-includes `terraform/terraform.tfstate`" in out.json["findings"][0]["message"]


def test_crashing_check_is_exit_2_and_others_still_run(repo: Path) -> None:
    def boom(ctx: checks.Context) -> list:
        raise KeyError("AGE-SECRET-KEY-1SECRETVALUE")

    checks.REGISTRY["boom-test"] = boom
    try:
        team = repo / "policies"
        team.mkdir()
        (team / "TEAM001.yaml").write_text(
            "id: TEAM001\nname: always-crashes\nseverity: error\nshort: s\nfull: f\n"
            "help: {why: w, fix: f}\ncheck: boom-test\n")
        write_files(repo, {".cloudlab-lint.yaml": "rule_dirs: [policies]\n", "x/terraform.tfstate": STATE})
        git(repo, "add", "-f", ".")
        out = run_cli(["--all", "--select", "TEAM001,CL002", "--format", "json"], cwd=repo)
    finally:
        del checks.REGISTRY["boom-test"]
    assert out.code == 2
    assert out.found() == {("CL002", "x/terraform.tfstate", 1)}
    assert "TEAM001 always-crashes: the check crashed (KeyError at test_cli.py:" in out.err
    assert "SECRETVALUE" not in out.err + out.out


def test_team_rule_required_ignore_and_invalid_team_rule(repo: Path) -> None:
    team = repo / "policies"
    team.mkdir()
    (team / "ops.yaml").write_text(
        "id: OPS001\nname: ignore-vault-tokens\nseverity: warning\nshort: s\nfull: f\nhelp: {why: w, fix: f}\n"
        "check: required-ignore\nparams: {probes: [.vault-token, ops/.vault-token]}\n")
    write_files(repo, {".cloudlab-lint.yaml": "rule_dirs: [policies/]\n"})
    git(repo, "add", ".cloudlab-lint.yaml")
    out = run_cli(["--all", "--select", "OPS", "--format", "json", "--fail-on", "warning"], cwd=repo)
    assert out.found() == {("OPS001", ".gitignore", 1)} and out.code == 1
    (team / "bad.yaml").write_text("id: OPS002\nname: Bad Name\nseverity: error\n")
    code, _, err = lint(repo, "--all")
    assert code == 2 and "bad.yaml" in err and len(err.strip().splitlines()) == 1


def test_rules_explain_subcommands(repo: Path) -> None:
    code, out, _ = lint(repo, "rules")
    assert code == 0 and out.splitlines()[0].startswith("CL000  parse-error")
    code, out, _ = lint(repo, "rules", "--format", "markdown")
    assert code == 0 and "| CL001 | `gitignore-coverage` | error | `cloudlab-gitignore` |" in out
    code, out, _ = lint(repo, "rules", "--format", "json")
    assert code == 0 and {r["id"] for r in json.loads(out)["rules"]} >= {"CL000", "CL001", "CL002"}
    code, out, _ = lint(repo, "explain", "CL001")
    assert code == 0 and "Why:" in out and "How to fix:" in out and "probes" in out
    assert out.rstrip().endswith("/docs/rules/CL001.md")
    assert lint(repo, "explain", "gitignore-coverage")[0] == 0
    code, _, err = lint(repo, "explain", "CL998")
    assert code == 2 and "no rule 'CL998'" in err


def test_unknown_flag_is_usage_error(repo: Path) -> None:
    code, _, err = lint(repo, "--formt", "json")
    assert code == 2 and "unrecognized arguments" in err
    code, _, err = lint(repo, "--all", "README.md")
    assert code == 2 and "either PATH arguments or --all" in err


def test_help_imports_nothing_heavy() -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "cloudlab_lint", "--help"],
                          capture_output=True, text=True, check=True)
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "cloudlab_lint" in imported
    for heavy in ("detect_secrets", "git", "jsonschema", "urllib3", "requests", "http", "yaml"):
        assert heavy not in imported, heavy


def test_config_param_types_are_checked(repo: Path) -> None:
    write_files(repo, {".cloudlab-lint.yaml": "rules:\n  CL001: {params: {probes: 5}}\n"})
    git(repo, "add", ".cloudlab-lint.yaml")
    code, _, err = lint(repo, "--all")
    assert code == 2
    assert err == "cloudlab-lint: error: .cloudlab-lint.yaml: rules.CL001.params.probes: expected list, got integer\n"


def test_config_that_is_a_folder(repo: Path) -> None:
    (repo / ".cloudlab-lint.yaml").mkdir()  # git cannot track a folder as a file: ignored, and said
    code, _, err = lint(repo, "--all")
    assert code == 0 and "note: .cloudlab-lint.yaml: not tracked by git, ignored" in err
    code, _, err = lint(repo, "--all", "--config", ".cloudlab-lint.yaml")
    assert code == 2 and "the config is not a regular file" in err


def test_fix_creates_a_missing_gitignore_and_says_to_add_it(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write_files(root, {"README.md": "x\n"})
    commit_all(root)
    code, _, err = lint(root, "--all", "--select", "CL001", "--fix")
    assert code == 1
    assert "CL001: added to .gitignore (a new file: `git add .gitignore`): terraform.tfstate" in err
    assert (root / ".gitignore").read_text().startswith("# never commit (added by cloudlab-lint --fix, CL001)\n")


def test_commit_hook_reports_parse_errors_of_its_own_files_only(repo: Path) -> None:
    write_files(repo, {"kubernetes/old.yaml": "a: [\n"})
    commit_all(repo)
    write_files(repo, {"kubernetes/new.yaml": "b: {\n"})
    git(repo, "add", "kubernetes/new.yaml")
    out = run_cli(["kubernetes/new.yaml", "--select", "CL000", "--format", "json"], cwd=repo)
    assert out.found() == {("CL000", "kubernetes/new.yaml", 2)}
    assert run_cli(["--all", "--select", "CL000", "--format", "json"], cwd=repo).found() == {
        ("CL000", "kubernetes/new.yaml", 2), ("CL000", "kubernetes/old.yaml", 2)}


def test_config_params_of_the_right_type_are_accepted(repo: Path) -> None:
    write_files(repo, {".cloudlab-lint.yaml": "rules:\n  CL001:\n    params:\n      probes: [a.key, b/a.key]\n"})
    git(repo, "add", ".cloudlab-lint.yaml")
    out = run_cli(["--all", "--select", "CL001", "--format", "json"], cwd=repo)
    assert out.code == 1 and out.found() == {("CL001", ".gitignore", 1)}
    assert "`a.key`, `b/a.key`" in out.json["findings"][0]["message"]


def test_the_generated_index_names_the_module_of_every_check() -> None:
    """The runner imports a check's module from the generated index alone: it must say where every check lives,
    and every rule file's check and prefilter must be in it."""
    from cloudlab_lint import checks
    from cloudlab_lint.catalog import load_catalog

    registry = checks.load_all_checks()
    assert not checks.IMPORT_ERRORS
    real = {name: fn.__module__.rsplit(".", 1)[1] for name, fn in registry.items() if name != "boom-test"}
    assert real == checks.CHECKS
    prefilters = checks.PREFILTER_REGISTRY.items()
    assert {name: fn.__module__.rsplit(".", 1)[1] for name, fn in prefilters} == checks.PREFILTERS
    for rule in load_catalog().rules:
        assert rule.check in checks.CHECKS, rule.source
        assert rule.scope.prefilter is None or rule.scope.prefilter in checks.PREFILTERS, rule.source
