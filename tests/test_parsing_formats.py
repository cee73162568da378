"""The INI, dotenv and commented-YAML parsers: text in, values with lines out, ParseError for what they refuse."""

from __future__ import annotations

import pytest

from cloudlab_lint.parsing import ParseError
from cloudlab_lint.parsing.dotenv import Entry, parse
from cloudlab_lint.parsing.ini import Event, events
from cloudlab_lint.parsing.yamlnodes import compose


def test_dotenv_entries_and_comments_keep_their_lines_and_bytes() -> None:
    assert parse("# note\n\nA= x \nB=c=d\n") == [Entry(1, None, " note"), Entry(3, "A", " x "), Entry(4, "B", "c=d")]


def test_dotenv_line_without_equals_is_refused_unless_lenient() -> None:
    with pytest.raises(ParseError) as err:
        parse("A=1\nnonsense\n")
    assert err.value.line == 2
    assert parse("A=1\nnonsense\n", lenient=True) == [Entry(1, "A", "1")]


def test_ini_events_place_comments_and_unquote_values() -> None:
    text = "; top\n[app]\n# k\nkey = \"v\"\nother: `w`\nlong = \"\"\"a\nb\"\"\"\n; tail\n"
    assert events(text) == [
        Event("section", 0, "DEFAULT", ""), Event("topcomment", 1, "", " top"), Event("section", 2, "app", ""),
        Event("comment", 3, "", " k"), Event("key", 4, "key", "v"), Event("key", 5, "other", "w"),
        Event("key", 6, "long", "a\nb"), Event("comment", 8, "", " tail")]


@pytest.mark.parametrize(("text", "line"), [("[a]\nnot a key\n", 2), ('[a]\nk = """open\nmore\n', 2)])
def test_ini_refuses_what_go_ini_refuses_unless_lenient(text: str, line: int) -> None:
    with pytest.raises(ParseError) as err:
        events(text)
    assert err.value.line == line
    assert [e.kind for e in events(text, lenient=True)][:2] == ["section", "section"]


def test_yaml_nodes_with_comments_and_errors() -> None:
    nodes, comments = compose("a: 1  # why\n# before b\nb: 2\n", comments=True)
    assert len(nodes) == 1
    assert comments == [(1, 7, " why", True), (2, 1, " before b", False)]
    assert compose("a: 1  # c\n", comments=False)[1] == []  # not asked: none recorded (libyaml composes)
    with pytest.raises(ParseError) as err:
        compose("a: [1\nb: 2\n", comments=False)
    assert err.value.line >= 2
