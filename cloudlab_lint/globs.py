"""Path globs as in .cloudlab-lint.yaml: `*` and `?` stay in one folder, `**` crosses folders."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    pattern = pattern.lstrip("/")
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(c))
            i += 1
    # A folder pattern ("archive/**" or "archive") also covers what lies below it.
    return re.compile("".join(out) + "(?:/.*)?$", re.S)


def match_any(path: str, patterns: tuple[str, ...] | list[str]) -> bool:
    return any(compile_glob(p).match(path) for p in patterns)
