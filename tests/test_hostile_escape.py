"""Repository text in every output (issue #16): Markdown, Mermaid, DOT, SARIF URIs, and the `graph`, `rules` and
`explain` commands. Newlines, backticks, `<`, `|`, `](`, `-->` and terminal escapes go through every field of a
finding and of the graph; each output must still mean only what we wrote."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cloudlab_lint.catalog import load_catalog
from cloudlab_lint.escape import markdown_text, mermaid_text, uri_path
from cloudlab_lint.model import Finding, Location, Result, Severity, ToolError
from cloudlab_lint.reporters import ReportEnv, renderer

from .helpers import commit_all, init_repo, run_cli, write_files
from .test_flux import SYNC

HOSTILE = "evil\n## Injected\n```\n<img src=x onerror=alert(1)>|](https://evil.example) --> `tick` \x1b[31mred"
FILE = "kubernetes/apps/x\n## H`<b>|](https://e.example)-->.yaml"
HEADING = re.compile(r"### (\[CL\d+\]\(https://\S+\)|[A-Z]+\d+) (`[a-z0-9-]+`|(?:[^`<>\[\]|\\]|\\.)*): \d+ findings?")
UNESCAPED = re.compile(r"(?<!\\)(?:[<>`|\[\]]|\]\()")


def _ks(name: str, *deps: str) -> str:
    return json.dumps({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {"interval": "10m", "path": "./kubernetes/apps", "prune": True,
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                 "dependsOn": [{"name": d} for d in deps]},
    }) + "\n"


@pytest.fixture(scope="module")
def hostile_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = init_repo(tmp_path_factory.mktemp("escape") / "repo")
    write_files(root, {
        "kubernetes/kustomization.yaml": "resources: [flux-system]\n",
        "kubernetes/flux-system/gotk-sync.yaml": SYNC,
        "kubernetes/flux-system/kustomization.yaml": "resources: [gotk-sync.yaml, apps.yaml, evil.yaml]\n",
        "kubernetes/flux-system/apps.yaml": _ks("apps", "flux-system", HOSTILE),
        "kubernetes/flux-system/evil.yaml": _ks(HOSTILE.replace("\x1b", ""), "apps"),
        "kubernetes/apps/kustomization.yaml": "resources: []\n",
        FILE: "a: [\n",
    })
    commit_all(root)
    return root


def _hostile_result() -> Result:
    loc = Location(FILE, 3, 2)
    return Result((Finding("CL104", HOSTILE, Severity.ERROR, HOSTILE, loc, "f:1"),),
                  (ToolError(HOSTILE, "CL104"),))


def _assert_markdown_inert(text: str) -> None:
    assert "\x1b" not in text
    lines = text.split("\n")
    headings = [x for x in lines if x.startswith("#")]
    assert headings[0] == "## cloudlab-lint" and headings.count("## cloudlab-lint") == 1
    for heading in headings[1:]:  # ours only: the graph's, and one per rule (its id, its name, a count)
        assert heading == "### Flux dependency graph" or re.fullmatch(HEADING, heading), heading
    fences = [x for x in lines if x.startswith("```")]
    assert fences in ([], ["```mermaid", "```"]), fences
    inside, columns = False, 0
    pipes = re.compile(r"(?<!\\)\|")
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            columns = len(pipes.findall(line))  # a table's header: every row has as many cells
        if line.startswith("```"):
            inside = not inside
            continue
        if inside:
            for label in re.findall(r'\["([^"]*)"\]', line):
                assert re.fullmatch(r"[A-Za-z0-9 _./:@+=#;()-]*", label), label
            assert "`" not in line and "<" not in line and line.count('"') % 2 == 0
            continue
        if line.startswith("|") and not line.startswith("|---"):
            assert len(pipes.findall(line)) == columns, line
        elif line.startswith(">"):
            assert UNESCAPED.findall(line[1:]) == [], line
        if line.startswith("| error"):
            assert [m for m in UNESCAPED.findall(line) if m != "|"] == [], line


def test_markdown_renderer_escapes_every_field_of_a_finding() -> None:
    graph = "flowchart LR\n  a --> b\n"
    _assert_markdown_inert(renderer("markdown")(_hostile_result(), load_catalog(), ReportEnv(graph_mermaid=graph)))


def test_markdown_report_and_mermaid_graph_of_a_hostile_tree(hostile_tree: Path) -> None:
    outcome = run_cli(["--all", "--select", "CL000,CL102", "--format", "markdown"], cwd=hostile_tree)
    assert outcome.code == 1, outcome.err
    assert "Injected" in outcome.out and "(missing)" in outcome.out  # the hostile names are there, inert
    _assert_markdown_inert(outcome.out)


def test_mermaid_graph_labels_are_entities_only(hostile_tree: Path) -> None:
    out = run_cli(["graph", "--format", "mermaid"], cwd=hostile_tree).out
    lines = out.rstrip("\n").split("\n")
    assert lines[0] == "flowchart LR"
    for line in lines[1:]:
        assert re.fullmatch(r'  (subgraph c\d+\["[^"]*"\]|  c\d+[nm]\d+\["[^"]*"\](:::\w+)?|end|'
                            r'c\d+[nm]\d+ (-->|-\.->)(\|\w+\|)? c\d+n\d+|classDef .*|linkStyle .*)', line), line
    assert "`" not in out and "<" not in out and "\x1b" not in out


def test_dot_and_text_graphs_keep_names_on_their_line(hostile_tree: Path) -> None:
    dot = run_cli(["graph", "--format", "dot"], cwd=hostile_tree).out
    assert "\x1b" not in dot and "\n## Injected" not in dot
    for label in re.findall(r'label="((?:[^"\\]|\\.)*)"', dot):
        assert "\n" not in label
    text = run_cli(["graph", "--format", "text"], cwd=hostile_tree).out
    assert "\x1b" not in text and "\n## Injected" not in text and "\\x1b[31m" in text
    assert all(x.startswith(("cluster ", "  ")) for x in text.rstrip("\n").split("\n"))


def test_rules_and_explain_escape_a_team_rules_text(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    evil = "Says \x1b[2J\x1b]0;owned\x07 hi | there"
    rule = {"id": "TEAM001", "name": "team-rule", "severity": "warning", "short": evil, "full": evil,
            "help": {"why": evil, "fix": evil, "example": "line one\nline two\x1b[31m"},
            "check": "required-ignore", "params": {"probes": ["x"]}}
    write_files(root, {".cloudlab-lint.yaml": "rule_dirs: [policies]\n",
                       "policies/TEAM001.yaml": json.dumps(rule)})
    commit_all(root)
    for args in (["rules"], ["rules", "--format", "markdown"], ["explain", "TEAM001"]):
        outcome = run_cli(args, cwd=root)
        assert outcome.code == 0, outcome.err
        assert "\x1b" not in outcome.out and "\x07" not in outcome.out and "\\x1b[2J" in outcome.out
    md = run_cli(["rules", "--format", "markdown"], cwd=root).out
    row = next(x for x in md.split("\n") if x.startswith("| TEAM001"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 6
    assert "line one\nline two\\x1b[31m" in run_cli(["explain", "TEAM001"], cwd=root).out


@pytest.mark.parametrize("path, uri", [
    ("a#b.txt", "a%23b.txt"),
    ("pct%41.txt", "pct%2541.txt"),
    ("dir/q?x=1.txt", "dir/q%3Fx%3D1.txt"),
    ("a:b/c.txt", "a%3Ab/c.txt"),  # not a scheme
    ("sp ace/é.txt", "sp%20ace/%C3%A9.txt"),
    ("bad\udcff.txt", "bad%FF.txt"),  # a name that is not UTF-8 keeps its byte
])
def test_sarif_uris_are_percent_encoded(path: str, uri: str) -> None:
    assert uri_path(path) == uri
    result = Result((Finding("CL002", "forbidden-file-tracked", Severity.ERROR, "m", Location(path, 1), "f:1"),))
    doc = json.loads(renderer("sarif")(result, load_catalog(), ReportEnv()))
    assert doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri


def test_sarif_with_hostile_names_validates() -> None:
    from .sarif_check import RELATIVE_REF, validate_sarif

    names = [FILE, "a#b.txt", "pct%41.txt", "bad\udcff.txt", "q?x", "a:b"]
    result = Result(tuple(Finding("CL002", "n", Severity.ERROR, HOSTILE, Location(n, 1), f"f:{i}")
                          for i, n in enumerate(names)), (ToolError(HOSTILE, "CL002"),))
    doc = json.loads(renderer("sarif")(result, load_catalog(), ReportEnv()))
    validate_sarif(doc)  # the full schema where ../shared is present; the structure and URI grammar always
    for bad in ("a b", "a#b#c", "%4", "a:b/c"):
        assert not RELATIVE_REF.fullmatch(bad), bad


def test_sarif_structural_check_runs_without_the_shared_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    from . import sarif_check

    monkeypatch.setattr(sarif_check, "SCHEMA", sarif_check.SCHEMA.with_name("absent.json"))
    good = Result((Finding("CL002", "n", Severity.ERROR, "m", Location("a#b", 1), "f:1"),))
    doc = json.loads(renderer("sarif")(good, load_catalog(), ReportEnv()))
    assert "absent" in (sarif_check.validate_sarif(doc) or "")
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "a#b#c"
    with pytest.raises(Exception, match="uri-reference"):
        sarif_check.validate_sarif(doc)


def test_escapers_keep_plain_text_readable() -> None:
    assert markdown_text("kubernetes/apps/a.yaml: 3 errors") == "kubernetes/apps/a.yaml\\: 3 errors"
    assert mermaid_text("flux-system/apps") == "flux-system/apps"
    assert uri_path("kubernetes/apps/a-b_c.~x.yaml") == "kubernetes/apps/a-b_c.~x.yaml"
