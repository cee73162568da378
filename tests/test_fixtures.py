"""Every fixture case: run only its rule on a real git repository and compare (rule, path, line) exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import FIXTURES, load_case, materialise, run_cli

CASES = sorted(p.parent for p in FIXTURES.glob("*/*/case.yaml"))


@pytest.mark.parametrize("folder", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_fixture_case(folder: Path, tmp_path: Path) -> None:
    case = load_case(folder)
    assert folder.name.startswith(("fail-", "pass-")), "cases are fail-* or pass-*"
    repo = materialise(case, tmp_path / "repo")
    args = list(case.spec.get("args", ["--all"]))
    # `select:` a prefix instead of the exact id: the way to run a rule that needs a flag without it.
    outcome = run_cli([*args, "--select", case.spec.get("select", case.rule), "--format", "json"], cwd=repo)
    assert outcome.code in (0, 1), outcome.err
    found = outcome.found()
    assert found == case.expected, f"{folder.name}: {outcome.json['findings']}"
    if folder.name.startswith("fail-"):
        assert case.expected, "a fail case expects findings"
        assert outcome.code == 1
    else:
        assert not case.expected and outcome.code == 0
    for needle in case.spec.get("never_printed", []):
        assert needle not in outcome.out and needle not in outcome.err


def test_every_catalog_rule_has_fail_and_pass_cases() -> None:
    from cloudlab_lint.catalog import load_catalog

    for rule in load_catalog().rules:
        folders = list(FIXTURES.glob(f"{rule.id}-*"))
        assert folders, f"{rule.id} has no fixture folder"
        cases = [c.name for f in folders for c in f.iterdir() if (c / "case.yaml").is_file()]
        assert any(c.startswith("fail-") for c in cases), f"{rule.id}: no fail-* case"
        assert any(c.startswith("pass-") for c in cases), f"{rule.id}: no pass-* case"
