"""dotenv as SOPS reads and writes it: one `KEY=value` a line, `#` lines are comments.

SOPS' dialect (stores/dotenv): the text is split on `\\n`, empty lines are skipped, the first `=` splits
key from value, and nothing is trimmed, unquoted or expanded (no `export`, no quotes).
"""

from __future__ import annotations

from ..record import record
from . import ParseError


@record
class Entry:
    line: int
    key: str | None  # None: a comment line
    value: str  # a comment's text after the `#`


def parse(text: str, *, lenient: bool = False) -> list[Entry]:
    """Every entry and comment in file order. A line with no `=` is an error (SOPS refuses the file), or
    skipped when `lenient` (a linter judges the rest)."""
    out = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("#"):
            out.append(Entry(number, None, line[1:]))
            continue
        if "=" not in line:
            if lenient:
                continue
            raise ParseError("invalid dotenv: a line without `=`", number)
        key, value = line.split("=", 1)
        out.append(Entry(number, key, value))
    return out
