"""Which history blobs need their content tested: those that hold a keyword of any test, or may be a Secret.

Every keyword lies within one line. An earlier version of this module tested
only the lines a blob adds to history (a set of clean lines, and the common
prefix and suffix with the last clean version at the same path); it flagged
exactly the blobs that hold a keyword anywhere (a blob was only ever compared
with versions that hold none), so one RE2 search over the whole blob gives the
same answer, at several hundred MB/s, without splitting lines or hashing them.
A flagged blob is judged whole (its context matters: `kind: Config`, `users:`,
a PEM body).

On two or more cores a forked process can read and filter a share of the
blobs from its own `git cat-file`, and return the few it flags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import IO, Any

from .. import linear
from .kinds import may_be_kind_value_bytes
from .textstream import normalise


def secret_kind(data: bytes) -> bool:
    """Whether the blob may hold a Kubernetes Secret with `data` or `stringData` (what CL004 judges by its
    content): its kind where it may be a `kind` key's value (a List item, flow style, JSON) or an escape
    that could spell it (`kinds.may_be_kind_value_bytes`, never less complete than the parser), and either
    key's name or an escape. Whether it is one is the parse's to say (`- kind: Secret` under valuesFrom is
    a reference)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return may_be_kind_value_bytes(data)
    # Most blobs hold neither the name nor an escape: one `in` each settles them.
    escaped = b"\\" in data
    if not escaped and b"Secret" not in data:
        return False
    return (escaped or b"data" in data or b"Data" in data) and may_be_kind_value_bytes(data)


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


class NoveltyFilter:
    """Whether a blob's content needs the detectors: it holds a keyword of any test, or may be a Secret.

    One RE2 search over the whole blob (a DFA over literals: several hundred MB/s). Line-level novelty
    (testing only the lines a blob adds to its previous version) flags exactly the same blobs, since every
    keyword lies within one line and a blob is only ever compared with versions that hold none, but its
    line splitting and set lookups cost several times the search they save.

    `keywords` and `patterns` are what the detectors need; `judge` what only the tests on the whole blob
    need (CL002's content hints, `sops`): a blob that holds one of those and none of the detectors' needs
    its content judged but not scanned (`sort`)."""

    def __init__(self, keywords: Iterable[bytes], patterns: Iterable[re.Pattern[bytes]], always: bool,
                 judge: Iterable[bytes] = ()) -> None:
        self.keywords = tuple(dict.fromkeys(keywords))
        self.patterns = tuple(patterns)
        self.judge = tuple(dict.fromkeys(judge))
        self.always = always  # a plugin without keywords: every blob is tested
        # One search for everything: the keywords and the patterns. Whether a blob may hold a Secret is asked
        # of the whole blob too (`secret_kind`: a List's `items` may be far from the Secret's lines).
        self.regex = keyword_regex((*self.keywords, *self.judge), self.patterns)
        self._search = self.regex.search
        # When the search stops at a word only the judge needs, whether the detectors need anything further on.
        self._judge_only = frozenset(self.judge) - frozenset(self.keywords)
        self._detect = keyword_regex(self.keywords, self.patterns).search if self._judge_only else None

    def flagged(self, data: bytes, path: str | None = None) -> bool:
        """Whether the blob needs its content tested (`path`: a path it has, when known; not needed)."""
        return self.always or self._search(data) is not None or secret_kind(data)

    def sort(self, data: bytes) -> int:
        """What a text blob needs: DETECT (the detectors and the judge), JUDGE (the judge only: no
        detector can find anything in it) or 0 (nothing: its paths alone are judged)."""
        if self.always:
            return DETECT
        found = self._search(data)
        if found is None:
            return JUDGE if secret_kind(data) else 0
        if self._detect is None or found.group() not in self._judge_only:
            return DETECT
        # The leftmost match is a judge's word: a detector's keyword may come later (never earlier).
        return DETECT if self._detect(data, found.start()) is not None else JUDGE

    def holds_keyword(self, data: bytes) -> bool:
        """Whether a binary blob holds any keyword at all (no `kind:` test: binary is never a manifest)."""
        return self.always or self._search(data) is not None or data.startswith(b"kind: Secret")


DETECT, JUDGE = 2, 1


def take(oid: str, data: Any, size: int, path: str | None, filt: NoveltyFilter, scan_stream: Any,
         kinds: dict[str, tuple[str, int]], flagged: dict[str, bytes], streamed: dict[str, Any],
         judged: set[str] | None = None) -> None:
    """Sort one blob as it streams: its kind, and whether its content needs testing (kept in `flagged`,
    normalised: UTF-16 decoded, CRLF as LF). A blob over the size limit comes as chunks (`data` is not
    bytes): `scan_stream` scans them at once (bounded memory) and its result is kept in `streamed`, as
    for a binary blob that holds a keyword. `judged`: where to note the flagged blobs in which no detector
    can find anything (the caller need not scan them); without it, every flagged blob may hold a find."""
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
    need = filt.sort(data)
    if need:
        flagged[oid] = data
        if need == JUDGE and judged is not None:
            judged.add(oid)


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
