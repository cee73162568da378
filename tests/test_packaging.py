"""The package as users get it: the wheel carries rules/, hooks and docs are generated from rules/."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cloudlab_lint.catalog import builtin_rules_dir, load_catalog

from .helpers import PROJECT, shared_or_skip


def test_every_rule_file_validates_against_the_rule_schema() -> None:
    catalog = load_catalog(validate_builtin=True)
    assert catalog.get("CL000") is not None
    for path in sorted((PROJECT / "rules").glob("CL*.y*ml")):
        rule_id, _, name = path.stem.partition("-")
        rule = catalog.get(rule_id)
        assert rule is not None and rule.name == name, f"{path.name}: file name must be <id>-<name>.yaml"


def test_rule_ids_and_names_match_the_public_catalog() -> None:
    spec = shared_or_skip("spec", "catalog.md").read_text(encoding="utf-8")
    public = dict(re.findall(r"^\| (CL\d{3}) \| ([a-z0-9-]+) \|", spec, re.M))
    for rule in load_catalog().rules:
        assert public.get(rule.id) == rule.name, f"{rule.id} {rule.name} is not in the public catalog"


def test_generated_files_are_current() -> None:
    from cloudlab_lint.gen import stale

    assert stale() == [], "stale: run `python -m cloudlab_lint.gen`"


def test_gen_check_fails_on_a_stale_output(tmp_path: Path) -> None:
    import shutil

    from cloudlab_lint.gen import outputs, stale

    root = tmp_path / "copy"
    (root / "docs" / "rules").mkdir(parents=True)
    shutil.copyfile(PROJECT / "README.md", root / "README.md")
    (root / "cloudlab_lint").mkdir()
    for path, text in outputs(root=root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert stale(root) == []
    (root / "docs" / "rules" / "CL003.md").write_text("edited by hand\n", encoding="utf-8")
    (root / "docs" / "rules" / "CL999.md").write_text("a rule that is gone\n", encoding="utf-8")
    hooks = root / ".pre-commit-hooks.yaml"
    hooks.write_text(hooks.read_text(encoding="utf-8").replace("pre-merge-commit, ", ""), encoding="utf-8")
    assert stale(root) == [".pre-commit-hooks.yaml", "docs/rules/CL003.md", "docs/rules/CL999.md (no such rule)"]


def test_pre_commit_hooks_cover_every_family_with_its_stage() -> None:
    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())}
    catalog = load_catalog()
    commit_stages = ["pre-commit", "pre-merge-commit", "manual"]
    assert hooks["cloudlab-lint"]["entry"] == "cloudlab-lint --"
    assert hooks["cloudlab-lint"]["stages"] == commit_stages
    assert hooks["cloudlab-history"]["stages"] == ["manual", "pre-push"]
    assert hooks["cloudlab-branch-protection"]["stages"] == ["manual"]
    assert hooks["cloudlab-lint-fix"]["entry"] == "cloudlab-lint --fix --select CL001 --"
    for rule in catalog.rules:
        hook = hooks[rule.hook]
        assert rule.id in hook["entry"] or rule.hook == "cloudlab-lint"
        assert ("pre-commit" not in hook["stages"]) == bool(rule.requires)
        assert hook["require_serial"] is True
    for hook_id, hook in hooks.items():
        # A deletion must trigger a hook pre-commit would otherwise skip; a file named `graph` stays a path.
        assert hook["always_run"] is True and hook["entry"].endswith(" --"), hook_id
        # Stage names as git's hooks are named: pre-commit 3.2.0 and later.
        assert hook["minimum_pre_commit_version"] == "3.2.0", hook_id
        if hook_id not in ("cloudlab-lint", "cloudlab-lint-fix") and "pre-commit" in hook["stages"]:
            assert "--select CL000," in hook["entry"], "commit-stage families report what they cannot parse"


def test_project_metadata_is_complete() -> None:
    import tomllib

    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    home = project["urls"]["Homepage"]
    assert home.startswith("https://github.com/") and all(u.startswith(home) for u in project["urls"].values())
    assert project["keywords"] and project["requires-python"] == ">=3.11"
    assert "Programming Language :: Python :: 3.11" in project["classifiers"]
    assert "License :: OSI Approved :: MIT License" in project["classifiers"]
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    assert "Python >= 3.11" in readme.split("## About")[0]
    assert "<owner>" not in readme and "rev: v0.1.0" not in readme


def test_readme_starts_with_the_two_commands() -> None:
    lines = [line for line in (PROJECT / "README.md").read_text(encoding="utf-8").splitlines() if line.strip()]
    commands = [line for line in lines[:12] if line.startswith(("pip ", "python"))]
    assert len(commands) >= 2
    assert "cloudlab-lint --all" in commands[0] and "pytest" in commands[1]


def test_wheel_carries_the_rules_and_finds_them(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)], cwd=PROJECT,
                   check=True, capture_output=True)
    (wheel,) = dist.glob("cloudlab_lint-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "site")
    rule_files = sorted(p.name for p in (PROJECT / "rules").glob("*.yaml"))
    for name in rule_files:
        assert f"cloudlab_lint/rules/{name}" in names
    assert "cloudlab_lint/rules/schema/rule.schema.json" in names
    crds = PROJECT / "cloudlab_lint" / "data" / "flux-crds"
    for path in crds.rglob("*.json"):  # CL112's schemas
        assert f"cloudlab_lint/data/flux-crds/{path.relative_to(crds).as_posix()}" in names
    assert not any("tests/" in n or "__pycache__" in n for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "cloudlab-lint = cloudlab_lint.cli:main" in (tmp_path / "site" / entry_points).read_text()
    # Installed (not editable), the loader reads the packaged copy and finds every rule.
    probe = ("import json, cloudlab_lint.catalog as c, cloudlab_lint.stack.crd.schemas as f; "
             "s = f.FluxSchemas(type('R', (), {'files': ()})()).lookup('helm.toolkit.fluxcd.io', 'HelmRelease', "
             "'v2', 'x'); "
             "assert s is not None and str(f.DATA).startswith(str(c.builtin_rules_dir().parent)); "
             "print(json.dumps([str(c.builtin_rules_dir()), [r.id for r in c.load_catalog().rules]]))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, check=True, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"}).stdout
    where, ids = json.loads(out)
    assert where.startswith(str(tmp_path / "site"))
    assert ids == [r.id for r in load_catalog().rules]
    assert builtin_rules_dir() == PROJECT / "rules"
