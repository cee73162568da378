"""Hostile input: every file a stranger's pull request can contain ends in a clean finding or a clear exit 2.

Each test builds a real git repository, runs the whole default rule set (every family that is
registered, so new rules are covered as they land) and asserts: no traceback, no crashed rule,
the exit status the contract promises, and the exact CL000 finding where the input is broken.
Bounded time is proved two ways: the parsers' budgets turn explosive input into a ParseError
(tests assert the error, so an unbounded walk would never return), and one end-to-end run of the
installed command in a subprocess (the last test) has a hang guard: a kill after minutes, not a
timing assertion.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloudlab_lint.parsing import ParseError
from cloudlab_lint.parsing.structured import load_json, load_toml
from cloudlab_lint.parsing.yamlx import load_documents
from cloudlab_lint.repo import Repo

from .helpers import Outcome, commit_all, git, init_repo, run_cli, write_files

GOOD_IGNORE = "terraform.tfstate*\n.age-key.txt\nkubeconfig\ntalosconfig\n"
MARKER = "AGE-SECRET-KEY-" + "1" + "Q" * 58  # fake, built at run time (the project lints itself); never printed


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def lint(root: Path, *args: str) -> Outcome:
    return run_cli([*args, "--format", "json"] if "--format" not in args else list(args), cwd=root)


def assert_clean(outcome: Outcome) -> dict:
    """Exit 0 or 1, no traceback, no rule crashed: the run judged every file."""
    assert "Traceback" not in outcome.err, outcome.err
    doc = outcome.json
    # A rule file whose check is not registered yet is another family's work in progress in a
    # shared checkout (and the fixture test catches it); a crash on hostile input is not tolerated.
    crashed = [e for e in doc["errors"] if not e["message"].endswith("does not exist")]
    assert crashed == [], crashed
    assert outcome.code in (0, 1) or (outcome.code == 2 and doc["errors"]), outcome.err
    return doc


def assert_exit_2(outcome: Outcome, *needles: str) -> str:
    """A usage or environment error: exit 2, one clear line on stderr, nothing on stdout."""
    assert outcome.code == 2, (outcome.code, outcome.out, outcome.err)
    assert "Traceback" not in outcome.err
    assert "internal error" not in outcome.err, outcome.err
    lines = outcome.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cloudlab-lint: error: "), outcome.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def cl000(doc: dict) -> set[tuple[str, int]]:
    return {(f["path"], f["line"]) for f in doc["findings"] if f["rule"] == "CL000"}


def make(tmp_path: Path, files: dict[str, str | bytes], name: str = "repo") -> Path:
    root = init_repo(tmp_path / name)
    write_files(root, {".gitignore": GOOD_IGNORE, **files})
    commit_all(root)
    return root


# -- YAML, TOML and JSON bombs ---------------------------------------------------------------


@pytest.mark.parametrize("text, line, words", [
    (billion_laughs(), None, "alias bomb"),
    ("a: &a [*a]\n", 1, "recursive alias"),
    ("a: &a {b: *a}\n", 1, "recursive alias"),
    ("a: &a {<<: *a}\n", 1, "recursive alias"),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", 1, "nesting"),
    ("".join("  " * i + "k:\n" for i in range(400)) + "  " * 400 + "v\n", None, "nesting"),
    ("base: &b {" + ", ".join(f"k{i}: v" for i in range(3000)) + "}\n"
     + "".join(f"m{i}: {{<<: *b}}\n" for i in range(200)), None, "alias bomb"),
])
def test_yaml_bombs_are_refused_as_cl000(tmp_path: Path, text: str, line: int | None, words: str) -> None:
    root = make(tmp_path, {"kubernetes/apps/bomb.yaml": text, "kubernetes/apps/fine.yaml": "kind: ConfigMap\n"})
    doc = assert_clean(lint(root, "--all"))
    found = [f for f in doc["findings"] if f["rule"] == "CL000"]
    assert [f["path"] for f in found] == ["kubernetes/apps/bomb.yaml"], found
    assert words in found[0]["message"].replace("deeper than", "nesting")
    if line is not None:
        assert found[0]["line"] == line
    else:
        assert 1 <= found[0]["line"] <= text.count("\n")


def test_yaml_aliases_that_share_without_cycles_still_parse() -> None:
    # The near miss of a bomb: anchors reused a few times are ordinary YAML (Helm values, CI matrices).
    docs = load_documents("base: &b {image: x, tag: '1'}\na: *b\nb: {<<: *b, tag: '2'}\nc: [*b, *b]\n")
    data = docs[0].data
    assert data["a"] is data["base"] and data["b"]["tag"] == "2" and data["b"]["image"] == "x"
    assert data["c"][1] is data["base"]


@pytest.mark.parametrize("text", [
    "x = " + "[" * 20000 + "]" * 20000 + "\n",
    "x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n",
    "[" + ".".join(["a"] * 5000) + "]\n",
])
def test_toml_deep_nesting_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        load_toml(text)


@pytest.mark.parametrize("text", [
    "[" * 100000 + "]" * 100000,
    '{"a":' * 50000 + "1" + "}" * 50000,
    '["[[[[' + "x" * 300 + '", ' + "[" * 300 + "]" * 300 + "]",
])
def test_json_deep_nesting_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        load_json(text)


def test_brackets_inside_strings_are_not_nesting() -> None:
    # The near miss: a renovate.json regex full of brackets is not deep.
    assert load_json('{"matchStrings": ["' + "[" * 500 + '"]}') == {"matchStrings": ["[" * 500]}
    assert load_toml('x = "' + "{" * 500 + '"\n') == {"x": "{" * 500}


def test_every_family_survives_bombs_in_the_files_it_reads(tmp_path: Path) -> None:
    """A bomb in each file some rule reads: CL000 names each one, no rule crashes."""
    bomb = billion_laughs()
    deep_toml = "[tasks.x]\nrun = " + "[" * 20000 + "]" * 20000 + "\n"
    deep_json = "[" * 100000 + "]" * 100000
    files = {
        "kubernetes/flux-system/gotk-sync.yaml": bomb,
        "kubernetes/flux-system/kustomization.yaml": "a: &a [*a]\n",
        "kubernetes/apps/ks.yaml": bomb,
        ".sops.yaml": bomb,
        "kubernetes/apps/secret.sops.yaml": bomb,
        ".github/workflows/ci.yaml": bomb,
        "lefthook.yml": bomb,
        ".mise.toml": deep_toml,
        "mise.toml": deep_toml,
        "renovate.json": deep_json,
        ".github/renovate.json": deep_json,
        "talos/talconfig.yaml": bomb,
    }
    root = make(tmp_path, files)
    doc = assert_clean(lint(root, "--all"))
    yaml_files = {p for p in files if p.endswith((".yaml", ".yml"))}
    assert yaml_files <= {p for p, _ in cl000(doc)}
    for f in doc["findings"]:  # no message quotes the bomb back
        assert "lol" not in f["message"]


# -- not-quite-YAML and type confusion -------------------------------------------------------


def test_helm_and_go_templates_under_the_gitops_root_are_not_parse_errors(tmp_path: Path) -> None:
    files = {
        "kubernetes/apps/chart/templates/deployment.yaml":
            "{{- if .Values.enabled }}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
            "  name: {{ include \"x.fullname\" . }}\n{{- end }}\n",
        "kubernetes/apps/chart/templates/_helpers.tpl":
            "{{- define \"x.fullname\" -}}\n{{ .Release.Name }}\n{{- end }}\n",
        "kubernetes/apps/chart/values.yaml": "image: {{ .Values.image }}\n",
        "kubernetes/apps/app/configmap.yaml":
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  url: ${CLUSTER_DOMAIN}\n",
    }
    root = make(tmp_path, files)
    doc = assert_clean(lint(root, "--all"))
    assert cl000(doc) == set()


def test_real_syntax_errors_next_to_templates_are_still_found(tmp_path: Path) -> None:
    files = {
        "kubernetes/apps/tab.yaml": "spec:\n\tinterval: 10m\n",
        "kubernetes/apps/quote.yaml": "kind: ConfigMap\ndata:\n  a: 'open\n",
        "kubernetes/apps/chart/templates/ok.yaml": "{{ .Values.x }}: [\n",
    }
    root = make(tmp_path, files)
    doc = assert_clean(lint(root, "--all"))
    assert cl000(doc) == {("kubernetes/apps/tab.yaml", 2), ("kubernetes/apps/quote.yaml", 4)}


# Documents of every shape where rules expect a Kubernetes object, a workflow or a config.
CONFUSED = [
    "- just\n- a\n- list\n",
    "42\n",
    "null\n",
    "''\n",
    "apiVersion: 3\nkind: [Kustomization]\nmetadata: 5\nspec: text\n",
    "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: [x]}\n"
    "spec: {path: 5, dependsOn: x, sourceRef: [], decryption: {provider: [sops]}, postBuild: 7}\n",
    "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a, namespace: 3}\n"
    "spec: {dependsOn: [{name: 5}, 7, null, [x]], path: null, interval: [1]}\n",
    "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nspec: {url: 5, secretRef: text, ref: [main]}\n",
    "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: [a, b]\ndata: 5\n",
    "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {5: 6, 'null': null, k: [x], m: {a: b}}\n",
    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: {a: b}\n"
    "secretGenerator: 5\ncomponents: [5, null]\npatches: x\n",
    "sops: 5\n",
    "sops: {age: text, mac: [1], lastmodified: 5, version: null}\ndata: ENC[AES256_GCM,data:x]\n",
    "? [complex, key]\n: value\n? {a: b}\n: 2\n",
    "---\n---\n...\n",
    "# only a comment\n",
    "",
    "!!binary aGVsbG8=\n",
    "kind: !custom [x]\nspec: !env_var HOME\n",
    "=\n",
]
WORKFLOW_CONFUSED = [
    "on: 5\njobs: [a, b]\n",
    "on: push\njobs: {build: 5, test: [x], lint: {steps: 7}, deploy: {runs-on: x, steps: [5, null, [x], {run: 5}]}}\n",
    "on: push\npermissions: [x]\njobs: {b: {runs-on: x, permissions: 5, steps: [{uses: 5}, {uses: [x]}, "
    "{uses: 'actions/checkout@'}, {uses: '@v4'}, {uses: ./local}, {uses: 'docker://alpine'}, "
    "{run: {a: b}}, {with: 5, uses: a/b@v1}, {env: [x], run: echo}]}}\n",
    "on: {pull_request_target: 5}\njobs: {x: {runs-on: [5], container: 5, services: x, strategy: {matrix: 5}, "
    "steps: [{run: \"echo ${{ github.event.pull_request.title }}\"}, {shell: 5, run: x}]}}\n",
    "- list\n",
    "jobs: {x: {uses: 5}, y: {uses: ./.github/workflows/other.yaml, secrets: [x]}, z: {needs: 5, if: [1]}}\n",
]


def test_documents_of_the_wrong_shape_crash_no_rule(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "kubernetes/flux-system/gotk-sync.yaml": "---\n".join(CONFUSED[4:9]),
        "kubernetes/flux-system/kustomization.yaml": CONFUSED[10],
    }
    for i, text in enumerate(CONFUSED):
        files[f"kubernetes/apps/c{i}/ks.yaml"] = text
        files[f"kubernetes/apps/c{i}/kustomization.yaml"] = text
        files[f"kubernetes/apps/c{i}/secret.sops.yaml"] = text
    for i, text in enumerate(WORKFLOW_CONFUSED):
        files[f".github/workflows/w{i}.yaml"] = text
    files.update({
        ".sops.yaml": "creation_rules: 5\n",
        "kubernetes/.sops.yaml": "creation_rules: [5, null, {path_regex: [x]}, {path_regex: '(', age: 5}]\n",
        "lefthook.yml": "pre-commit: {commands: [x], parallel: maybe}\npre-push: 5\n",
        ".mise.toml": "[tasks]\nx = 5\ny = [1, 2]\n[tasks.z]\nrun = 7\n[tools]\npython = [3]\n",
        "renovate.json": "[1, 2, 3]\n",
        ".pre-commit-config.yaml": "repos: 5\n",
        ".github/dependabot.yml": "updates: {a: b}\n",
        "talos/talconfig.yaml": "nodes: 5\n",
    })
    root = make(tmp_path, files)
    assert_clean(lint(root, "--all"))


# -- bytes: binary, too big, encodings, line endings -------------------------------------------


def test_binary_and_oversized_files_are_skipped_with_a_note(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "kubernetes/apps/binary.yaml": b"\x00\x01\x02kind: Secret\nstringData:\n  password: " + MARKER.encode(),
        "kubernetes/apps/big.yaml": "kind: ConfigMap\ndata:\n  k: [\n" + "# pad\n" * 400,
        "kubernetes/apps/small.yaml": "kind: ConfigMap\ndata: [\n",
        "assets/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        ".cloudlab-lint.yaml": "max_file_size: 1024\nexclude: []\n",
    }
    root = make(tmp_path, files)
    out = lint(root, "--all")
    doc = assert_clean(out)
    # The big file's error is never read, but CI says it could not parse it; so for the binary one.
    assert cl000(doc) == {("kubernetes/apps/small.yaml", 3), ("kubernetes/apps/big.yaml", 1),
                          ("kubernetes/apps/binary.yaml", 1)}
    assert any("kubernetes/apps/big.yaml" in n and "cap" in n for n in doc["notes"]), doc["notes"]
    hook = assert_clean(lint(root, "kubernetes/apps/big.yaml"))  # a hook notes it only
    assert cl000(hook) == set() and any("big.yaml" in n and "cap" in n for n in hook["notes"])
    assert MARKER not in out.out and MARKER not in out.err


def test_nul_byte_past_the_binary_sniff_is_a_parse_error_not_a_crash(tmp_path: Path) -> None:
    text = b"kind: ConfigMap\ndata:\n" + b"  k: v\n" * 2000 + b"  z: a\x00b\n"
    root = make(tmp_path, {"kubernetes/apps/late-nul.yaml": text})
    doc = assert_clean(lint(root, "--all"))
    assert cl000(doc) == {("kubernetes/apps/late-nul.yaml", 2003)}


def test_encodings_latin1_utf16_bom_invalid_utf8(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "kubernetes/apps/latin1.yaml": "kind: ConfigMap\ndata:\n  city: M\xfcnchen\n".encode("latin-1"),
        "kubernetes/apps/utf16.yaml": "kind: ConfigMap\ndata:\n  city: München\n".encode("utf-16"),
        "kubernetes/apps/utf16be.yaml": b"\xfe\xff" + "kind: ConfigMap\n".encode("utf-16-be"),
        "kubernetes/apps/utf8bom.yaml": "\ufeffkind: ConfigMap\ndata:\n  city: München\n".encode("utf-8"),
        "kubernetes/apps/invalid.yaml": b"kind: ConfigMap\ndata:\n  a: b\n  c: \xc3\x28\n",
        "kubernetes/apps/truncated.yaml": b"kind: ConfigMap\ndata:\n  a: \xe2\x82\n",
        "kubernetes/apps/utf16-broken.yaml": b"\xff\xfek\x00i\x00\x00\xd8",  # a lone surrogate
        ".github/workflows/latin1.yaml": "name: caf\xe9\non: push\njobs: {}\n".encode("latin-1"),
        ".mise.toml": "[env]\nNAME = 'caf\xe9'\n".encode("latin-1"),
        "renovate.json": b'{"a": "\xff"}',
    }
    root = make(tmp_path, files)
    doc = assert_clean(lint(root, "--all"))
    found = cl000(doc)
    assert ("kubernetes/apps/latin1.yaml", 3) in found
    assert ("kubernetes/apps/invalid.yaml", 4) in found
    assert ("kubernetes/apps/truncated.yaml", 3) in found
    assert (".github/workflows/latin1.yaml", 1) in found
    paths = {p for p, _ in found}
    assert not paths & {"kubernetes/apps/utf16.yaml", "kubernetes/apps/utf16be.yaml", "kubernetes/apps/utf8bom.yaml"}
    messages = [f["message"] for f in doc["findings"] if f["rule"] == "CL000"]
    assert all("UTF-8" in m or "YAML" in m or "JSON" in m or "TOML" in m for m in messages), messages


def test_crlf_and_lone_cr_keep_line_numbers(tmp_path: Path) -> None:
    files = {
        "kubernetes/apps/crlf.yaml": b"kind: ConfigMap\r\ndata:\r\n  a: b\r\n  c: [\r\n",
        "kubernetes/apps/crlf-ok.yaml": b"kind: ConfigMap\r\nmetadata:\r\n  name: x\r\n",
        "kubernetes/apps/mixed.yaml": b"kind: ConfigMap\ndata:\r\n  a: b\n\tc: d\r\n",
    }
    root = make(tmp_path, files)
    doc = assert_clean(lint(root, "--all"))
    assert cl000(doc) == {("kubernetes/apps/crlf.yaml", 5), ("kubernetes/apps/mixed.yaml", 4)}


# -- links: never followed, never read --------------------------------------------------------


def test_links_out_of_the_repository_are_never_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(f"key: {MARKER}\nbroken: [\n", encoding="utf-8")
    (outside / "dir").mkdir()
    (outside / "dir" / "x.sops.yaml").write_text(f"k: {MARKER}\n", encoding="utf-8")
    root = init_repo(tmp_path / "repo")
    write_files(root, {".gitignore": GOOD_IGNORE, "kubernetes/apps/real.yaml": "kind: ConfigMap\n",
                       "kubernetes/infra/inner.yaml": "kind: ConfigMap\n"})
    os.symlink(outside / "secret.yaml", root / "kubernetes/apps/linked.yaml")
    os.symlink("../../../outside/secret.yaml", root / "kubernetes/apps/relative.yaml")
    os.symlink(outside / "dir", root / "kubernetes/dirlink")
    os.symlink("loop-b.yaml", root / "kubernetes/loop-a.yaml")
    os.symlink("loop-a.yaml", root / "kubernetes/loop-b.yaml")
    os.symlink("missing.yaml", root / "kubernetes/dangling.yaml")
    os.symlink("..", root / "kubernetes/up")
    os.symlink(outside / "secret.yaml", root / ".sops.yaml")
    os.symlink(outside / "secret.yaml", root / ".github-workflow.yaml")
    commit_all(root)
    # A tracked file whose folder is later swapped for a link to the outside (work tree != index).
    (root / "kubernetes/infra/inner.yaml").unlink()
    (root / "kubernetes/infra").rmdir()
    (outside / "infra").mkdir()
    (outside / "infra" / "inner.yaml").write_text(f"k: {MARKER}\nbroken: [\n", encoding="utf-8")
    os.symlink(outside / "infra", root / "kubernetes/infra")
    out = lint(root, "--all")
    doc = assert_clean(out)
    assert MARKER not in out.out + out.err
    assert cl000(doc) == set()  # the broken YAML outside was never parsed
    notes = "\n".join(doc["notes"])
    assert "kubernetes/apps/linked.yaml: symbolic link, not followed" in notes
    assert "kubernetes/infra/inner.yaml: lies outside the repository" in notes


def test_paths_given_on_the_command_line_outside_the_repository_are_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(f"key: {MARKER}\nbroken: [\n", encoding="utf-8")
    root = make(tmp_path, {"kubernetes/apps/a.yaml": "kind: ConfigMap\n"})
    for path in (str(outside), "../outside.yaml", "/etc/passwd"):
        out = lint(root, path, "kubernetes/apps/a.yaml")
        # Never read, and never dropped silently either: exit 2 naming the path.
        assert out.code == 2 and "outside the repository" in out.err and out.out == ""
        assert MARKER not in out.out + out.err


def test_repo_guard_refuses_links_fifos_and_outside_paths_directly(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (tmp_path / "outside.txt").write_text(MARKER, encoding="utf-8")
    os.symlink(tmp_path / "outside.txt", root / "link.yaml")
    os.mkfifo(root / "pipe.yaml")  # opening it would block forever: S_ISREG check keeps it closed
    (root / "ok.yaml").write_text("a: 1\n", encoding="utf-8")
    repo = Repo(root, ["link.yaml", "pipe.yaml", "ok.yaml", "../outside.txt", "missing.yaml"], is_git=False)
    assert repo.read_bytes("link.yaml") is None
    assert repo.read_bytes("pipe.yaml") is None
    assert repo.read_bytes("missing.yaml") is None
    assert repo.read_bytes("ok.yaml") == b"a: 1\n"
    assert repo.read_bytes("../outside.txt") is None


# -- file names ----------------------------------------------------------------------------------

ODD_NAMES = [
    "kubernetes/apps/with space/a b.yaml",
    "kubernetes/apps/new\nline.yaml",
    "kubernetes/apps/ünïcødé/çøñfïg.yaml",
    "kubernetes/apps/-rf.yaml",
    "kubernetes/apps/--all.yaml",
    "kubernetes/apps/quote\"s'.yaml",
    "kubernetes/apps/back\\slash.yaml",
    "kubernetes/apps/tab\there.yaml",
    "kubernetes/apps/pipe|and`tick`.yaml",
    "kubernetes/apps/日本語.yaml",
    "kubernetes/apps/emoji-😀.yaml",
    "kubernetes/apps/::error file=x::oops.yaml",
]


def test_odd_file_names_are_reported_exactly(tmp_path: Path) -> None:
    files = {name: "kind: ConfigMap\ndata: [\n" for name in ODD_NAMES}
    root = make(tmp_path, files)
    doc = assert_clean(lint(root, "--all"))
    assert cl000(doc) == {(name, 3) for name in ODD_NAMES}
    # Pre-commit mode with the same names as arguments (pre-commit passes them as argv).
    doc = assert_clean(lint(root, "--select", "CL000", *ODD_NAMES[:6]))
    assert cl000(doc) == {(name, 3) for name in ODD_NAMES[:6]}


def test_non_utf8_file_name_is_reported_in_every_format(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    write_files(root, {".gitignore": GOOD_IGNORE})
    (root / os.fsdecode(b"bad\xffname.yaml")).write_bytes(b"kind: [\n")
    commit_all(root)
    for fmt in ("json", "text", "sarif", "github", "markdown"):
        out = run_cli(["--all", "--format", fmt], cwd=root)
        assert out.code == 1 and "Traceback" not in out.err, (fmt, out.err)
        assert "bad" in out.out


def test_names_with_control_characters_stay_on_one_line_in_github_and_markdown(tmp_path: Path) -> None:
    name = "kubernetes/apps/x\n::warning file=y::injected.yaml"
    root = make(tmp_path, {name: "kind: [\n"})
    gh = run_cli(["--all", "--select", "CL000", "--format", "github"], cwd=root)
    assert gh.code == 1
    assert [line for line in gh.out.splitlines() if line.startswith("::")] == gh.out.splitlines()
    assert len(gh.out.splitlines()) == 1
    md = run_cli(["--all", "--select", "CL000", "--format", "markdown"], cwd=root)
    # Grouped by rule: the finding is one table row under the CL000 heading.
    rows = [line for line in md.out.splitlines() if "injected" in line]
    assert len(rows) == 1 and rows[0].startswith("| error | ") and "### [CL000]" in md.out


def test_text_format_neutralises_control_characters_in_names(tmp_path: Path) -> None:
    names = ["kubernetes/apps/x\nfake.yaml:1:1: CL999 [error] forged", "kubernetes/apps/\x1b]2;pwned\x07.yaml"]
    root = make(tmp_path, {n: "kind: [\n" for n in names})
    out = run_cli(["--all", "--select", "CL000"], cwd=root)
    assert "\x1b" not in out.out
    assert not any(line.startswith("fake.yaml") for line in out.out.splitlines())


# -- repositories that are not quite repositories ---------------------------------------------


def test_empty_repository(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "empty")
    doc = assert_clean(lint(root, "--all"))
    assert doc["summary"]["files"] == 0
    doc = assert_clean(lint(root))  # pre-commit mode: nothing staged, nothing to say
    assert doc["summary"]["files"] == 0 and doc["findings"] == []


def test_repository_with_no_commits_lints_what_is_staged(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "fresh")
    write_files(root, {".gitignore": GOOD_IGNORE, "kubernetes/apps/a.yaml": "kind: [\n",
                       "kubernetes/apps/untracked.yaml": "kind: [\n"})
    git(root, "add", ".gitignore", "kubernetes/apps/a.yaml")
    doc = assert_clean(lint(root))
    assert cl000(doc) == {("kubernetes/apps/a.yaml", 2)}
    doc = assert_clean(lint(root, "--all"))
    assert cl000(doc) == {("kubernetes/apps/a.yaml", 2)}  # untracked files never count


def test_bare_repository_is_a_clear_exit_2(tmp_path: Path) -> None:
    source = make(tmp_path, {"kubernetes/apps/a.yaml": "kind: [\n"}, name="src")
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(source), str(bare))
    assert_exit_2(lint(bare, "--all"), "not inside a git work tree")
    assert_exit_2(lint(bare / "refs", "--all"), "not inside a git work tree")


def test_inside_the_git_directory_is_a_clear_exit_2(tmp_path: Path) -> None:
    root = make(tmp_path, {"a.yaml": "a: 1\n"})
    assert_exit_2(lint(root / ".git", "--all"), "not inside a git work tree")


def test_not_a_repository_and_a_missing_root(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert_exit_2(lint(plain, "--all"), "not inside a git work tree")
    assert_exit_2(lint(plain, "--all", "--root", str(tmp_path / "nope")), "not a directory")
    (plain / "file").write_text("x", encoding="utf-8")
    assert_exit_2(lint(plain, "--all", "--root", str(plain / "file")), "not a directory")


def test_plain_folder_with_a_fifo_and_a_git_file(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    (plain / "kubernetes").mkdir(parents=True)
    (plain / "kubernetes/a.yaml").write_text("kind: [\n", encoding="utf-8")
    os.mkfifo(plain / "kubernetes/pipe.yaml")
    (plain / ".git").write_text("gitdir: /nonexistent/elsewhere\n", encoding="utf-8")  # a broken worktree link
    doc = assert_clean(lint(plain, "--all", "--root", str(plain)))  # a plain folder: every file, FIFO never opened
    assert ("kubernetes/a.yaml", 2) in cl000(doc)
    assert any("not a git work tree" in n for n in doc["notes"])


def test_corrupt_index_is_a_clear_exit_2(tmp_path: Path) -> None:
    root = make(tmp_path, {"a.yaml": "a: 1\n"})
    (root / ".git/index").write_bytes(b"DIRC\x00\x00\x00\x02garbage" * 3)
    assert_exit_2(lint(root, "--all"))
    assert_exit_2(lint(root))


# -- the config file, wrong in every way ----------------------------------------------------------

BAD_CONFIGS: list[tuple[str | bytes, str]] = [
    ("gitops_root: [\n", ".cloudlab-lint.yaml:2"),
    ("- a\n- b\n", "not of type 'object'"),
    ("hello\n", "not of type 'object'"),
    ("42\n", "not of type 'object'"),
    ("unknown_key: 1\n", "unknown_key: unknown key"),
    ("gitops_root: 3\n", "gitops_root"),
    ("gitops_root: ''\n", "gitops_root"),
    ("exclude: '**'\n", "exclude"),
    ("exclude: [1, 2]\n", "exclude.0"),
    ("flux: {chain: []}\n", "flux.chain"),
    ("flux: {clusters: kubernetes}\n", "flux.clusters"),
    ("flux: {layout: {infra: x}}\n", "flux.layout.infra: unknown key"),
    ("flux: 5\n", "flux"),
    ("max_file_size: 0\n", "max_file_size"),
    ("max_file_size: -1\n", "max_file_size"),
    ("max_file_size: big\n", "max_file_size"),
    ("max_file_size: 1.5\n", "max_file_size"),
    ("rules: [CL001]\n", "rules"),
    ("rules: {nope: {}}\n", "nope"),
    ("rules: {CL999: {enabled: false}}\n", "CL999"),
    ("rules: {CL001: {enabled: maybe}}\n", "enabled"),
    ("rules: {CL001: {severity: fatal}}\n", "severity"),
    ("rules: {CL001: {colour: red}}\n", "colour"),
    ("rules: {CL001: {params: {nope: 1}}}\n", "nope"),
    ("rules: {CL001: {params: 5}}\n", "params"),
    ("rules: {CL001: 5}\n", "CL001"),
    ("rule_dirs: [does-not-exist]\n", "does-not-exist"),
    ("rule_dirs: .github\n", "rule_dirs"),
    (billion_laughs(), "alias bomb"),
    ("a: &a [*a]\n", "recursive alias"),
    (b"gitops_root: caf\xe9\n", "UTF-8"),
    (b"\x00\x01\x02\x03", ".cloudlab-lint.yaml"),
    ("\ufeff" + "gitops_root: 5\n", "gitops_root"),
    ("gitops_root: a\ngitops_root: b\n", ".cloudlab-lint.yaml"),
]


@pytest.mark.parametrize("config, needle", BAD_CONFIGS, ids=[f"cfg{i}" for i in range(len(BAD_CONFIGS))])
def test_config_wrong_in_every_way_is_one_clear_exit_2(tmp_path: Path, config: str | bytes, needle: str) -> None:
    root = make(tmp_path, {".cloudlab-lint.yaml": config, "kubernetes/apps/a.yaml": "kind: ConfigMap\n",
                           ".github/readme.txt": "x\n"})
    line = assert_exit_2(lint(root, "--all"), needle)
    assert len(line) < 400


def test_a_broken_second_config_document_is_still_a_config_error(tmp_path: Path) -> None:
    root = make(tmp_path, {".cloudlab-lint.yaml": "gitops_root: kubernetes\n---\nnonsense: [1\n"})
    assert_exit_2(lint(root, "--all"), ".cloudlab-lint.yaml:4")


@pytest.mark.parametrize("param", ["5", "'text'", "{a: b}", "[1, 2]", "[null]", "[[x]]"])
def test_param_of_the_wrong_type_is_exit_2_without_traceback(tmp_path: Path, param: str) -> None:
    root = make(tmp_path, {".cloudlab-lint.yaml": f"rules: {{CL001: {{params: {{probes: {param}}}}}}}\n"})
    out = lint(root, "--all")
    assert "Traceback" not in out.err
    assert out.code in (0, 1, 2)
    if out.code == 2:
        assert all(line.startswith("cloudlab-lint: ") for line in out.err.strip().splitlines())


def test_config_that_is_a_folder_or_a_fifo_is_not_read(tmp_path: Path) -> None:
    root = make(tmp_path, {"a.yaml": "a: 1\n"})
    (root / ".cloudlab-lint.yaml").mkdir()  # untracked, as it must be: ignored with a note, never read
    out = lint(root, "--all")
    assert out.code == 0 and ".cloudlab-lint.yaml: not tracked by git, ignored" in out.err
    (root / ".cloudlab-lint.yaml").rmdir()
    os.mkfifo(root / ".cloudlab-lint.yaml")  # never opened: reading a FIFO would hang
    out = lint(root, "--all")
    assert out.code == 0 and ".cloudlab-lint.yaml: not tracked by git, ignored" in out.err
    assert "the config is not a regular file" in assert_exit_2(
        lint(root, "--all", "--config", ".cloudlab-lint.yaml"), ".cloudlab-lint.yaml")


def test_config_linked_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(f"{MARKER}: [\n", encoding="utf-8")
    root = init_repo(tmp_path / "repo")
    write_files(root, {".gitignore": GOOD_IGNORE})
    os.symlink(outside, root / ".cloudlab-lint.yaml")
    commit_all(root)
    out = lint(root, "--all")
    line = assert_exit_2(out, ".cloudlab-lint.yaml")
    assert MARKER not in line and "outside the repository" in line


def test_rule_dirs_outside_the_repository_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "policies"
    outside.mkdir()
    root = make(tmp_path, {".cloudlab-lint.yaml": f"rule_dirs: [{outside}]\n"})
    assert_exit_2(lint(root, "--all"), "rule_dirs", "outside the repository")
    root2 = make(tmp_path, {".cloudlab-lint.yaml": "rule_dirs: [../policies]\n"}, name="repo2")
    assert_exit_2(lint(root2, "--all"), "rule_dirs", "outside the repository")


# -- baseline and output files ------------------------------------------------------------------

@pytest.mark.parametrize("content, needle", [
    (b"", "baseline"),
    (b"[1, 2]", "baseline"),
    (b'{"version": 99, "findings": []}', "version"),
    (b"\xff\xfe\x00", "baseline"),
    (b"[" * 100000 + b"]" * 100000, "baseline"),
    (b'{"version": 1, "findings": 5}', "baseline"),
])
def test_garbage_baseline_is_a_clear_exit_2(tmp_path: Path, content: bytes, needle: str) -> None:
    root = make(tmp_path, {"base.json": content})
    assert_exit_2(lint(root, "--all", "--baseline", "base.json"), needle)


def test_baseline_entries_of_the_wrong_shape_are_ignored(tmp_path: Path) -> None:
    root = make(tmp_path, {"base.json": '{"version": 1, "findings": [5, null, {"rule": 1}, []]}'})
    assert_clean(lint(root, "--all", "--baseline", "base.json"))


@pytest.mark.parametrize("target", ["missing-dir/report.json", "."])
def test_unwritable_output_is_a_clear_exit_2(tmp_path: Path, target: str) -> None:
    root = make(tmp_path, {"a.yaml": "a: 1\n"})
    assert_exit_2(lint(root, "--all", "--output", target), "cannot write the report")


# -- everything at once, as a real process, with a hang guard ------------------------------------

HANG_GUARD = 600  # seconds: only a hang reaches it (the run takes a few seconds)


def test_whole_hostile_repository_as_a_real_process(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.mkfifo(outside / "fifo.yaml")  # reading it would block forever
    files: dict[str, str | bytes] = {
        "kubernetes/apps/bomb.yaml": billion_laughs(),
        "kubernetes/apps/cycle.yaml": "a: &a [*a]\n",
        "kubernetes/apps/deep.yaml": "x: " + "[" * 5000 + "]" * 5000 + "\n",
        "kubernetes/apps/chart/templates/t.yaml": "{{ if }}: [\n",
        "kubernetes/apps/latin1.yaml": "a: caf\xe9\n".encode("latin-1"),
        "kubernetes/apps/utf16.yaml": "kind: ConfigMap\n".encode("utf-16"),
        "kubernetes/apps/binary.yaml": b"\x00" * 100,
        "kubernetes/apps/crlf.yaml": b"kind: ConfigMap\r\ndata: [\r\n",
        ".mise.toml": "[" + ".".join(["a"] * 3000) + "]\n",
        "renovate.json": "[" * 100000 + "]" * 100000,
        ".github/workflows/w.yaml": WORKFLOW_CONFUSED[2],
        "kubernetes/apps/new\nline.yaml": "kind: [\n",
    }
    for i, text in enumerate(CONFUSED):
        files[f"kubernetes/apps/c{i}/ks.yaml"] = text
    root = make(tmp_path, files)
    os.symlink(outside / "fifo.yaml", root / "kubernetes/apps/fifo-link.yaml")
    commit_all(root)
    env = {**os.environ, "NO_COLOR": "1"}
    for args in (["--all", "--history"], ["kubernetes/apps/fifo-link.yaml", "kubernetes/apps/bomb.yaml"]):
        proc = subprocess.run([sys.executable, "-m", "cloudlab_lint", *args, "--format", "json"], cwd=root,
                              capture_output=True, text=True, timeout=HANG_GUARD, env=env, check=False)
        doc = assert_clean(Outcome(proc.returncode, proc.stdout, proc.stderr))
        assert ("kubernetes/apps/bomb.yaml", 6) in cl000(doc) or any(
            p == "kubernetes/apps/bomb.yaml" for p, _ in cl000(doc))
