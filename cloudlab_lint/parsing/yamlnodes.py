"""YAML as PyYAML's composed nodes, every document, with the comments the scanner skips.

For a reader that needs what the value model (yamlx) drops: node tags and styles, and comments with
their places. libyaml composes when there is no comment to record; otherwise the pure scanner does,
recording each comment it skips.
"""

from __future__ import annotations

from typing import Any

# isort: off
import yaml
from yaml.nodes import MappingNode as MappingNode
from yaml.nodes import Node
from yaml.nodes import ScalarNode as ScalarNode
from yaml.nodes import SequenceNode as SequenceNode
# isort: on

from . import ParseError

Comment = tuple[int, int, str, bool]  # (line, column, text after `#`, inline: something precedes it on its line)


class _CommentLoader(yaml.SafeLoader):
    """PyYAML's pure scanner, recording the comments it skips (line, column, text after `#`)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.comments: list[tuple[int, int, str]] = []

    def scan_to_next_token(self) -> None:
        if self.index == 0 and self.peek() == "\ufeff":
            self.forward()
        found = False
        while not found:
            while self.peek() == " ":
                self.forward()
            if self.peek() == "#":
                line, col, start = self.line + 1, self.column + 1, self.index
                while self.peek() not in "\0\r\n\x85\u2028\u2029":
                    self.forward()
                self.comments.append((line, col, self.buffer[start + 1:self.index]))
            if self.scan_line_break():
                if not self.flow_level:
                    self.allow_simple_key = True
            else:
                found = True


def compose(text: str, *, comments: bool) -> tuple[list[Node], list[Comment]]:
    """Every document's node, and (when asked) every comment; ParseError where the text is not YAML."""
    if not (comments and "#" in text) and "\t" not in text and text.isascii():
        # No comment to record (a comment needs a `#`): libyaml composes the same nodes (plain scalars
        # have style "" there, None here) many times faster than the pure scanner. Tabs and non-ASCII
        # text (BOM, NEL, LS/PS breaks) are where the two disagree on what is valid (fuzzed): those, and
        # whatever libyaml refuses, stay with the pure loader below.
        loader_class = getattr(yaml, "CSafeLoader", None)
        if loader_class is not None:
            try:
                return _compose(loader_class(text)), []
            except ParseError:
                pass
    loader = _CommentLoader(text)
    nodes = _compose(loader)
    lines = text.splitlines()
    found = []
    if comments:
        for line, col, body in loader.comments:
            before = lines[line - 1][: col - 1] if line - 1 < len(lines) else ""
            found.append((line, col, body, bool(before.strip())))
    return nodes, found


def _compose(loader: Any) -> list[Node]:
    """Every document's node from a loader (disposed after)."""
    try:
        nodes = []
        while loader.check_node():
            nodes.append(loader.get_node())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or "not YAML"
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise ParseError(f"invalid YAML: {problem}", line, col) from None
    except RecursionError:
        raise ParseError("YAML nesting too deep") from None
    finally:
        loader.dispose()
    return nodes
