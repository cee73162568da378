"""The shell tokenizer: which commands a script runs, on which line."""

from __future__ import annotations

import pytest

from cloudlab_lint.parsing.shell import commands


def argvs(script: str) -> list[tuple[tuple[str, ...], int]]:
    return [(c.words, c.line) for c in commands(script)]


def names(script: str) -> list[str]:
    return [" ".join(c.words) for c in commands(script)]


def test_separators_and_continuations() -> None:
    script = "terraform -chdir=infra \\\n  plan -out=x && echo ok; ls | wc -l || true &\nmake"
    assert argvs(script) == [
        (("terraform", "-chdir=infra", "plan", "-out=x"), 1),
        (("echo", "ok"), 2),
        (("ls",), 2),
        (("wc", "-l"), 2),
        (("true",), 2),
        (("make",), 3),
    ]


def test_quotes_keep_words_and_operators_inside() -> None:
    assert argvs("echo \"terraform plan\" 'tofu; apply' \";\" && ls") == [
        (("echo", "terraform plan", "tofu; apply", ";"), 1), (("ls",), 1)]
    assert names('echo "a \\" b"') == ['echo a " b']


def test_comments_are_dropped_but_hash_inside_words_is_not() -> None:
    assert names("# terraform plan\nls # terraform plan\necho a#b") == ["ls", "echo a#b"]


def test_wrappers_are_looked_through() -> None:
    assert names("env -u X TF_LOG=1 terraform plan") == ["terraform plan"]
    assert names("sudo -u root -E terraform apply") == ["terraform apply"]
    assert names("X=1 Y=2 nohup nice -n 5 time terraform plan") == ["terraform plan"]
    assert names("timeout -s KILL 10m terraform plan") == ["terraform plan"]
    assert names("find . -name '*.tf' | xargs -n1 terraform fmt") == ["find . -name *.tf", "terraform fmt"]
    assert "terraform plan" in names("mise exec terraform@1.9.8 -- terraform plan")
    assert "terraform plan" in names("uv run --frozen terraform plan")


@pytest.mark.parametrize("script", [
    "bash -c 'terraform plan'",
    "sh -ec \"cd infra && terraform plan\"",
    "bash -euo pipefail -c 'terraform plan'",
    "eval 'terraform plan'",
    "x=$(terraform plan -no-color)",
    "echo \"$(terraform plan)\"",
    "echo `terraform plan`",
    "diff <(terraform plan) /dev/null",
    "(cd infra; terraform plan)",
    "{ terraform plan; }",
    "if terraform plan; then :; fi",
    "while true; do terraform plan; done",
    "f() { terraform plan; }",
    "case $x in\n  p) terraform plan ;;\nesac",
    "bash <<'SH'\nterraform plan\nSH",
    "! terraform plan",
])
def test_hidden_runs_are_found(script: str) -> None:
    assert any(c.words[:2] == ("terraform", "plan") for c in commands(script)), names(script)


@pytest.mark.parametrize("script", [
    "echo terraform plan",
    "echo 'terraform plan'",
    "# terraform plan",
    "cat <<EOF > notes.txt\nterraform plan\nEOF",
    "printf '%s\\n' \"terraform plan\"",
    "case $x in\n  plan) echo no ;;\nesac",
    "for cmd in plan apply; do echo $cmd; done",
    "x=$((1 + 2))",
    "grep -r 'terraform plan' .",
])
def test_mentions_are_not_runs(script: str) -> None:
    assert not any(c.words[:2] == ("terraform", "plan") for c in commands(script)), names(script)
    assert not any(c.name == "plan" for c in commands(script)), names(script)


def test_array_assignments_are_data() -> None:
    script = "args=(\n  -o BatchMode=yes\n  linux-x64\n)\nargs+=(-H x)\nssh \"${args[@]}\" host"
    assert argvs(script) == [(("ssh", "${args[@]}", "host"), 6)]
    assert names('eval "$(mise env)"') == ["mise env"]  # the substitution runs; its output is unknown


def test_double_brackets_keep_their_operators() -> None:
    assert names('if [[ "$a" =~ ^x && $b < 2 ]]; then terraform fmt; fi') == [
        '[[ $a =~ ^x && $b < 2 ]]', "terraform fmt"]


def test_redirections_and_io_numbers_are_not_arguments() -> None:
    assert argvs("terraform plan 2>&1 > out.txt") == [(("terraform", "plan"), 1)]
    assert argvs("cmd <<< 'terraform plan'") == [(("cmd",), 1)]


def test_lines_after_heredoc_and_multiline_quotes() -> None:
    script = "cat <<-EOF\n\tx\n\tEOF\necho 'a\nb'\nls"
    assert argvs(script) == [(("cat",), 1), (("echo", "a\nb"), 4), (("ls",), 6)]


def test_starting_line_offset() -> None:
    assert argvs("ls\n\nterraform plan") and commands("ls\n\nterraform plan", line=10)[1].line == 12


def test_unterminated_input_does_not_crash() -> None:
    for script in ["echo 'open", 'echo "open', "x=$(open", "echo `open", "cat <<EOF\nno end", "\\"]:
        commands(script)


def test_deep_nesting_is_bounded() -> None:
    shallow = "echo " + "$(" * 3 + "terraform plan" + ")" * 3
    assert ("terraform", "plan") in {c.words for c in commands(shallow)}
    deep = "echo " + "$(" * 500 + "terraform plan" + ")" * 500
    commands(deep)  # ends without RecursionError: nesting past MAX_NESTING is not followed


def test_any_text_parses_without_error() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    alphabet = st.sampled_from(list("ab $()`'\"\\\n;&|<>{}[]#=-!*") + ["<<EOF\n", "EOF", "bash -c ", "$(", "[[", "]]"])

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.lists(alphabet, max_size=60).map("".join))
    def parse(script: str) -> None:
        for cmd in commands(script):
            assert cmd.words and cmd.line >= 1

    parse()
