"""The Terraform rules beyond their fixtures: lazy import, the CL005 overlap, parse errors, hostile input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudlab_lint.checks.terraform import constraint_problem
from cloudlab_lint.parsing import ParseError
from cloudlab_lint.parsing.hcl import MAX_BLANK_RUN, MAX_CHARS, load_hcl

from .helpers import commit_all, git, init_repo, run_cli, write_files

# Assembled here so that this file itself holds no secret-shaped text (the project lints itself).
TOKEN = "terraform@pve!provider" + "=00000000-0000-4000-8000-00000000abcd"
PEM = "-----BEGIN OPENSSH " + "PRIVATE KEY-----"
PROVIDER = f'''provider "proxmox" {{
  endpoint  = "https://pve.lan:8006/"
  api_token = "{TOKEN}"
  ssh {{
    private_key = <<EOT
{PEM}
RkFLRS1LRVktRk9SLVRFU1RTLU9OTFktRkFLRS1LRVktRk9SLVRFU1RTLU9OTFktRkFLRS1LRVk=
-----END OPENSSH PRIVATE KEY-----
EOT
  }}
}}
'''


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "repo")
    write_files(root, {".gitignore": "*.tfstate*\n.age-key.txt\nkubeconfig\ntalosconfig\n", "README.md": "# x\n",
                       "terraform/main.tf": 'terraform {\n  required_version = ">= 1.6"\n}\n'})
    commit_all(root)
    return root


def found(root: Path, *args: str) -> set[tuple[str, str, int]]:
    outcome = run_cli([*args, "--format", "json"], cwd=root)
    assert outcome.code in (0, 1), outcome.err
    assert TOKEN not in outcome.out and "RkFLRS1LRVkt" not in outcome.out
    return outcome.found()


def test_cl502_takes_the_lines_cl005_would_report(repo: Path) -> None:
    write_files(repo, {"terraform/providers.tf": PROVIDER})
    commit_all(repo)
    alone = found(repo, "--all", "--select", "CL005")
    assert alone == {("CL005", "terraform/providers.tf", 3), ("CL005", "terraform/providers.tf", 7)}
    assert found(repo, "--all", "--select", "CL502") == {("CL502", "terraform/providers.tf", 3),
                                                          ("CL502", "terraform/providers.tf", 5)}
    # Together: CL502 reports the token's line and the whole heredoc (lines 5-9); CL005 nothing there.
    both = found(repo, "--all", "--select", "CL005,CL502")
    assert both == {("CL502", "terraform/providers.tf", 3), ("CL502", "terraform/providers.tf", 5)}


def test_cl005_still_reports_a_secret_cl502_does_not_cover(repo: Path) -> None:
    text = PROVIDER.replace("api_token", "endpoint_note")  # no longer a credential name: CL502 says nothing
    write_files(repo, {"terraform/providers.tf": text})
    commit_all(repo)
    assert ("CL005", "terraform/providers.tf", 3) in found(repo, "--all", "--select", "CL005,CL502")


def test_a_terraform_syntax_error_is_cl000_at_its_line_without_the_text(repo: Path) -> None:
    write_files(repo, {"terraform/broken.tf": f'variable "x" {{\n  default = "{TOKEN}"\n  type = \n}}\n'})
    commit_all(repo)
    outcome = run_cli(["--all", "--select", "CL000,CL501,CL502", "--format", "json"], cwd=repo)
    assert ("CL000", "terraform/broken.tf", 3) in outcome.found()
    assert TOKEN not in outcome.out and "Traceback" not in outcome.err
    assert outcome.code == 1


MODULES_CODE = ("import sys; from cloudlab_lint.cli import main; main(sys.argv[1:]); "
                "sys.stderr.write('HCL=%s' % sorted(m for m in ('hcl2', 'lark') if m in sys.modules))")


def _imported(root: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", MODULES_CODE, *args], cwd=root, capture_output=True, text=True,
                          check=False)
    assert "HCL=" in proc.stderr, proc.stderr
    return proc.stderr.rsplit("HCL=", 1)[1]


def test_a_commit_that_stages_no_terraform_file_never_imports_the_parser(repo: Path) -> None:
    write_files(repo, {"README.md": "# changed\n", "terraform/vm.tf": 'resource "x_y" "z" {}\n'})
    git(repo, "add", "README.md")
    assert _imported(repo) == "[]"  # every commit-stage rule, on what is staged
    assert _imported(repo, "--select", "CL5") == "[]"
    git(repo, "add", "terraform/vm.tf")
    assert _imported(repo) == "['hcl2', 'lark']"


@pytest.mark.parametrize(("constraint", "ok"), [
    ("~> 0.66", True), ("= 0.66.1", True), ("0.7.1", True), (">= 0.66, < 1.0", True), ("~> 1", True),
    ("= 0.12.0-beta.0", True), (">= 1.2, < 2.0", True),
    (None, False), ("", False), (">= 0.66", False), (">= 1.2, < 3.0", False), ("!= 0.70.0", False),
    ("latest", False),
])
def test_constraints_must_bound_the_major_version(constraint: str | None, ok: bool) -> None:
    assert (constraint_problem(constraint) is None) == ok


@pytest.mark.parametrize("text", [
    "x = <<EOT\n" + " \n" * (MAX_BLANK_RUN // 2 + 1) + "y\n",  # the heredoc terminal backtracks over blanks
    "a = 1\n" * (MAX_CHARS // 6 + 1),
    "a = " + "(" * 500 + "1" + ")" * 500 + "\n",
    "a = " + "{ b = " * 300 + "1" + " }" * 300 + "\n",
    'resource "a" "b" {\n',
    "\x00\x01",
])
def test_hostile_hcl_is_a_parse_error_never_a_crash(text: str) -> None:
    with pytest.raises(ParseError) as info:
        load_hcl(text)
    assert info.value.line >= 1 and "Traceback" not in info.value.message


def test_lines_of_attributes_heredocs_and_nested_blocks() -> None:
    body = load_hcl(PROVIDER)
    (provider,) = body.blocks
    assert (provider.type, provider.labels, provider.line, provider.end_line) == ("provider", ("proxmox",), 1, 11)
    token = provider.attr("api_token")
    assert token is not None and (token.line, token.value.text) == (3, TOKEN)
    key = provider.children("ssh")[0].attr("private_key")
    assert key is not None and (key.line, key.end_line, key.value.kind) == (5, 9, "heredoc")


def test_explain_gives_the_rule_file_help() -> None:
    from .helpers import PROJECT

    outcome = run_cli(["explain", "CL502"], cwd=PROJECT)
    assert outcome.code == 0
    assert "terraform-no-literal-credentials" in outcome.out and "Why:" in outcome.out
    assert "TF_VAR_proxmox_api_token" in outcome.out and "names: [" in outcome.out


def test_readme_documents_the_terraform_hook_and_the_overlap() -> None:
    from .helpers import PROJECT

    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Terraform and Talos (CL501-CL504)", 1)[1].split("\n## ", 1)[0]
    assert "`cloudlab-terraform`" in section and "only CL502 reports" in section
    assert f"{MAX_CHARS // 1024} KiB" in section


def test_a_tf_file_over_the_parse_cap_is_cl000_in_ci_and_a_note_in_a_hook(repo: Path) -> None:
    write_files(repo, {"terraform/big.tf": "a = 1\n" * (MAX_CHARS // 6 + 1)})
    git(repo, "add", "terraform/big.tf")
    hook = run_cli(["--select", "CL000,CL502", "--format", "json"], cwd=repo)
    assert hook.found() == set() and any("terraform/big.tf: not parsed" in n for n in hook.json["notes"])
    assert found(repo, "--all", "--select", "CL000,CL502") == {("CL000", "terraform/big.tf", 1)}


def test_a_staged_deletion_of_the_lock_file_fails_the_commit(repo: Path) -> None:
    write_files(repo, {"terraform/.terraform.lock.hcl": 'provider "registry.terraform.io/bpg/proxmox" {\n}\n',
                       "terraform/main.tf": 'terraform {\n  required_providers {\n    proxmox = { source = '
                                            '"bpg/proxmox", version = "~> 0.77.0" }\n  }\n}\n'})
    commit_all(repo)
    assert found(repo, "--select", "CL501") == set()  # nothing staged: nothing to judge
    git(repo, "rm", "-q", "--cached", "terraform/.terraform.lock.hcl")
    assert found(repo, "--select", "CL501") == {("CL501", "terraform/main.tf", 1)}


def test_an_untracked_tf_file_named_on_the_command_line_is_judged_as_content(repo: Path) -> None:
    write_files(repo, {"terraform/providers.tf": PROVIDER})  # never added
    assert found(repo, "terraform/providers.tf", "--select", "CL005,CL502") == {
        ("CL502", "terraform/providers.tf", 3), ("CL502", "terraform/providers.tf", 5)}


PIECES = ['resource "a_b" "c" {', "}", "{", "[", "]", "(", ")", '"', "=", "\n", "x", " ", ".", ",", "${", "%{",
          "<<EOT\n", "\nEOT\n", "# c\n", "/*", "*/", "true", "1.5", "for k, v in x : ", "? 1 : 2", "...", "*",
          "var.x", "f(", "::"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_any_text_parses_or_is_a_parse_error(pieces: list[str]) -> None:
    try:
        body = load_hcl("".join(pieces))
    except ParseError as exc:
        assert exc.line >= 1 and exc.message.startswith(("invalid HCL", "not parsed"))
    else:
        assert body.line == 1 and all(b.line >= 1 for b in body.blocks)
