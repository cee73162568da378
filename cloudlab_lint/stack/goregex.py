"""Regexes from the repository, run with RE2 (google-re2): linear time on any pattern and any text.

Three kinds of pattern come from files a pull request can change: `.sops.yaml` `path_regex` and the
SOPS metadata's `*_regex` keys (Go RE2, which SOPS matches with `regexp.MatchString`: an unanchored
search), detect-secrets baseline excludes (Python syntax), and rule parameters in the config. Python's
`re` backtracks: `^(a+)+$` on a 30-character name takes minutes. RE2 cannot backtrack, and refuses
syntax it cannot run in linear time (look-arounds, back-references) instead of running it slowly:
such a pattern is reported (`.sops.yaml`) or ignored with a note (a baseline exclude), never run.

C++ RE2 (what google-re2 binds) and Go's `regexp` share their syntax and semantics (`$` is the end of
the text without `(?m)`, inline flags hold to the end of their group, `[[:alpha:]]`, `\\Q...\\E`,
`(?P<n>)` and `(?<n>)`, leftmost-first matching). Where they differ we side with Go: `\\C` (any byte)
is C++ only, and Go refuses it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

MAX_MEM = 8 << 20  # RE2's default program budget: a pattern larger than this is refused, not run


class GoRegexError(ValueError):
    """The pattern is not valid RE2 (or uses syntax we refuse): the reason, never the whole pattern."""


def _options() -> Any:
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern on stderr
    options.max_mem = MAX_MEM
    return options


def _go_only(pattern: str) -> None:
    """Refuse what C++ RE2 accepts but Go's `regexp` does not."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            if pattern[i + 1] == "C":
                raise GoRegexError("invalid escape sequence: `\\C`")
            i += 2
            continue
        i += 1


class Pattern:
    """A compiled pattern; `search` takes any text, names that are not UTF-8 (kept as surrogates) too."""

    __slots__ = ("_regexp",)

    def __init__(self, regexp: Any) -> None:
        self._regexp = regexp

    def search(self, text: str) -> bool:
        return self._regexp.search(text.encode("utf-8", "surrogateescape")) is not None

    def match(self, text: str) -> bool:
        """Anchored at the start, as `re.match`."""
        return self._regexp.match(text.encode("utf-8", "surrogateescape")) is not None


@lru_cache(maxsize=256)
def compile_re2(pattern: str) -> Pattern:
    """`pattern` compiled by RE2 (for an unanchored `search`); GoRegexError when RE2 refuses it."""
    import re2

    if "\0" in pattern:
        raise GoRegexError("a NUL character in the pattern")
    try:
        return Pattern(re2.compile(pattern.encode("utf-8", "surrogateescape"), _options()))
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise GoRegexError(" ".join(str(reason).split())[:120]) from None


@lru_cache(maxsize=256)
def compile_go(pattern: str) -> Pattern:
    """A Go RE2 pattern compiled for `search` (Go's unanchored `MatchString`); GoRegexError when invalid."""
    _go_only(pattern)
    return compile_re2(pattern)
