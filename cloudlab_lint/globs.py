"""Path globs as in .cloudlab-lint.yaml: `*` and `?` stay in one folder, `**` crosses folders."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> Any:
    """A compiled glob with `.match(path)`. Globs come from the config, which a pull request can change: with two
    wildcards or more (`*a*a*a*b` backtracks in O(n^k) under `re`), the regex runs with RE2, in linear time; one
    wildcard cannot backtrack, and `re` spares a commit hook RE2's import."""
    regex = _translate(pattern)
    if pattern.replace("**", "*").count("*") + pattern.count("?") >= 2:  # `**` is one wildcard
        from .stack.goregex import compile_re2

        return compile_re2(f"(?s){regex}$")  # RE2's `$`: the end of the text
    return re.compile(regex + r"\Z", re.S)  # not `$`, which also matches before a final newline


def _translate(pattern: str) -> str:
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
    return "".join(out) + "(?:/.*)?"


_WILD = frozenset("*?[")


@lru_cache(maxsize=512)
def glob_test(pattern: str) -> Callable[[str], bool]:
    """`compile_glob(pattern)` as a test of a path, with the same answers. The common shapes (a plain path, `**`,
    `**/NAME`, `**/*SUFFIX`, `FOLDER/**`) are plain string tests: a commit hook asks a few dozen patterns, and
    compiling each as a regex would cost more than the asking."""
    body = pattern.lstrip("/")
    if body == "**":
        return lambda path: True
    if not _WILD.intersection(body):
        return lambda path: path == body or path.startswith(body + "/")
    if body.startswith("**/") and "/" not in body[3:]:
        tail = body[3:]
        if not _WILD.intersection(tail):  # some component is NAME (what follows it is inside it)
            return lambda path: tail in path.split("/")
        if tail.startswith("*") and not _WILD.intersection(tail[1:]):  # some component ends with SUFFIX
            suffix = tail[1:]
            return lambda path: any(part.endswith(suffix) for part in path.split("/"))
    if body.endswith("/**") and not _WILD.intersection(body[:-3]):
        prefix = body[:-3] + "/"
        return lambda path: path.startswith(prefix)
    compiled = compile_glob(pattern)
    return lambda path: bool(compiled.match(path))  # RE2 patterns answer a bool, `re` a match or None


def match_any(path: str, patterns: tuple[str, ...] | list[str]) -> bool:
    return any(glob_test(p)(path) for p in patterns)
