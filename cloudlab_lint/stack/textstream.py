"""What the secret detectors read: every byte of a file, normalised, in bounded windows.

- Encoding: UTF-16 (LE or BE, with a BOM, or without one where its first 8,000 bytes are plainly UTF-16:
  a NUL in nearly every other byte) is decoded and UTF-8 with a BOM loses its BOM; the detectors see
  UTF-8. Any other file with a NUL byte in its first 8,000 bytes (git's own test) is binary: its raw bytes
  are scanned all the same (a key or token pattern is ASCII wherever it sits).
- Line endings: CRLF and a lone CR become LF, so a pattern written for LF lines matches; a line keeps its
  number (YAML, editors and `str.splitlines` count a lone CR as a line break too).
- Size: content arrives in chunks and is scanned in windows of at most WINDOW bytes that overlap by OVERLAP
  bytes, cut at line starts: memory stays bounded whatever the size, and a match that starts before a
  window's end and is at most OVERLAP long is found whole (in the window it starts in, only there).
"""

from __future__ import annotations

import bisect
import codecs
from collections.abc import Iterable, Iterator

from ..record import record

SNIFF = 8000  # git's binary test looks at this many bytes
WINDOW = 4 << 20
OVERLAP = 64 << 10
_BOM16 = (b"\xff\xfe", b"\xfe\xff")
_BOM8 = b"\xef\xbb\xbf"


@record
class Window:
    """Normalised bytes of one part of a file. Matches starting in [start, end) belong to this window."""

    data: bytes
    line: int  # the line number of data[0]
    start: int
    end: int
    binary: bool
    whole: bool  # the window is the whole file


class LineIndex:
    """Where the lines of a window's bytes start, found once on first use: each hit's line and bounds then cost
    a binary search. Looking them up per hit (`rfind` back to the line's start, `count` from the buffer's start)
    made a scan quadratic on a vendored file with a keyword every few hundred bytes, or on one long line."""

    __slots__ = ("data", "_newlines")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._newlines: list[int] | None = None

    def _all(self) -> list[int]:
        if self._newlines is None:
            data, found = self.data, []
            at = data.find(b"\n")
            while at >= 0:
                found.append(at)
                at = data.find(b"\n", at + 1)
            self._newlines = found
        return self._newlines

    def before(self, offset: int) -> int:
        """How many newlines precede `offset` (its line number, counting from 0)."""
        return bisect.bisect_left(self._all(), offset)

    def bounds(self, offset: int) -> tuple[int, int]:
        """[begin, end) of the line holding `offset`, without its newline."""
        newlines = self._all()
        i = bisect.bisect_left(newlines, offset)
        return (newlines[i - 1] + 1 if i else 0), (newlines[i] if i < len(newlines) else len(self.data))


def kind_of(head: bytes) -> str:
    """"utf-16" (a BOM), "utf-16-le", "utf-16-be" (none), "utf-8-bom", "binary" or "text", from a file's
    first bytes (at least SNIFF of them, or all)."""
    if head.startswith(_BOM16):
        return "utf-16"
    if head.startswith(_BOM8):
        return "utf-8-bom"
    if head.find(b"\0", 0, SNIFF) >= 0:
        return _utf16_without_bom(head[:SNIFF]) or "binary"
    return "text"


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 of mostly ASCII text: a NUL in (nearly) every odd byte (LE) or every even byte (BE), few in the
    others."""
    head = head[: len(head) - len(head) % 2]
    if len(head) < 16:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2
    if odd >= 0.9 * half and even <= 0.1 * half:
        return "utf-16-le"
    if even >= 0.9 * half and odd <= 0.1 * half:
        return "utf-16-be"
    return None


def newlines(data: bytes) -> bytes:
    """CRLF and lone CR as LF."""
    if b"\r" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def normalise(data: bytes) -> tuple[bytes, bool]:
    """(what the detectors read of a whole file, whether it is binary)."""
    kind = kind_of(data)
    if kind.startswith("utf-16"):
        data = data.decode(kind, "replace").encode("utf-8", "surrogatepass")
    elif kind == "utf-8-bom":
        data = data[3:]
    return newlines(data), kind == "binary"


class Normaliser:
    """`normalise` for a file that arrives in chunks (a CR at a chunk's end waits for the next chunk)."""

    def __init__(self) -> None:
        self.kind: str | None = None
        self.binary = False
        self._head = b""
        self._decoder: codecs.IncrementalDecoder | None = None
        self._cr = False

    def feed(self, chunk: bytes) -> bytes:
        if self.kind is None:
            self._head += chunk
            if len(self._head) < SNIFF:
                return b""
            chunk, self._head = self._head, b""
            self._start(chunk)
        return self._lines(self._decode(chunk, False))

    def finish(self) -> bytes:
        out = b""
        if self.kind is None:
            chunk, self._head = self._head, b""
            self._start(chunk)
            out = self._decode(chunk, False)
        out += self._decode(b"", True)
        if self._cr:
            out += b"\r"
            self._cr = False
        return newlines(out)

    def _start(self, head: bytes) -> None:
        self.kind = kind_of(head)
        self.binary = self.kind == "binary"
        if self.kind.startswith("utf-16"):
            self._decoder = codecs.getincrementaldecoder(self.kind)("replace")

    def _decode(self, chunk: bytes, final: bool) -> bytes:
        if self._decoder is not None:
            return self._decoder.decode(chunk, final).encode("utf-8", "surrogatepass")
        if self.kind == "utf-8-bom":
            self.kind = "text"
            return chunk[3:]
        return chunk

    def _lines(self, data: bytes) -> bytes:
        if self._cr:
            data = b"\r" + data
            self._cr = False
        if data.endswith(b"\r"):
            data, self._cr = data[:-1], True
        return newlines(data)


def windows(chunks: Iterable[bytes], window: int = WINDOW, overlap: int = OVERLAP) -> Iterator[Window]:
    """The normalised content of a file in windows (see the module's docstring). One window for a file of at
    most `window` bytes."""
    norm = Normaliser()
    buf = b""
    line = 1
    start = 0
    first = True
    for piece in _pieces(chunks):
        buf += norm.feed(piece)
        while len(buf) >= window + overlap:
            # Cut at a line start in the window's second half (a file of one endless line: anywhere).
            end = buf.rfind(b"\n", window // 2, window) + 1 or window
            yield Window(buf[:end + overlap], line, start, end, norm.binary, False)
            first = False
            # The next window starts one line before the cut (the line before a match: the allowlist
            # pragma), at most `overlap` bytes before it.
            keep = max(buf.rfind(b"\n", 0, end - 1) + 1, end - overlap, 0)
            line += buf.count(b"\n", 0, keep)
            buf, start = buf[keep:], end - keep
    buf += norm.finish()
    yield Window(buf, line, start, len(buf), norm.binary, first)


def _pieces(chunks: Iterable[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """The chunks cut to at most `size` bytes, so that a whole file given as one chunk is not copied once per
    window."""
    for chunk in chunks:
        if len(chunk) <= size:
            yield chunk
        else:
            view = memoryview(chunk)
            for start in range(0, len(chunk), size):
                yield bytes(view[start:start + size])
