"""Hostile regexes (issue #16): every pattern a repository supplies runs under RE2, in linear time.

Linearity is proved by construction: the pattern is compiled by RE2 (which has no backtracking and refuses
syntax it cannot run linearly), and a run on the input that took Python's `re` minutes finishes. The
subprocess timeout is a hang guard only, never a timing assertion.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloudlab_lint.stack.goregex import GoRegexError, compile_go, compile_re2

from .helpers import Outcome
from .test_hostile import GOOD_IGNORE, MARKER, assert_clean, assert_exit_2, lint, make

EVIL = "^(a+)+$"  # exponential under backtracking on "aaaa...a!"
VICTIM = "a" * 30 + "!"
AGE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
HANG_GUARD = 300  # seconds; the runs take a second or two


def run_process(root: Path, *args: str) -> Outcome:
    """The installed command in its own process, with a hang guard (a kill, not an assertion on time)."""
    proc = subprocess.run([sys.executable, "-m", "cloudlab_lint", *args], cwd=root, capture_output=True,
                          text=True, timeout=HANG_GUARD, env={**os.environ, "NO_COLOR": "1"}, check=False)
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def test_patterns_are_compiled_by_re2() -> None:
    import re2

    for compiled in (compile_go(EVIL), compile_re2(EVIL)):
        assert isinstance(compiled._regexp, re2._Regexp)  # RE2's automaton: no backtracking, whatever the text
        assert not compiled.search(VICTIM) and compiled.search("aaa")
    assert compile_go("x").search("a\udcffx")  # a name that is not UTF-8 is matched, not a crash


def test_sops_path_regex_of_catastrophic_shape_finishes(tmp_path: Path) -> None:
    root = make(tmp_path, {
        ".sops.yaml": f"creation_rules:\n  - path_regex: '{EVIL}'\n    age: {AGE}\n",
        f"kubernetes/{VICTIM}": "a: 1\n",
        "aaaa": "plain: text\n",  # matched by the rule: must be a SOPS file
    })
    doc = assert_clean(run_process(root, "--all", "--select", "CL004", "--format", "json"))
    assert {f["path"] for f in doc["findings"]} == {"aaaa"}


@pytest.mark.parametrize("pattern", ["a(?=b)", "(a)\\1", "a\\C"])
def test_sops_path_regex_re2_refuses_is_a_finding_not_a_crash(tmp_path: Path, pattern: str) -> None:
    root = make(tmp_path, {".sops.yaml": f"creation_rules:\n  - path_regex: '{pattern}'\n    age: x\n"})
    doc = assert_clean(lint(root, "--all", "--select", "CL004"))
    assert any("not a valid Go RE2 regex" in f["message"] for f in doc["findings"]), doc


def _baseline(*patterns: str) -> str:
    return json.dumps({"version": "1.5.0", "results": {}, "filters_used": [
        {"path": "detect_secrets.filters.regex.should_exclude_file", "pattern": list(patterns)}]})


def test_baseline_exclude_of_catastrophic_shape_finishes(tmp_path: Path) -> None:
    root = make(tmp_path, {".secrets.baseline": _baseline(EVIL), VICTIM: f"{MARKER}\n"})
    doc = assert_clean(run_process(root, "--all", "--select", "CL005", "--format", "json"))
    assert [f["path"] for f in doc["findings"]] == [VICTIM]


def test_baseline_exclude_re2_cannot_run_is_ignored_with_a_note(tmp_path: Path) -> None:
    # Python's re would exclude notes/key.md with it, and so hide the key; RE2 refuses look-arounds.
    root = make(tmp_path, {".secrets.baseline": _baseline("notes/(?=key)key\\.md", "^never$"),
                           "notes/key.md": f"{MARKER}\n"})
    outcome = lint(root, "--all", "--select", "CL005")
    doc = assert_clean(outcome)
    assert [f["path"] for f in doc["findings"]] == ["notes/key.md"]
    assert any("1 exclude_files pattern(s) ignored" in n for n in doc["notes"]), doc["notes"]
    assert MARKER not in outcome.out + outcome.err


def test_baseline_excludes_still_exclude(tmp_path: Path) -> None:
    root = make(tmp_path, {".secrets.baseline": _baseline("^notes/"), "notes/key.md": f"{MARKER}\n"})
    assert assert_clean(lint(root, "--all", "--select", "CL005"))["findings"] == []


def test_config_pattern_of_catastrophic_shape_finishes(tmp_path: Path) -> None:
    config = f"rules:\n  CL401: {{params: {{phase_pattern: '{EVIL}'}}}}\n"
    readme = f"# x\n## {VICTIM}\n1. one\n3. three\n## aaa\n4. four\n"
    root = make(tmp_path, {".cloudlab-lint.yaml": config, "README.md": readme})
    assert_clean(run_process(root, "--all", "--select", "CL401", "--format", "json"))


@pytest.mark.parametrize("rule, param", [("CL401", "phase_pattern"), ("CL203", "pin_pattern"),
                                         ("CL205", "pin_pattern"), ("CL401", "decisions_column")])
def test_config_pattern_re2_cannot_run_is_exit_2_naming_the_key(tmp_path: Path, rule: str, param: str) -> None:
    root = make(tmp_path, {".cloudlab-lint.yaml": f"rules:\n  {rule}: {{params: {{{param}: '(?<!x)y'}}}}\n"})
    assert_exit_2(lint(root, "--all"), f"rules.{rule}.params.{param}", "RE2")


def test_refusal_names_the_reason_not_a_traceback() -> None:
    with pytest.raises(GoRegexError, match="perl operator|invalid"):
        compile_re2("(?=x)")
    assert GOOD_IGNORE  # the shared fixture stays importable


@pytest.mark.parametrize("glob, path, hit", [
    ("*a*a*a*a*a*a*a*a*a*b", "a" * 3000, False),  # exponential-ish under backtracking; linear with RE2
    ("**/x*y*z", "d/" + "x" * 2000 + "y", False),
    ("**/*.md", "docs/a.md", True), ("archive/**", "archive/x/y", True), ("*.md", "docs/a.md", False),
    ("a*b*c", "a\nb\nc", True), ("a", "a\n", False),
])
def test_config_globs_are_linear_and_keep_their_meaning(glob: str, path: str, hit: bool) -> None:
    from cloudlab_lint.globs import compile_glob, match_any

    assert match_any(path, [glob]) == hit
    if glob.replace("**", "*").count("*") >= 2:
        assert type(compile_glob(glob)).__name__ == "Pattern"  # RE2's, by construction


def test_an_exclude_glob_of_catastrophic_shape_finishes(tmp_path: Path) -> None:
    root = make(tmp_path, {".cloudlab-lint.yaml": "exclude: ['*a*a*a*a*a*a*a*a*a*a*b']\n",
                           "a" * 200: f"{MARKER}\n"})
    doc = assert_clean(run_process(root, "--all", "--select", "CL005", "--format", "json"))
    assert [f["path"] for f in doc["findings"]] == ["a" * 200]


GLOBS = ["**", "README.md", "kubernetes", "**/.gitignore", "**/Makefile", "**/*.sh", "**/*.tfvars.json",
         ".mise/tasks/**", "kubernetes/**", "/kubernetes/**", ".github/workflows/*.yml", "**/a*b*", "x/?.y"]
PATHS = ["README.md", "README.mdx", "docs/README.md", "kubernetes", "kubernetes/a.yaml", "kubernetesx/a.yaml",
         ".gitignore", "a/.gitignore", "a/.gitignore/b", "a.gitignore", "Makefile", "src/Makefile",
         "src/Makefile.old", "run.sh", "a/b/run.sh", "a.sh/b", "a/b.shx", "x.tfvars.json", "t/x.tfvars.json",
         ".mise/tasks/build", ".mise/tasksx", ".github/workflows/ci.yml", ".github/workflows/a/ci.yml",
         "ab", "a/xab/y", "x/q.y", "x/qq.y", "", "a//b"]


@pytest.mark.parametrize("glob", GLOBS)
def test_the_string_tests_of_common_globs_answer_as_the_regex_does(glob: str) -> None:
    from cloudlab_lint.globs import compile_glob, glob_test

    for path in PATHS:
        assert glob_test(glob)(path) is bool(compile_glob(glob).match(path)), (glob, path)
