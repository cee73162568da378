"""Each output format against a golden file; SARIF against the 2.1.0 schema and GitHub's subset."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cloudlab_lint import __version__
from cloudlab_lint.model import Finding, Location, Result, Severity
from cloudlab_lint.reporters import ReportEnv

from .helpers import commit_all, init_repo, run_cli, write_files

GOLDEN = Path(__file__).parent / "golden"
FORMATS = {"text": "txt", "json": "json", "sarif": "sarif", "github": "txt", "markdown": "md"}
SECRET = "AGE-SECRET-KEY-1" + "Q" * 58


@pytest.fixture(scope="module")
def findings_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = init_repo(tmp_path_factory.mktemp("golden") / "repo")
    write_files(root, {
        ".gitignore": "terraform.tfstate\n",
        "kubernetes/apps/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n name: b\n",
        "notes/key.md": f"# keys\n{SECRET}\n",
        "terraform/terraform.tfstate": '{"version": 4, "terraform_version": "1.9.8", "lineage": "x"}\n',
    })
    commit_all(root)
    return root


def _render(root: Path, fmt: str) -> str:
    outcome = run_cli(["--all", "--select", "CL000,CL001,CL002", "--format", fmt], cwd=root)
    assert outcome.code == 1, outcome.err
    return outcome.out.replace(__version__, "<version>")


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden_output(findings_repo: Path, fmt: str) -> None:
    text = _render(findings_repo, fmt)
    golden = GOLDEN / f"report.{fmt}.{FORMATS[fmt]}"
    if os.environ.get("CLOUDLAB_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    assert SECRET not in text and SECRET[:20] not in text


def test_sarif_validates_against_the_schema(findings_repo: Path) -> None:
    from .sarif_check import validate_sarif

    not_full = validate_sarif(json.loads(_render(findings_repo, "sarif")))
    if not_full:
        pytest.skip(not_full)  # the structural checks above did run


def test_sarif_meets_githubs_subset(findings_repo: Path) -> None:
    doc = json.loads(_render(findings_repo, "sarif"))
    assert doc["$schema"] and doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    # No category unless asked for: the upload action's own `category` input applies only then.
    assert "automationDetails" not in run
    rules = run["tool"]["driver"]["rules"]
    for rule in rules:
        assert rule["helpUri"].endswith(f"/docs/rules/{rule['id']}.md")
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        sev = rule["properties"].get("security-severity")
        if rule["id"] in ("CL001", "CL002"):
            assert isinstance(sev, str) and 0 < float(sev) <= 10 and "security" in rule["properties"]["tags"]
        else:
            assert sev is None
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        loc = result["locations"][0]["physicalLocation"]
        assert not loc["artifactLocation"]["uri"].startswith("/") and loc["region"]["startLine"] >= 1
        fingerprint = result["partialFingerprints"]["primaryLocationLineHash"]
        assert ":" in fingerprint and str(loc["region"]["startLine"]) != fingerprint.split(":")[0]


def test_fingerprints_survive_unrelated_line_moves(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write_files(root, {"notes/key.md": f"{SECRET}\n"})
    commit_all(root)
    before = run_cli(["--all", "--select", "CL002", "--format", "json"], cwd=root).json["findings"]
    write_files(root, {"notes/key.md": f"new line\nanother\n{SECRET}\n"})
    commit_all(root)
    after = run_cli(["--all", "--select", "CL002", "--format", "json"], cwd=root).json["findings"]
    assert before[0]["line"] == 1 and after[0]["line"] == 3
    assert before[0]["fingerprint"] == after[0]["fingerprint"]


def test_colour_only_on_a_terminal_and_never_with_no_color(findings_repo: Path) -> None:
    from cloudlab_lint.catalog import load_catalog
    from cloudlab_lint.reporters import ReportEnv, renderer

    outcome = run_cli(["--all", "--select", "CL002", "--format", "json"], cwd=findings_repo)
    assert "\033[" not in outcome.out
    from cloudlab_lint.model import Finding, Location, Result, Severity

    result = Result((Finding("CL002", "forbidden-file-tracked", Severity.ERROR, "m", Location("a", 1), "f:1"),))
    assert "\033[31m[error]" in renderer("text")(result, load_catalog(), ReportEnv(color=True))
    assert "\033[" not in renderer("text")(result, load_catalog(), ReportEnv(color=False))


def test_github_annotations_escape_properties() -> None:
    from cloudlab_lint.catalog import load_catalog
    from cloudlab_lint.model import Finding, Location, Result, Severity
    from cloudlab_lint.reporters import ReportEnv, renderer

    result = Result((Finding("CL002", "n", Severity.WARNING, "50% bad\nnext", Location("a,b:c.yaml", 3, 2), "f:1"),))
    out = renderer("github")(result, load_catalog(), ReportEnv())
    assert out == "::warning file=a%2Cb%3Ac.yaml,line=3,col=2,title=CL002 n::50%25 bad%0Anext\n"


def test_markdown_embeds_the_flux_graph() -> None:
    from cloudlab_lint.catalog import load_catalog
    from cloudlab_lint.model import Result
    from cloudlab_lint.reporters import ReportEnv, renderer

    out = renderer("markdown")(Result(()), load_catalog(), ReportEnv(graph_mermaid="graph TD\n  a --> b\n"))
    assert "No findings." in out and "```mermaid\ngraph TD\n  a --> b\n```" in out


def _findings(spec: list[tuple[str, Severity, str, int]]) -> Result:
    from cloudlab_lint.catalog import load_catalog

    names = {r.id: r.name for r in load_catalog().rules}
    return Result(tuple(Finding(rule, names[rule], sev, f"m{line}", Location(path, line), f"f:{line}")
                        for rule, sev, path, line in spec))


def test_github_annotations_severity_first_capped_with_the_rest_counted() -> None:
    from cloudlab_lint.catalog import load_catalog
    from cloudlab_lint.reporters import ReportEnv, renderer

    # Notes at the top of the tree and errors at the bottom: sorting by path would show the notes only.
    spec = [("CL109", Severity.NOTE, f"a/{n:02}.yaml", 1) for n in range(15)]
    spec += [("CL204", Severity.WARNING, f"m/{n:02}.yaml", 1) for n in range(12)]
    spec += [("CL003", Severity.ERROR, f"z/{n:02}.yaml", 1) for n in range(13)]
    spec += [("CL104", Severity.ERROR, "a/first.yaml", 1)]
    out = renderer("github")(_findings(spec), load_catalog(), ReportEnv()).splitlines()
    annotations = [line for line in out if line.startswith(("::error", "::warning", "::notice"))]
    levels = [line.split(" ", 1)[0] for line in annotations]
    assert levels.count("::error") == 10 and levels.count("::warning") == 10 and levels.count("::notice") == 10
    assert levels == sorted(levels, key=["::error", "::warning", "::notice"].index)
    # Within errors, the security rule (CL003, security-severity 9.0) before CL104.
    assert "z/00.yaml" in annotations[0] and all("a/first.yaml" not in line for line in annotations)
    count = next(line for line in annotations if line.startswith("::notice title=cloudlab-lint::"))
    assert "12 more findings (4 errors, 2 warnings, 6 notes) not shown as annotations" in count
    assert "::group::12 more findings" in out and "::endgroup::" in out
    assert any(line.startswith("  a/first.yaml:1:1: CL104 [error]") for line in out)
    # Under the caps nothing is counted.
    few = renderer("github")(_findings(spec[:3]), load_catalog(), ReportEnv())
    assert "more finding" not in few and few.count("::notice") == 3


def test_markdown_grouped_by_rule_errors_first_and_folded() -> None:
    from cloudlab_lint.catalog import load_catalog
    from cloudlab_lint.reporters import ReportEnv, renderer

    spec = [("CL109", Severity.WARNING, "a/x.yaml", n) for n in range(1, 3)]
    spec += [("CL003", Severity.ERROR, "z/s.sops.yaml", n) for n in range(1, 13)]
    out = renderer("markdown")(_findings(spec), load_catalog(), ReportEnv())
    assert out.index("[CL003]") < out.index("[CL109]")
    assert "`sops-ciphertext-only`: 12 findings" in out and "`kustomize-orphan`: 2 findings" in out
    assert "| error | 12 |" in out and "| warning | 2 |" in out
    assert "<details><summary>12 findings</summary>" in out and out.count("<details>") == 1
    assert "docs/rules/CL003.md" in out


def test_markdown_stays_under_the_budget_and_never_cuts_a_table() -> None:
    from cloudlab_lint.catalog import load_catalog
    from cloudlab_lint.reporters.markdown import render

    spec = [("CL003", Severity.ERROR, f"kubernetes/apps/{n:05}.sops.yaml", 1) for n in range(3000)]
    spec += [("CL109", Severity.WARNING, f"kubernetes/x/{n:05}.yaml", 1) for n in range(50)]
    graph = "flowchart LR\n" + "".join(f'    c0n{n}["ks{n}"]\n' for n in range(93))
    out = render(_findings(spec), load_catalog(), ReportEnv(graph_mermaid=graph), budget=20_000)
    assert len(out.encode()) <= 20_000
    assert "more findings not shown: a step summary is limited to 1 MiB" in out
    shown = out.count("| error | kubernetes/apps/")  # a path is escaped text, not a code span
    assert 0 < shown < 3000 and f"{3050 - shown} more findings not shown" in out
    assert out.count("<details>") == out.count("</details>")
    # The table closes before the note: the last row is followed by the fold's end, not half a row.
    body = out.split("\n_")[0]
    assert body.endswith("|\n\n</details>\n"), body[-200:]
    full = render(_findings(spec[:5]), load_catalog(), ReportEnv(graph_mermaid=graph))
    assert "<details><summary>93 nodes</summary>" in full and "```mermaid" in full


def test_markdown_graph_marks_kustomizations_with_findings(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    import shutil

    from .helpers import PROJECT

    shutil.copytree(PROJECT / "kubernetes", root / "kubernetes")
    apps = root / "kubernetes" / "flux-system" / "apps.yaml"
    apps.write_text(apps.read_text().replace("prune: true", "prune: false"))
    commit_all(root)
    out = run_cli(["--all", "--format", "markdown", "--fail-on", "never"], cwd=root).out
    graph = out.split("```mermaid")[1]
    assert '["flux-system/apps"]:::error' in graph and "classDef error" in graph
    assert '["flux-system/infrastructure"]\n' in graph
