"""Property-based tests: the YAML location mapping, the SOPS value grammar, the shell command extraction.

Hypothesis generates the inputs (deadline=None: the machine may be busy; no test is timed).
Each property states what must hold for every input, not for a few examples.
"""

from __future__ import annotations

import base64
import shlex
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cloudlab_lint.parsing import ParseError
from cloudlab_lint.parsing.shell import commands
from cloudlab_lint.parsing.yamlx import YMap, YSeq, load_documents
from cloudlab_lint.stack.sops.file import KNOWN_TYPES, enc_problem

SETTINGS = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])

# -- YAML: generated documents, dumped by PyYAML, read back with their positions ---------------

KEY = st.from_regex(r"\A[a-z][a-z0-9_-]{0,10}\Z")
SCALAR = st.one_of(
    st.integers(-10**9, 10**9),
    st.booleans(),
    st.none(),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=20),
    st.from_regex(r"\A[A-Za-z][A-Za-z0-9 ._/-]{0,15}\Z"),
)
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(KEY, inner, max_size=5)), max_leaves=25)
DOCUMENT = st.dictionaries(KEY, VALUE, min_size=1, max_size=6)


def plain(value: Any) -> Any:
    """YMap/YSeq back to dict/list, to compare with what was dumped."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def dump(doc: Any, flow: bool) -> str:
    return yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=True, sort_keys=False, width=10**6)


def walk(value: Any, path: tuple = ()) -> Any:
    """Every (container, key) pair in a built document."""
    if isinstance(value, YMap):
        for key, child in value.items():
            yield value, key, path + (key,)
            yield from walk(child, path + (key,))
    elif isinstance(value, YSeq):
        for index, child in enumerate(value):
            yield value, index, path + (index,)
            yield from walk(child, path + (index,))


def text_at(lines: list[str], pos: tuple[int, int]) -> str:
    line, col = pos
    assert 1 <= line <= len(lines) and col >= 1, pos
    return lines[line - 1][col - 1:]


@SETTINGS
@given(DOCUMENT, st.booleans())
def test_yaml_values_round_trip(doc: dict, flow: bool) -> None:
    docs = load_documents(dump(doc, flow))
    assert len(docs) == 1
    assert plain(docs[0].data) == doc


@SETTINGS
@given(DOCUMENT)
def test_yaml_every_key_and_value_position_points_at_its_text(doc: dict) -> None:
    text = dump(doc, False)
    lines = text.splitlines()
    data = load_documents(text)[0].data
    for container, key, _ in walk(data):
        if isinstance(container, YMap):
            at = text_at(lines, container.keys_pos[key])
            assert at.lstrip("'\"").startswith(key), (key, at)
            assert container.key_line(key) == container.keys_pos[key][0]
            value_line = container.line_of(key)
            assert value_line >= container.key_line(key)
            value = container[key]
            if isinstance(value, str) and value and value.isalnum():
                assert value in lines[value_line - 1] or value_line > container.key_line(key)
        else:
            assert container.line_of(key) == container.pos[key][0]
            item = container[key]
            if isinstance(item, YMap) and item:
                first = next(iter(item))
                assert item.key_line(first) == container.pos[key][0]


@SETTINGS
@given(DOCUMENT, st.integers(0, 5), st.booleans())
def test_yaml_lines_shift_with_leading_comments_and_survive_crlf(doc: dict, pad: int, crlf: bool) -> None:
    text = dump(doc, False)
    base = load_documents(text)[0].data
    shifted_text = "# comment\n" * pad + text
    if crlf:
        shifted_text = shifted_text.replace("\n", "\r\n")
    shifted = load_documents(shifted_text)[0].data
    assert plain(shifted) == plain(base)
    for (c1, k1, p1), (c2, k2, p2) in zip(walk(base), walk(shifted), strict=True):
        assert p1 == p2
        assert c2.line_of(k2) == c1.line_of(k1) + pad
        if isinstance(c1, YMap):
            assert c2.keys_pos[k2] == (c1.keys_pos[k1][0] + pad, c1.keys_pos[k1][1])


@SETTINGS
@given(st.lists(DOCUMENT, min_size=1, max_size=4), st.lists(st.integers(0, 2), min_size=4, max_size=4))
def test_yaml_documents_know_their_first_line(docs: list[dict], blanks: list[int]) -> None:
    parts, starts, line = [], [], 1
    for i, doc in enumerate(docs):
        body = dump(doc, False)
        head = "---\n" + "# c\n" * blanks[i]
        parts.append(head + body)
        starts.append(line + head.count("\n"))
        line += head.count("\n") + body.count("\n")
    loaded = load_documents("".join(parts))
    assert [d.line for d in loaded] == starts
    assert [plain(d.data) for d in loaded] == docs
    assert all(d.end_line >= d.line for d in loaded)


YAMLISH = st.lists(st.sampled_from([
    "a", "b", ":", ": ", "- ", "-", "[", "]", "{", "}", ",", "&x ", "*x", "&y ", "*y", "<<: ", "!t ", "!!str ",
    "'", '"', "#", "\n", "\n  ", "\n    ", "---\n", "...\n", "? ", "|\n  ", ">\n  ", "\t", "%YAML 1.2\n", "1", "~",
    "\ufeff", "\x00", "é", "on", "=",
]), max_size=60).map("".join)


@SETTINGS
@given(st.one_of(YAMLISH, st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)))
def test_yaml_any_text_parses_or_is_a_parse_error_with_a_line(text: str) -> None:
    try:
        docs = load_documents(text)
    except ParseError as exc:
        assert 1 <= exc.line <= text.count("\n") + text.count("\r") + 1
        assert exc.message
        return
    for doc in docs:
        assert doc.line >= 1 and doc.end_line >= doc.line - 1


PLAIN_SCALAR = st.one_of(
    st.from_regex(r"\A[-+]?(0|[1-9][0-9_]{0,8}|0x[0-9a-fA-F_]{1,6}|0b[01_]{1,8}|0[0-7_]{1,6}|[0-9]{1,2}(:[0-5][0-9]){1,2})\Z"),
    st.from_regex(r"\A[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?\Z"),
    st.sampled_from(["~", "null", "Null", "NULL", "yes", "No", "ON", "off", "true", "False", "y", "n", ".inf", "-.Inf",
                     ".nan", ".NaN", "<<x", "=", "!", "&", "*", "0o17", "1_000", "0x_", "+", "-", "."]),
    st.from_regex(r"\A[A-Za-z0-9+.~-][A-Za-z0-9 ._:+-]{0,12}[A-Za-z0-9._+-]\Z"),
)


@SETTINGS
@given(PLAIN_SCALAR)
def test_yaml_plain_scalars_are_typed_as_pyyaml_types_them(value: str) -> None:
    # The builder types plain scalars itself (the composer leaves them untagged): it must agree with
    # PyYAML's (libyaml) safe loader, timestamps and other types we keep as text aside.
    import datetime
    import math

    text = f"k: {value}\n"
    try:
        expected = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, ValueError):  # PyYAML's constructor raises ValueError on `0x_`; we keep the text
        return
    assume(isinstance(expected, dict) and "k" in expected)
    want = expected["k"]
    got = load_documents(text)[0].data["k"]
    if isinstance(want, (datetime.date, bytes, set)):
        assert got == value.strip()
    elif isinstance(want, float) and math.isnan(want):
        assert isinstance(got, float) and math.isnan(got)
    else:
        assert got == want and type(got) is type(want), (value, got, want)


@SETTINGS
@given(st.integers(1, 12), st.integers(2, 12))
def test_yaml_alias_expansion_is_refused_or_small(levels: int, width: int) -> None:
    rows = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
    rows += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    text = "\n".join(rows) + "\n"
    expanded = sum(width ** i for i in range(1, levels + 1))
    try:
        load_documents(text)
    except ParseError as exc:
        assert "alias bomb" in exc.message
        assert expanded > 100_000
    else:
        assert expanded <= 400_000


# -- the SOPS value grammar ----------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def enc(data: str, iv: str, tag: str, kind: str) -> str:
    return f"ENC[AES256_GCM,data:{data},iv:{iv},tag:{tag},type:{kind}]"


@SETTINGS
@given(st.binary(min_size=1, max_size=200), st.binary(min_size=32, max_size=32), st.binary(min_size=16, max_size=16),
       st.sampled_from(KNOWN_TYPES))
def test_sops_well_formed_values_are_accepted(data: bytes, iv: bytes, tag: bytes, kind: str) -> None:
    assert enc_problem(enc(b64(data), b64(iv), b64(tag), kind)) is None


@SETTINGS
@given(st.binary(min_size=1, max_size=100), st.binary(max_size=40), st.binary(max_size=24),
       st.sampled_from([*KNOWN_TYPES, "string", "", "STR", "bytes ", "x"]))
def test_sops_iv_tag_and_type_are_checked(data: bytes, iv: bytes, tag: bytes, kind: str) -> None:
    problem = enc_problem(enc(b64(data), b64(iv), b64(tag), kind))
    if len(iv) != 32:
        assert problem is not None and "iv" in problem
    elif len(tag) != 16:
        assert problem is not None and "tag" in problem
    elif kind not in KNOWN_TYPES:
        assert problem is not None and "type" in problem
    else:
        assert problem is None


@SETTINGS
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=8, max_size=80))
def test_sops_messages_never_quote_the_value(secret: str) -> None:
    assume(secret.strip() and not secret.isspace())
    # A value that is a piece of the fixed wording (`ENC[AES2`) appears in a message, quoted or not.
    wording = [enc_problem(v) or "" for v in ("x", "ENC[AES256_GCM,data:x]", enc("x", b64(bytes(32)), b64(bytes(16)),
               "str"), enc(b64(bytes(8)), "x", b64(bytes(16)), "str"), enc(b64(bytes(8)), b64(bytes(32)), "x", "x"))]
    assume(not any(secret in text for text in wording))
    for value in (secret, f"ENC[AES256_GCM,data:{secret}]", enc(secret, b64(bytes(32)), b64(bytes(16)), "str"),
                  enc(b64(bytes(8)), secret, b64(bytes(16)), "str"), enc(b64(bytes(8)), b64(bytes(32)), secret, "x")):
        problem = enc_problem(value)
        if value.startswith(secret) or value.endswith(f"{secret}]"):
            assert problem is not None  # not the grammar at all
        assert problem is None or secret not in problem


@SETTINGS
@given(st.text(max_size=120))
def test_sops_grammar_never_raises(value: str) -> None:
    problem = enc_problem(value)
    assert problem is None or isinstance(problem, str)


# -- shell command extraction ----------------------------------------------------------------------

WORD = st.from_regex(r"\A[a-z][a-z0-9_.-]{0,8}\Z")
ARG = st.one_of(WORD, st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12))
COMMAND = st.tuples(WORD, st.lists(ARG, max_size=4)).map(lambda t: (t[0], *t[1]))
NOT_A_NAME = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "case", "esac", "in",
              "function", "select", "time", "env", "sudo", "nohup", "exec", "command", "builtin", "eval", "sh",
              "bash", "zsh", "dash", "ksh", "xargs", "nice", "timeout", "stdbuf", "doas", "coproc"}


@SETTINGS
@given(st.lists(COMMAND, min_size=1, max_size=6), st.lists(st.sampled_from([";", "&&", "||", "|", "\n", "&"]),
                                                         min_size=6, max_size=6))
def test_shell_extracts_exactly_the_commands_joined_by_any_separator(cmds: list[tuple[str, ...]],
                                                                       seps: list[str]) -> None:
    assume(all(c[0] not in NOT_A_NAME for c in cmds))
    script, lines, line = "", [], 1
    for i, cmd in enumerate(cmds):
        lines.append(line)
        script += " ".join(shlex.quote(w) for w in cmd)
        if i < len(cmds) - 1:
            script += f" {seps[i]} " if seps[i] != "\n" else "\n"
            line += seps[i] == "\n"
    found = commands(script)
    assert [c.words for c in found] == list(cmds)
    assert [c.line for c in found] == lines


@SETTINGS
@given(st.lists(COMMAND, min_size=1, max_size=3), st.sampled_from(["bash", "sh"]))
def test_shell_looks_inside_dash_c(cmds: list[tuple[str, ...]], shell: str) -> None:
    assume(all(c[0] not in NOT_A_NAME for c in cmds))
    inner = " && ".join(" ".join(shlex.quote(w) for w in c) for c in cmds)
    found = [c.words for c in commands(f"{shell} -c {shlex.quote(inner)}")]
    assert found[0] == (shell, "-c", inner)
    assert found[1:] == list(cmds)


@SETTINGS
@given(ARG)
def test_shell_quoted_operators_are_one_word(arg: str) -> None:
    found = commands(f"echo {shlex.quote(arg)}")
    assert [c.words for c in found] == [("echo", arg)]


SHELLISH = st.lists(st.sampled_from([
    "a", "b", " ", "'", '"', "\\", "$(", ")", "`", "<(", "<<", "EOF", "\n", ";", "&&", "|", "||", "&", "{", "}",
    "if", "then", "fi", "bash -c ", "eval ", "$x", "${", "#", "=", "(", "<", ">", "2>&1", "\t",
]), max_size=80).map("".join)


@SETTINGS
@given(st.one_of(SHELLISH, st.text(max_size=200)))
def test_shell_any_text_gives_commands_and_never_raises(script: str) -> None:
    found = commands(script)
    for cmd in found:
        assert cmd.words and all(isinstance(w, str) for w in cmd.words)
        assert 1 <= cmd.line <= script.count("\n") + 1


# -- pipeline scope: the listing search finds exactly the files asked about one by one ---------

PATH_PART = st.one_of(
    st.sampled_from([".github", "workflows", ".mise", "mise", "tasks", ".config", "lefthook.yml", ".lefthook",
                     "Makefile", "GNUmakefile", "action.yml", "run.sh", "kubernetes", "apps", "x.yaml", "mise.toml",
                     "mise-tasks", "a b", "q'x", "sh", "makefile.txt"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="/\0"), min_size=1,
            max_size=8),
)
PATHS = st.lists(st.lists(PATH_PART, min_size=1, max_size=4).map("/".join), max_size=30, unique=True)


@SETTINGS
@given(PATHS)
def test_pipeline_roots_found_by_searching_the_listing_are_those_asked_one_by_one(files: list[str]) -> None:
    from cloudlab_lint.stack.pipeline.scope import _is_root, _rooted

    listed = tuple(sorted(files))
    assert _rooted(listed) == {p for p in listed if _is_root(p)}
