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

Every search here is one RE2 alternation (linear time; a DFA over literals is
also many times faster than Python's `re` on them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import IO, Any

from .. import linear
from .kinds import may_name_kind_bytes
from .textstream import normalise

MAX_CLEAN_LINES = 2_000_000  # bounds memory on huge histories; past it, fewer lines are skipped
MAX_REFERENCE_BYTES = 256 << 20  # clean blobs kept as references, at most
HEAD_BYTES = 128  # a blob's first bytes: a reference for it before its path is known
_STEP = 64  # the common prefix and suffix are found to within this many bytes (then cut back to a line)


def secret_kind(data: bytes) -> bool:
    """Whether the blob may hold a Kubernetes Secret: the kind anywhere (a List item, flow style, JSON) or
    an escape that could spell it (`kinds.may_name_kind_bytes`, never less complete than the parser).
    Whether it is one is the parse's to say (`- kind: Secret` under valuesFrom is a reference)."""
    return may_name_kind_bytes(data)


def keyword_regex(keywords: Iterable[bytes], patterns: Iterable[Any] = ()) -> linear.Pattern:
    """One RE2 pattern that finds any of `keywords` or `patterns` (RE2 or `re` patterns over bytes; a
    pattern's own flags stay its own; one RE2 cannot run is an error). A keyword that holds another one is
    left out: finding the shorter one suffices."""
    words = sorted(set(keywords))
    words = [w for w in words if w and not any(o != w and o in w for o in words)]
    branches = [linear.escape(w) for w in words] + [_scoped(p) for p in patterns]
    return linear.compile(b"|".join(branches) if branches else rb"[^\x00-\xff]")


def _scoped(pattern: Any) -> bytes:
    """A pattern's text as a group of the alternation, with its `re` flags (if any) inside the group."""
    text = pattern.pattern
    flags = getattr(pattern, "flags", 0) if isinstance(pattern, re.Pattern) else 0
    inline = ("i" if flags & re.IGNORECASE else "") + ("s" if flags & re.DOTALL else "") + (
        "m" if flags & re.MULTILINE else "")
    return b"(?" + inline.encode() + b":" + text + b")"


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
        # One search for everything: the keywords and the patterns. Whether a blob may hold a Secret is asked
        # of the whole blob first (`secret_kind`: a List's `items` may be far from the Secret's lines).
        self.regex = keyword_regex(self.keywords, self.patterns)
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
        if self.always or secret_kind(data):
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
        if self.regex.search(chunk):
            return True
        if len(clean) < MAX_CLEAN_LINES:
            clean.update(new)  # none of these lines holds a keyword
        refs, key = (self.by_path, path) if path is not None else (self.by_head, head)
        grown = len(data) - len(refs.get(key, b""))
        if self.kept + grown <= MAX_REFERENCE_BYTES:
            refs[key] = data
            self.kept += grown
        return False


    def holds_keyword(self, data: bytes) -> bool:
        """Whether a blob (binary: no lines to compare or remember) holds any keyword at all."""
        return self.always or self.regex.search(data) is not None or data.startswith(b"kind: Secret")


def take(oid: str, data: Any, size: int, path: str | None, filt: NoveltyFilter, scan_stream: Any,
         kinds: dict[str, tuple[str, int]], flagged: dict[str, bytes], streamed: dict[str, Any]) -> None:
    """Sort one blob as it streams: its kind, and whether its content needs testing (kept in `flagged`,
    normalised: UTF-16 decoded, CRLF as LF). A blob over the size limit comes as chunks (`data` is not
    bytes): `scan_stream` scans them at once (bounded memory) and its result is kept in `streamed`, as
    for a binary blob that holds a keyword."""
    if not isinstance(data, bytes):
        kinds[oid] = ("oversize", size)
        streamed[oid] = scan_stream(data)
        return
    data, binary = normalise(data)
    if binary:  # scanned for keys and tokens all the same, at once (not kept: no lines to compare either)
        kinds[oid] = ("binary", size)
        if filt.holds_keyword(data):
            streamed[oid] = scan_stream((data,))
        return
    kinds[oid] = ("text", size)
    if filt.flagged(data, path):
        flagged[oid] = data


class Helper:
    """A forked process that reads its share of the blobs from its own `git cat-file` and filters them
    (fork it before any thread exists: see BlobStreams)."""

    def __init__(self, filt: NoveltyFilter, out: IO[bytes], foreign: list[IO[bytes]], max_bytes: int,
                 scan_stream: Any) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe(duplex=False)
        self.process = context.Process(target=_serve, args=(child, filt, out, foreign, max_bytes, scan_stream),
                                       daemon=True)
        self.process.start()
        child.close()

    def finish(self) -> tuple[dict[str, tuple[str, int]], dict[str, bytes], dict[str, Any]]:
        """({oid: (kind, size)} of every blob it read, {oid: bytes} of the blobs that need content tests,
        {oid: scan} of the blobs over the size limit)."""
        try:
            kinds, flagged, streamed = self.conn.recv()
        except EOFError:
            raise RuntimeError("the history helper process failed: its share of the blobs was not scanned") from None
        finally:
            self.conn.close()
            self.process.join()
        return kinds, flagged, streamed

    def abort(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


def _serve(conn: Any, filt: NoveltyFilter, out: IO[bytes], foreign: list[IO[bytes]], max_bytes: int,
           scan_stream: Any) -> None:
    from .history import read_stream

    for end in foreign:
        end.close()
    kinds: dict[str, tuple[str, int]] = {}
    flagged: dict[str, bytes] = {}
    streamed: dict[str, Any] = {}
    for oid, data, size in read_stream(out, max_bytes, stream=True):
        take(oid, data, size, None, filt, scan_stream, kinds, flagged, streamed)
    out.close()
    conn.send((kinds, flagged, streamed))
    conn.close()
