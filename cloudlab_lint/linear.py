"""Regular expressions that run in linear time: RE2 (`google-re2`), never a backtracking engine.

Every pattern our secret detectors run over repository text goes through `compile`: a pattern that needs
backtracking (look-arounds, back-references) is refused when it is compiled (`re2.error`), never run slowly.
RE2's own error log is switched off: an error is raised, not printed.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

error = re2.error
Pattern = Any  # re2's compiled pattern: `search`, `finditer`, `match`, `pattern` like `re.Pattern`

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.max_mem = 64 << 20  # the default 8 MiB is too little for the wider alternations; still bounded
# Bytes patterns see bytes as Latin-1: every byte is one character, so `.` and `[^\n]` match any byte of a
# binary file or of invalid UTF-8 (in UTF-8 mode they would not match such bytes at all).
_BYTES = re2.Options()
_BYTES.log_errors = False
_BYTES.max_mem = 64 << 20
_BYTES.encoding = re2.Options.Encoding.LATIN1


@functools.cache
def compile(pattern: str | bytes) -> Pattern:  # noqa: A001 - the `re` name, on purpose
    """`pattern` compiled by RE2 (raises `re2.error` on syntax RE2 cannot run in linear time). A bytes
    pattern matches bytes (Latin-1), a str pattern str (UTF-8)."""
    return re2.compile(pattern, _BYTES if isinstance(pattern, bytes) else _OPTIONS)


def escape(literal: bytes) -> bytes:
    """`literal` as an RE2 pattern that matches exactly it."""
    return b"".join(b"\\x%02x" % c if not (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) else bytes((c,))
                    for c in literal)


class Lazy:
    """A pattern compiled by RE2 on its first use: a run that never needs it (most commit hooks, for most
    patterns) never pays for compiling it."""

    __slots__ = ("pattern", "_compiled")

    def __init__(self, pattern: str | bytes) -> None:
        self.pattern = pattern
        self._compiled: Pattern | None = None

    def compiled(self) -> Pattern:
        if self._compiled is None:
            self._compiled = compile(self.pattern)
        return self._compiled

    def search(self, text: Any, *bounds: int) -> Any:
        return self.compiled().search(text, *bounds)

    def finditer(self, text: Any, *bounds: int) -> Any:
        return self.compiled().finditer(text, *bounds)


def lazy(pattern: str | bytes) -> Lazy:
    return Lazy(pattern)


class Literals:
    """Which of some byte literals occur in a text, in one pass (RE2::Set, overlapping occurrences included)
    instead of one `in` test per literal: several times faster over the texts the detectors read. Compiled
    on first use."""

    __slots__ = ("words", "_set")

    def __init__(self, words: tuple[bytes, ...]) -> None:
        self.words = tuple(dict.fromkeys(words))
        self._set: Any = None

    def present(self, data: bytes) -> frozenset[bytes]:
        if self._set is None:
            found = re2.Set.SearchSet(_BYTES)
            for word in self.words:
                found.Add(escape(word))
            found.Compile()
            self._set = found
        indices = self._set.Match(data)
        return frozenset(self.words[i] for i in indices) if indices else frozenset()
