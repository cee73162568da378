"""Our own secret detectors: one keyword prefilter, then exact patterns, all under RE2 (linear time).

What homelab GitOps repositories leak: age secret keys, GitHub tokens, private
key blocks (also base64-encoded in a Secret's `data:`), kubeconfig and
talosconfig credentials, Talos machine secrets, Proxmox API tokens.

The prefilter is a few `in` tests and RE2 searches over raw bytes: a text that
holds none of its keywords cannot match any detector, and most texts hold none,
so the exact patterns (and the line arithmetic) run on few of them. Every
detector's pattern must therefore contain, or imply, one of the prefilter's
keywords.

Base64 (a Secret's `data:`, or any other base64 value): a keyword inside
base64-encoded bytes shows, whatever its offset in those bytes, as one of three
fixed strings (`b64_fragments`). A text holding one has its base64 runs that
hold one decoded, and the decoded bytes scanned by the same detectors; a
finding names the run's line.

The detectors read `textstream` windows: normalised bytes (UTF-16 decoded, CRLF
as LF, binary files as they are), so a file of any size is read in bounded
memory. Tests that need the whole file (`kind: Config` somewhere in a
kubeconfig) are settled when its last window has been read.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import codecs
import functools
from collections.abc import Iterable, Iterator
from typing import Any

from .. import linear
from ..record import record
from .textstream import LineIndex, Window, normalise, windows

BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_UUID = rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Values that are references, placeholders or ciphertext, never secrets.
_NOT_A_VALUE = linear.lazy(rb"""(?i)^["']?(?:\$\{|\{\{|<|ENC\[|\*\*\*|x{4,}|X{4,}|changeme|REDACTED|null|~|$)""")
MAX_DETECTIONS = 1000  # per file: past it, a note (a file of generated tokens must not flood the report)

# The prefilter: a text is scanned only if it holds one of these. Each entry: the detector it unlocks and a
# literal every match of that detector holds within one line.
_GH = linear.lazy(rb"gh[pousr]_|github_pat_")
_PVE = linear.lazy(rb"@[\w.-]+![\w.-]+[=:]")
KEYWORDS: tuple[tuple[str, bytes], ...] = (
    ("age-secret-key", b"AGE-SECRET-KEY-1"),
    ("private-key", b"PRIVATE KEY"),
    ("private-key-base64", b"LS0tLS1CRUdJTi"),
    ("kubeconfig-credential", b"users:"),
    ("talosconfig-credential", b"contexts:"),
    ("talos-machine-secret", b"token"),
    ("talos-machine-secret", b"ncryption"),
    ("proxmox-api-token", b"pm_api_token"),
)
# Literals at least one of which every possible match of any detector holds, each within one line.
KEYWORD_LITERALS: tuple[bytes, ...] = (*(k for _, k in KEYWORDS), b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_",
                                       b"github_pat_")
LINE_PATTERNS = (_PVE,)  # `@` alone is too common (image digests, e-mail)
# What a history blob must hold for any detector to find something in it (CL006's filter; the detectors
# themselves still screen with KEYWORD_LITERALS). `token` is in the values of nearly every HelmRelease, and
# the one detector it unlocks (Talos') reports a `token`/`bootstraptoken` key only with a Talos token's shape
# for value (`_TALOS_TOKEN`), and a `secret` key only with 40 or more characters of its class: those lines
# replace the word (`secretbox...`/`aescbc...` keys hold `ncryption`, still a literal; in base64, its
# fragments stay). Each pattern is looser than what it stands for (no line anchors, no quotes required).
FILTER_LITERALS: tuple[bytes, ...] = tuple(k for k in KEYWORD_LITERALS if k != b"token")
FILTER_PATTERNS = (*LINE_PATTERNS, linear.lazy(rb"token:[ \t]*[\"']?[a-z0-9]{6}\.[a-z0-9]{16}"),
                   linear.lazy(rb"secret:[ \t]*[\"']?[A-Za-z0-9+/=.]{40}"))
# The whole-file facts some detectors need (a kubeconfig is `kind: Config` with `clusters:`).
CONTEXT_WORDS: tuple[bytes, ...] = (b"users:", b"kind: Config", b"clusters:", b"crt:", b"ca:", b"contexts:",
                                    b"trustdinfo:", b"machine:")


def b64_fragments(keyword: bytes) -> tuple[bytes, ...]:
    """The three strings one of which the base64 encoding of any bytes holding `keyword` holds (one per
    offset of the keyword modulo 3: the characters whose six bits all come from the keyword)."""
    out = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + keyword)
        out.append(encoded[-(-8 * offset // 6): 8 * (offset + len(keyword)) // 6])
    return tuple(out)


# In base64, the keywords of every detector but Proxmox' (its token has no fixed literal but its prefix).
B64_KEYWORDS: tuple[bytes, ...] = (*(k for _, k in KEYWORDS if k != b"LS0tLS1CRUdJTi"), b"ghp_", b"gho_", b"ghu_",
                                   b"ghs_", b"ghr_", b"github_pat_", b"PVEAPIToken=", b"-----BEGIN")
B64_LITERALS: tuple[bytes, ...] = tuple(dict.fromkeys(f for k in B64_KEYWORDS for f in b64_fragments(k)))
_B64_FRAGMENT = linear.lazy(b"|".join(linear.escape(f) for f in B64_LITERALS))
_B64_RUN = linear.lazy(rb"[A-Za-z0-9+/]{16,}={0,2}")
MAX_B64_RUN = 1 << 20  # a longer run is decoded in its first MiB only (bounded work per run)


_AGE = b"AGE-SECRET-KEY-1"
_AGE_HINT = linear.lazy(b"|".join(linear.escape(k) for k in (_AGE, *b64_fragments(_AGE))))


def may_hold_age_key(data: bytes) -> bool:
    """Whether `data` may hold an age secret key, in clear or base64-encoded (the cheap test)."""
    return _AGE_HINT.search(data) is not None


# Whether any detector may match at all: one search settles most texts (none of the tests below can pass
# without a match of this).
_ANY = linear.lazy(b"|".join([*(linear.escape(k) for _, k in KEYWORDS), _GH.pattern, b"@", _B64_FRAGMENT.pattern]))


_KEYWORD_SET = linear.Literals(tuple(k for _, k in KEYWORDS))
_CONTEXT_SET = linear.Literals(CONTEXT_WORDS)


def candidates(data: bytes) -> set[str]:
    """Names of the detectors that may match `data` (empty for most texts); "base64" when a base64 run in
    it may encode a keyword."""
    if _ANY.search(data) is None:
        return set()
    present = _KEYWORD_SET.present(data)
    found = {name for name, keyword in KEYWORDS if keyword in present}
    if _GH.search(data):
        found.add("github-token")
    if b"!" in data and b"@" in data and _PVE.search(data):
        found.add("proxmox-api-token")
    if _B64_FRAGMENT.search(data):
        found.add("base64")
    return found


@record
class Detector:
    name: str
    title: str
    regex: bytes  # compiled on first use (`pattern`): the prefilter spares most runs most detectors
    group: int = 0  # the group holding the secret value
    verify: str | None = None  # name of an extra check on the value (see _value_ok, _context_ok)
    boundary: bool = False  # the value must not be followed by a word character

    @property
    def pattern(self) -> linear.Pattern:
        return linear.compile(self.regex)


@record
class Detection:
    detector: str
    title: str
    line: int
    column: int
    value: str  # internal only: for baseline hashes and de-duplication, never printed


# A YAML value: optional quotes, then anything but blanks, quotes and comments (references and
# placeholders are filtered after matching).
_VALUE = rb"""["']?([^\s"'#]+)["']?[ \t]*(?:#[^\n]*)?$"""

DETECTORS: tuple[Detector, ...] = (
    Detector("age-secret-key", "age secret key",
             rb"AGE-SECRET-KEY-1[" + BECH32.upper().encode() + rb"]{58}"),
    # RE2 has no look-behind: the character before the token is matched (not part of the value) and the one
    # after it is tested in Python (`boundary`).
    Detector("github-token", "GitHub token",
             rb"(?:^|[^A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})",
             group=1, boundary=True),
    Detector("kubeconfig-credential", "kubeconfig credential",
             rb"(?m)^[ \t-]*(?:client-key-data|token|password):[ \t]*" + _VALUE, group=1, verify="kubeconfig"),
    Detector("talosconfig-credential", "talosconfig client key",
             rb"(?m)^[ \t]*key:[ \t]*[\"']?([A-Za-z0-9+/]{40,}={0,2})[\"']?[ \t]*$", group=1,
             verify="talosconfig"),
    Detector("talos-machine-secret", "Talos machine secret",
             rb"(?m)^[ \t]*(?:secretboxencryptionsecret|secretboxEncryptionSecret|aescbcEncryptionSecret"
             rb"|aescbcencryptionsecret|bootstraptoken|token|secret):"
             rb"[ \t]*[\"']?([A-Za-z0-9+/=.]{16,})[\"']?[ \t]*$",
             group=1, verify="talos"),
    Detector("private-key", "private key block",
             rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:\s|\\n|\\r)+"
             rb"(?:[A-Za-z-]+: [^\n]*(?:\s|\\n)+)*([A-Za-z0-9+/=]{40,})", group=1),
    Detector("private-key-base64", "base64-encoded private key block",
             rb"LS0tLS1CRUdJTi[A-Za-z0-9+/=]{60,}", verify="pem-private"),
    Detector("proxmox-api-token", "Proxmox API token",
             rb"(?:PVEAPIToken=)?[\w.-]+@[\w.-]+![\w.-]+[=:](" + _UUID + rb")"
             rb"|pm_api_token_secret[\"']?\s*[=:]\s*[\"'](" + _UUID + rb")[\"']", group=0),
)
_ORDER = {d.name: i for i, d in enumerate(DETECTORS)}
_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_TALOS_TOKEN = linear.lazy(rb"^[a-z0-9]{6}\.[a-z0-9]{16}$")


def _pem_private(value: bytes) -> bool:
    head = value[:96]
    head = head[: len(head) - len(head) % 4]
    try:
        decoded = base64.b64decode(head, validate=True)
    except (binascii.Error, ValueError):
        return False
    return b"PRIVATE KEY" in decoded


@functools.lru_cache(maxsize=8)  # the hits of one line ask for it again (bytes keep their hash)
def _key_name(line_text: bytes) -> bytes:
    return line_text.split(b":", 1)[0].strip().lower()


def _value_ok(detector: Detector, value: bytes, line_text: bytes) -> bool:
    """The tests on the value and its line alone."""
    kind = detector.verify
    if kind is None:
        return True
    if _NOT_A_VALUE.search(value):
        return False
    if kind in ("pem-private", "talosconfig"):
        return _pem_private(value)
    if kind == "talos":
        name = _key_name(line_text)
        if name in (b"token", b"bootstraptoken"):
            # Machine, trustd and bootstrap tokens have the `abcdef.0123456789abcdef` shape; other
            # `token:` keys are not Talos'.
            return _TALOS_TOKEN.search(value) is not None
        return len(value) >= (40 if name == b"secret" else 32)
    return True


def _context_ok(detector: Detector, line_text: bytes, present: frozenset[bytes] | set[bytes]) -> bool:
    """The tests on the whole file (`present`: which CONTEXT_WORDS it holds)."""
    kind = detector.verify
    if kind == "kubeconfig":
        # A kubeconfig (kind: Config with clusters and users) holding a literal credential.
        return {b"users:", b"kind: Config", b"clusters:"} <= present
    if kind == "talosconfig":
        return {b"contexts:", b"crt:", b"ca:"} <= present
    if kind == "talos" and _key_name(line_text) == b"secret":
        # The cluster secret: only in a Talos secrets bundle or machine config.
        return b"trustdinfo:" in present or b"machine:" in present
    return True


def _inside_ciphertext(line_text: str, column: int) -> bool:
    before = line_text[: column - 1]
    start = before.rfind("ENC[")
    return start >= 0 and "]" not in before[start:]


@record
class _Found:
    order: int
    offset: int  # in the window
    line: int
    column: int
    detector: Detector
    title: str
    value: bytes
    line_text: bytes
    decoded: bool = False  # found in decoded base64 (a detector of the text itself wins on the same line)


class FileScan:
    """Our detectors over one file's windows; `finish` gives the detections (at most one per line: the
    first detector in DETECTORS order wins)."""

    def __init__(self, enabled: frozenset[str] | None = None, *, decode_base64: bool = True) -> None:
        self.enabled = enabled
        self.decode_base64 = decode_base64
        self.present: set[bytes] = set()
        self.found: list[_Found] = []
        self.truncated = False
        self._lines = LineIndex(b"")
        # The line of the last hit, copied once for all the hits on it (a copy per hit was quadratic on one
        # long line): (window bytes, start), its text, whether it is ASCII, its `ENC[` and `]` offsets.
        self._line_at: tuple[bytes, int] = (b"", -1)
        self._line_text = b""
        self._line_ascii = True
        self._brackets: tuple[list[int], list[int]] | None = None
        self._columns: tuple[bytes, int, int, int, Any] | None = None  # (bytes, line start, byte, characters, decoder)

    def _index(self, window: Window) -> LineIndex:
        """The line index of the window being read (one per window, built on its first hit)."""
        if self._lines.data is not window.data:
            self._lines = LineIndex(window.data)
        return self._lines

    def _line(self, window: Window, offset: int) -> tuple[int, bytes]:
        """(start, text) of the line holding `offset`."""
        begin, end = self._index(window).bounds(offset)
        if self._line_at[0] is not window.data or self._line_at[1] != begin:
            self._line_at = (window.data, begin)
            self._line_text = window.data[begin:end]
            self._line_ascii = self._line_text.isascii()
            self._brackets = None
        return begin, self._line_text

    def _column(self, window: Window, begin: int, start: int) -> int:
        """The 1-based character column of byte `start` of the current line: its byte offset on an ASCII line,
        else the characters before it, counted on from the last hit of the line while hits go forward (decoding
        the prefix again for each hit was quadratic on a long line); a character cut in two counts as one
        replacement, as decoding the prefix whole does."""
        if self._line_ascii:
            return start - begin + 1
        state = self._columns
        if state is None or state[0] is not window.data or state[1] != begin or state[2] > start:
            state = (window.data, begin, begin, 0, codecs.getincrementaldecoder("utf-8")("replace"))
        data, _, done, counted, decoder = state
        counted += len(decoder.decode(data[done:start]))
        self._columns = (data, begin, start, counted, decoder)
        return counted + bool(decoder.getstate()[0]) + 1

    def _in_ciphertext(self, at: int) -> bool:
        """`_inside_ciphertext` for the current line at byte `at` of it, from its `ENC[` and `]` offsets (found
        once a line: both are ASCII, which UTF-8 decoding keeps as they are)."""
        if self._brackets is None:
            text, found = self._line_text, ([], [])
            for marker, out in ((b"ENC[", found[0]), (b"]", found[1])):
                i = text.find(marker)
                while i >= 0:
                    out.append(i)
                    i = text.find(marker, i + 1)
            self._brackets = found
        opens, closes = self._brackets
        last = bisect.bisect_right(opens, at - 4) - 1  # the last `ENC[` wholly before `at`
        if last < 0:
            return False
        close = bisect.bisect_left(closes, opens[last])
        return close == len(closes) or closes[close] >= at

    def window(self, window: Window, only: set[str] | None = None) -> None:
        """Scan one window; `only`: the candidates the prefilter found in it (default: computed here)."""
        data = window.data
        only = candidates(data) if only is None else only
        if not window.whole or only:
            self.present.update(_CONTEXT_SET.present(data))
        if not only:
            return
        for det in DETECTORS:
            if det.name not in only or self.enabled is not None and det.name not in self.enabled:
                continue
            for match in det.pattern.finditer(data):
                group = det.group
                if det.name == "proxmox-api-token":
                    group = 1 if match.start(1) >= 0 else 2
                start = match.start(group) if group else match.start()
                if not window.start <= start < window.end:
                    continue
                value = match.group(group) if group else match.group(0)
                if det.boundary and match.end(group) < len(data) and data[match.end(group)] in _WORD:
                    continue
                begin, line_text = self._line(window, start)
                if not _value_ok(det, value, line_text):
                    continue
                self._add(window, start, det, det.title, value)
        if "base64" in only and self.decode_base64:
            self._base64(window)

    def _add(self, window: Window, start: int, det: Detector, title: str, value: bytes, decoded: bool = False) -> None:
        if len(self.found) >= MAX_DETECTIONS:
            self.truncated = True
            return
        begin, line_text = self._line(window, start)
        column = self._column(window, begin, start)
        if self._in_ciphertext(start - begin):
            return
        line = window.line + self._index(window).before(begin)
        self.found.append(_Found(_ORDER[det.name], start, line, column, det, title, value, line_text, decoded))

    def _base64(self, window: Window) -> None:
        """Decode the base64 runs that may encode a keyword; scan the decoded bytes (one level deep)."""
        data = window.data
        for run in self._b64_runs(window):
            start, end = run.start(), min(run.end(), run.start() + MAX_B64_RUN)
            if not window.start <= start < window.end or _B64_FRAGMENT.search(data, start, end) is None:
                continue
            decoded = decode_base64(data[start:end])
            if decoded is None:
                continue
            inner = FileScan(self.enabled, decode_base64=False)
            text, binary = normalise(decoded)
            inner.window(Window(text, 1, 0, len(text), binary, True))
            for found in inner.resolved():
                self._add(window, start, found.detector, f"{found.title} (base64-encoded)", found.value, decoded=True)

    def _b64_runs(self, window: Window) -> Iterator[Any]:
        """The base64 runs of the lines holding a keyword's fragment, in order: a run never crosses a line, so
        the others cannot hold one (a 2.3 MB base64 blob in a vendored script was 30,000 runs, two regex calls
        each, for a handful of fragments)."""
        data, lines, done = window.data, self._index(window), -1
        for hit in _B64_FRAGMENT.finditer(data):
            if hit.start() < done:
                continue  # this line's runs are done
            begin, done = lines.bounds(hit.start())
            yield from _B64_RUN.finditer(data, begin, done)

    def resolved(self) -> list[_Found]:
        """What was found, the whole-file tests passed, at most one per line."""
        kept = [f for f in self.found if _context_ok(f.detector, f.line_text, self.present)]
        kept.sort(key=lambda f: (f.decoded, f.order, f.line, f.column))
        seen: set[int] = set()
        out = []
        for f in kept:
            if f.line not in seen:
                seen.add(f.line)
                out.append(f)
        return out

    def finish(self) -> list[Detection]:
        return [Detection(f.detector.name, f.title, f.line, f.column, f.value.decode("utf-8", "surrogateescape"))
                for f in self.resolved()]


def decode_base64(run: bytes) -> bytes | None:
    """The bytes a base64 run encodes (padding optional), or None."""
    run = run.rstrip(b"=")
    run = run[: len(run) - (len(run) % 4 == 1)]
    try:
        return base64.b64decode(run + b"=" * (-len(run) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def scan_chunks(chunks: Iterable[bytes], enabled: frozenset[str] | None = None) -> FileScan:
    """Our detectors over a whole file given in chunks (see `textstream.windows`)."""
    scan = FileScan(enabled)
    for window in windows(chunks):
        scan.window(window)
    return scan


def detect(text: str | bytes, enabled: frozenset[str] | None = None) -> Iterator[Detection]:
    """Every detection in a whole text (str or bytes, not yet normalised)."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    yield from scan_chunks((data,), enabled).finish()
