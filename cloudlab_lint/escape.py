"""Repository text (file names, object names, messages that quote them) made inert for each output language.

A file name or a `dependsOn` name comes from whoever wrote the pull request. Printed raw it could drive a
terminal (escape sequences), forge lines (a newline), close a Markdown code span or a Mermaid fence and inject
headings and links, or change what a SARIF URI points at (`#`, `%`, `?`). Each function here keeps the text
readable and makes every character of it mean itself.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# What gives Markdown text a meaning anywhere in a line (the text is never at the start of one: a table cell,
# after a label): code spans, emphasis, links and images (`]` and `[`), HTML, cell breaks, strikethrough,
# entities, GitHub's math (`$`), mentions and autolinks (`@`, `:` of `scheme://`, the dot of `www.`).
_MARKDOWN = re.compile(r"[\\`*_{}\[\]<>|~:@&$^]|(?<=[wW]{3})\.")
_MERMAID = re.compile(r"[^A-Za-z0-9 _./:@+=-]")


def printable(text: str) -> str:
    """Control characters as escapes (`\\n`, `\\x1b`): they must not forge lines or drive a terminal."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def printable_lines(text: str) -> str:
    """`printable` for multi-line output of our own making (help texts): newlines kept, the rest escaped."""
    return _CONTROL_BUT_NEWLINE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def markdown_text(text: str) -> str:
    """Literal text in Markdown (a table cell, a quote): no code span, link, tag, heading or row break."""
    return _MARKDOWN.sub(lambda m: "\\" + m.group(), printable(text))


def mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label `["..."]`: anything but plain characters as `#<code>;` entities,
    so no quote, bracket, newline, backtick or `<` reaches Mermaid (or the Markdown fence around it)."""
    return _MERMAID.sub(lambda m: f"#{ord(m.group())};", printable(text))


def dot_text(text: str) -> str:
    """Text inside a quoted Graphviz string."""
    return printable(text).replace("\\", "\\\\").replace('"', '\\"')


def uri_path(path: str) -> str:
    """A repository-relative path as an RFC 3986 relative reference: every byte but unreserved ones and `/`
    percent-encoded (`a#b` is not a fragment, `%41` is not `A`, a name that is not UTF-8 keeps its bytes)."""
    from urllib.parse import quote  # here: a text report (a commit hook) need not import it

    return quote(path.encode("utf-8", "surrogateescape"), safe="/")
