"""Go RE2 regexes (as `.sops.yaml` and SOPS metadata hold them) run with Python's `re`.

SOPS matches with Go's `regexp` (RE2 syntax, unanchored search). Python's `re`
differs where it matters here:
- an inline flag group such as `(?i)` in the middle of a pattern scopes to the
  end of the enclosing group in Go, but is an error in Python 3.11+: we turn it
  into a scoped group `(?i:...)` that closes where Go's scope ends;
- `$` without `(?m)` means end of text in Go (Python also matches before a
  final newline): `\\Z`; `\\z` is Python's `\\Z`;
- `(?<name>...)` is `(?P<name>...)` in Python; POSIX classes `[[:alpha:]]` exist
  only in RE2;
- look-arounds, back-references and possessive quantifiers are not RE2: SOPS
  refuses them, so we do too (a finding, not a silently different match).
"""

from __future__ import annotations

import re
from functools import lru_cache

POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ", "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~", "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}
_FLAGS = re.compile(r"\(\?([imsU]*)(?:-([imsU]*))?(\)|:)")


class GoRegexError(ValueError):
    """The pattern is not valid RE2 (or uses RE2 syntax we cannot run): the reason, never the pattern text."""


def _class(pattern: str, i: int) -> tuple[str, int]:
    """Copy a character class starting at `[` (index i); return its Python text and the index after `]`."""
    out = ["["]
    i += 1
    if i < len(pattern) and pattern[i] == "^":
        out.append("^")
        i += 1
    first = True
    while i < len(pattern):
        c = pattern[i]
        if c == "]" and not first:
            out.append("]")
            return "".join(out), i + 1
        if c == "]" and first:
            out.append("\\]")
        elif c == "\\":
            if i + 1 >= len(pattern):
                raise GoRegexError("trailing backslash")
            nxt = pattern[i + 1]
            if nxt in "pP":
                raise GoRegexError("Unicode classes (\\p) are not supported by this checker")
            out.append(pattern[i:i + 2])
            i += 1
        elif c == "[" and pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2:end] if end > 0 else ""
            negate = name.startswith("^")
            name = name.lstrip("^")
            if end < 0 or name not in POSIX:
                raise GoRegexError("invalid character class range")
            if negate:
                raise GoRegexError("negated POSIX classes are not supported by this checker")
            out.append(POSIX[name])
            i = end + 1
        elif c == "[":
            out.append("\\[")
        else:
            out.append(c)
        first = False
        i += 1
    raise GoRegexError("missing closing ]")


def translate(pattern: str) -> str:
    """The Python `re` text equivalent to a Go RE2 pattern; GoRegexError when RE2 would refuse it."""
    multiline = "m" in "".join(m.group(1) for m in _FLAGS.finditer(pattern))
    out: list[str] = []
    extra = [0]  # per open group: scoped-flag groups to close with it
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise GoRegexError("trailing backslash")
            nxt = pattern[i + 1]
            if nxt.isdigit() and nxt != "0":
                raise GoRegexError("back-references are not RE2")
            if nxt in "pP":
                raise GoRegexError("Unicode classes (\\p) are not supported by this checker")
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2:] if end < 0 else pattern[i + 2:end]
                out.append(re.escape(literal))
                i = n if end < 0 else end + 2
                continue
            out.append("\\Z" if nxt == "z" else pattern[i:i + 2])
            i += 2
            continue
        if c == "[":
            text, i = _class(pattern, i)
            out.append(text)
            continue
        if c == "(":
            if pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
                raise GoRegexError("look-arounds are not RE2")
            if pattern.startswith("(?<", i):
                out.append("(?P<")
                i += 3
                extra.append(0)
                continue
            m = _FLAGS.match(pattern, i)
            if m and (m.group(1) or m.group(2) is not None):
                on, off = m.group(1), m.group(2) or ""
                if "U" in on + off:
                    raise GoRegexError("the (?U) flag is not supported by this checker")
                flags = on + (f"-{off}" if off else "")
                if m.group(3) == ":":
                    out.append(f"(?{flags}:")
                    extra.append(0)
                else:
                    # Go: the flags hold to the end of the enclosing group.
                    out.append(f"(?{flags}:")
                    extra[-1] += 1
                i = m.end()
                continue
            if pattern.startswith("(?", i) and not pattern.startswith(("(?:", "(?P<"), i):
                raise GoRegexError("invalid or unsupported Perl syntax")
            out.append("(")
            extra.append(0)
            i += 1
            continue
        if c == ")":
            if len(extra) == 1:
                raise GoRegexError("unexpected )")
            out.append(")" * extra.pop() + ")")
            i += 1
            continue
        if c in "*+?}" and i + 1 < n and pattern[i + 1] in "*+":
            raise GoRegexError("invalid nested repetition operator")
        if c == "$" and not multiline:
            out.append("\\Z")
            i += 1
            continue
        out.append(c)
        i += 1
    if len(extra) != 1:
        raise GoRegexError("missing closing )")
    out.append(")" * extra[0])
    return "".join(out)


@lru_cache(maxsize=256)
def compile_go(pattern: str) -> re.Pattern[str]:
    """Compile a Go RE2 pattern for `search` (Go's unanchored `MatchString`); GoRegexError when invalid."""
    try:
        return re.compile(translate(pattern))
    except re.error as exc:
        raise GoRegexError(exc.msg) from None
