"""Every way the runner may run a fixture repository gives the report a plain run gives: one process or two
(the fork), fresh or served from what an earlier commit hook kept (the work tree named, or the index staged),
and with the Flux model's manifest facts or the whole documents. One matrix over every fixture, marked slow
(CI runs it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloudlab_lint import runner as runner_pkg
from cloudlab_lint.stack.gitops import facts as gitops_facts

from .helpers import FIXTURES, git, load_case, materialise, run_cli, runner_settings

CASES = sorted(p.parent for p in FIXTURES.glob("*/*/case.yaml"))


def report(root: Path, args: list[str]) -> tuple[dict, int]:
    out = run_cli([*args, "--format", "json"], cwd=root)
    assert "Traceback" not in out.err, out.err
    doc = json.loads(out.out)
    doc["notes"] = sorted(doc.get("notes", []))  # two processes' notes may interleave differently
    return doc, out.code


@pytest.fixture
def kept_rules_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The rules whose checks ran in this process among those a hook keeps (tree rules)."""
    seen: list[str] = []
    real = runner_pkg.check_rule

    def counted(rule, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if rule.scope.tree and rule.requires is None:
            seen.append(rule.id)
        return real(rule, *args, **kwargs)

    monkeypatch.setattr(runner_pkg, "check_rule", counted)
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("folder", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_every_strategy_reports_what_a_plain_run_does(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      kept_rules_run: list[str]) -> None:
    case = load_case(folder)
    root = materialise(case, tmp_path / "repo")
    args = [a for a in case.spec.get("args", ["--all"]) if a != "--fix"]
    runner_settings(monkeypatch, jobs=1, racy_ns=0)
    plain = report(root, [*args, "--no-cache"])

    runner_settings(monkeypatch, jobs=2, fork_min_work=0)  # forked whatever the size
    assert report(root, [*args, "--no-cache"]) == plain, "forked"
    runner_settings(monkeypatch, jobs=1)

    with monkeypatch.context() as m:
        m.setattr(gitops_facts, "_facts", lambda doc, path: doc)
        assert report(root, [*args, "--no-cache"]) == plain, "whole documents instead of the manifest facts"

    files = [f for f in git(root, "ls-files", "-z").split("\0") if f][:200]
    for targets in (files, ["--staged", *files]) if files else ():
        fresh = report(root, ["--no-cache", "--fail-on", "never", *targets])
        assert report(root, ["--fail-on", "never", *targets]) == fresh, "the run that keeps"
        kept = (root / ".git" / "cloudlab-lint" / "tree-result").exists()
        kept_rules_run.clear()
        assert report(root, ["--fail-on", "never", *targets]) == fresh, "the run served from what was kept"
        if kept:
            assert kept_rules_run == [], "the second run computed what it had kept"
