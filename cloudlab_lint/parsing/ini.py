"""INI as SOPS reads it (go-ini): `[section]` headers, `key = value` or `key: value`, `;` and `#` comment
lines, values in quotes or backticks, and `\"\"\"` values over several lines.

The result is the file's events in order, each with its line: a comment is placed where go-ini keeps it,
so a reader can rebuild which comments precede which key (SOPS encrypts comments too).
"""

from __future__ import annotations

import re

from ..record import record
from . import ParseError

_SECTION = re.compile(r"^\s*\[(.*)\]\s*$")


@record
class Event:
    kind: str  # section, key, comment (before a key, or at the end) or topcomment (just before a header)
    line: int  # 0 for the implicit DEFAULT section that every file starts in
    name: str  # the section's or the key's name ("" for comments)
    value: str  # the key's value (unquoted) or the comment's text after `;`/`#`


def events(text: str, *, lenient: bool = False) -> list[Event]:
    """The file's sections, keys and comments in order, starting with the implicit DEFAULT section.

    A line that is no header, key or comment, and a `\"\"\"` value never closed, are errors (go-ini refuses
    the file), or read on when `lenient`: the line is skipped, the value runs to the end of the file.
    """
    lines = text.splitlines()
    out = [Event("section", 0, "DEFAULT", "")]
    pending: list[tuple[int, str]] = []  # comments not yet placed: a header or a key decides whose they are
    i = 0
    while i < len(lines):
        number, raw = i + 1, lines[i]
        stripped = raw.strip()
        i += 1
        if not stripped:
            continue
        if stripped[0] in ";#":
            pending.append((number, stripped[1:]))
            continue
        header = _SECTION.match(raw)
        if header:
            out += [Event("topcomment", n, "", c) for n, c in pending]
            pending = []
            out.append(Event("section", number, header.group(1).strip(), ""))
            continue
        cut = min((p for p in (raw.find("="), raw.find(":")) if p >= 0), default=-1)
        if cut < 0:
            if lenient:
                continue
            raise ParseError("invalid INI: a line that is no `[section]`, `key = value` or comment", number)
        key, value = raw[:cut].strip(), raw[cut + 1:].strip()
        if value.startswith('"""'):
            body = [value[3:]]
            while not body[-1].endswith('"""') and i < len(lines):
                body.append(lines[i])
                i += 1
            value = "\n".join(body)
            if body[-1].endswith('"""'):
                value = value[:-3]
            elif not lenient:
                raise ParseError('invalid INI: a `"""` value that is never closed', number)
        elif len(value) >= 2 and value[0] == value[-1] and value[0] in "\"`":
            value = value[1:-1]
        out += [Event("comment", n, "", c) for n, c in pending]
        pending = []
        out.append(Event("key", number, key, value))
    out += [Event("comment", n, "", c) for n, c in pending]
    return out
