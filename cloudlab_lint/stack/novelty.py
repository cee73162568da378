"""Which history blobs need their content tested: only lines new to history can hold a new keyword.

Successive versions of a file share most of their lines. A line that was seen
holding no keyword of any test is clean, and a later blob is tested only on its
other lines (the saving a diff-based scanner gets, without diffs). Every keyword
lies within one line, so a blob whose new lines hold none holds none at all. A
blob that does is judged whole (its context matters: `kind: Config`, `users:`, a
PEM body).

Two sources of clean lines: the last clean version of the same path (its
common prefix and suffix with the new version are found with a few
comparisons in C, no line is split or hashed there), and a set of every clean
line seen (for the lines in between, and blobs whose path is not known yet).

On two or more cores a forked process can read and filter a share of the
blobs from its own `git cat-file`, and return the few it flags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import IO, Any

MAX_CLEAN_LINES = 2_000_000  # bounds memory on huge histories; past it, fewer lines are skipped
MAX_REFERENCE_BYTES = 256 << 20  # clean blobs kept as references, at most
HEAD_BYTES = 128  # a blob's first bytes: a reference for it before its path is known
_STEP = 64  # the common prefix and suffix are found to within this many bytes (then cut back to a line)


def secret_kind(data: bytes) -> bool:
    """A Kubernetes Secret (top-level `kind`): its literal data makes its path one that must be encrypted.
    Only top-level: `- kind: Secret` under valuesFrom is a reference."""
    return (b"\nkind: Secret" in data or data.startswith(b"kind: Secret") or b'"kind": "Secret"' in data
            or b'"kind":"Secret"' in data)


def keyword_regex(keywords: Iterable[bytes], patterns: Iterable[re.Pattern[bytes]] = ()) -> re.Pattern[bytes]:
    """One pattern that finds any of `keywords` or `patterns`: the keywords as a trie (branches by first
    byte), which sre tries in a few byte tests per position instead of one per keyword (about 2.5x faster
    than a flat alternation). A keyword that holds another one is left out: finding the shorter one
    suffices. `patterns` must use default flags (see NoveltyFilter)."""
    words = sorted(set(keywords))
    words = [w for w in words if w and not any(o != w and o in w for o in words)]
    branches = ([_trie(words)] if words else []) + [p.pattern for p in patterns]
    return re.compile(b"|".join(branches) if branches else b"(?!)")


def _trie(words: list[bytes]) -> bytes:
    """An alternation of `words` (none a prefix of another), branching on each next byte."""
    groups: dict[bytes, list[bytes]] = {}
    for word in words:
        groups.setdefault(word[:1], []).append(word[1:])
    return b"|".join(re.escape(first + tails[0]) if len(tails) == 1 else re.escape(first) + b"(?:" + _trie(tails) + b")"
                     for first, tails in groups.items())


def common_prefix(a: bytes, b: bytes) -> int:
    """A length n with a[:n] == b[:n], at most _STEP bytes short of the longest (a binary search over
    slices: each comparison is one memcmp)."""
    high = min(len(a), len(b))
    if a[:high] == b[:high]:
        return high
    low = 0
    while high - low > _STEP:
        mid = (low + high) >> 1
        if a[low:mid] == b[low:mid]:
            low = mid
        else:
            high = mid
    return low


def common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """A length n <= limit with a[-n:] == b[-n:] (n may be 0), at most _STEP bytes short of the longest."""
    la, lb = len(a), len(b)
    high = min(la, lb, limit)
    if high <= 0:
        return 0
    if a[la - high:] == b[lb - high:]:
        return high
    low = 0
    while high - low > _STEP:
        mid = (low + high) >> 1
        if a[la - mid:la - low] == b[lb - mid:lb - low]:
            low = mid
        else:
            high = mid
    return low


def changed_span(data: bytes, ref: bytes) -> tuple[int, int]:
    """(start, end): the whole lines of `data` between its common prefix and suffix of whole lines with `ref`.

    Every line outside it is a line of `ref` (same text, also starting a line there): the prefix ends with a
    newline inside the common prefix, and the suffix starts after a newline inside the common suffix."""
    start = data.rfind(b"\n", 0, common_prefix(data, ref)) + 1
    suffix = common_suffix(data, ref, min(len(data), len(ref)) - start)
    end = len(data)
    if suffix:
        newline = data.find(b"\n", end - suffix)
        if newline >= 0:
            end = newline + 1
    return start, max(start, end)


class NoveltyFilter:
    def __init__(self, keywords: Iterable[bytes], patterns: Iterable[re.Pattern[bytes]], always: bool) -> None:
        self.keywords = tuple(dict.fromkeys(keywords))
        self.patterns = tuple(patterns)
        self.always = always  # a plugin without keywords: every blob is tested
        # One search for everything: the keywords, secret_kind's literals (its start-of-text case is tested
        # apart) and the patterns; a pattern with flags or groups of its own (a backreference would count
        # groups differently in the alternation) is searched apart.
        plain = re.compile(b"").flags
        merged = [p for p in self.patterns if p.flags == plain and not p.groups]
        literals = (*self.keywords, b"\nkind: Secret", b'"kind": "Secret"', b'"kind":"Secret"')
        try:
            self.regex = keyword_regex(literals, merged)
        except re.error:  # a pattern that cannot be part of an alternation (inline global flags)
            self.regex, merged = keyword_regex(literals), []
        self.apart = tuple(p for p in self.patterns if p not in merged)
        self.clean: set[bytes] = set()
        # The last version that was not flagged, by path, or by its first bytes before the walk has named
        # the paths (a file's versions mostly share their head). Any clean blob is a valid reference: these
        # only choose one that shares many lines.
        self.by_path: dict[str, bytes] = {}
        self.by_head: dict[bytes, bytes] = {}
        self.kept = 0

    def flagged(self, data: bytes, path: str | None = None) -> bool:
        """Whether the blob needs its content tested; remembers its lines as clean when not.
        `path`: a path the blob has, when known."""
        if self.always:
            return True
        head = b""
        ref = self.by_path.get(path) if path is not None else None
        if ref is None:
            head = data[:HEAD_BYTES]
            ref = self.by_head.get(head)
        if ref is None:
            body = data
        else:
            start, end = changed_span(data, ref)
            body = data[start:end]
        clean = self.clean
        lines = body.split(b"\n")
        new = [line for line in lines if line not in clean]
        chunk = body if len(new) == len(lines) else b"\n".join(new)
        if self.regex.search(chunk) or chunk.startswith(b"kind: Secret"):
            return True
        for pattern in self.apart:
            if pattern.search(chunk):
                return True
        if len(clean) < MAX_CLEAN_LINES:
            clean.update(new)  # none of these lines holds a keyword
        refs, key = (self.by_path, path) if path is not None else (self.by_head, head)
        grown = len(data) - len(refs.get(key, b""))
        if self.kept + grown <= MAX_REFERENCE_BYTES:
            refs[key] = data
            self.kept += grown
        return False


class Helper:
    """A forked process that reads its share of the blobs from its own `git cat-file` and filters them
    (fork it before any thread exists: see BlobStreams)."""

    def __init__(self, filt: NoveltyFilter, out: IO[bytes], foreign: list[IO[bytes]], max_bytes: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe(duplex=False)
        self.process = context.Process(target=_serve, args=(child, filt, out, foreign, max_bytes), daemon=True)
        self.process.start()
        child.close()

    def finish(self) -> tuple[dict[str, tuple[str, int]], dict[str, bytes]]:
        """({oid: (kind, size)} of every blob it read, {oid: bytes} of the text blobs that need content tests)."""
        try:
            kinds, flagged = self.conn.recv()
        except EOFError:
            raise RuntimeError("the history helper process failed: its share of the blobs was not scanned") from None
        finally:
            self.conn.close()
            self.process.join()
        return kinds, flagged

    def abort(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


def _serve(conn: Any, filt: NoveltyFilter, out: IO[bytes], foreign: list[IO[bytes]], max_bytes: int) -> None:
    from ..repo import is_binary
    from .history import read_stream

    for end in foreign:
        end.close()
    kinds: dict[str, tuple[str, int]] = {}
    flagged: dict[str, bytes] = {}
    for oid, data, size in read_stream(out, max_bytes):
        if data is None:
            kinds[oid] = ("oversize", size)
        elif data.find(b"\0", 0, 8000) >= 0 and is_binary(data):  # the find spares most blobs a copy
            kinds[oid] = ("binary", size)
        else:
            kinds[oid] = ("text", size)
            if filt.flagged(data):
                flagged[oid] = data
    out.close()
    conn.send((kinds, flagged))
    conn.close()
