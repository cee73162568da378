"""Plaintext secrets in one text: our detectors, detect-secrets' plugins, and what is never a secret.

Shared by CL005 (the tracked tree) and CL006 (every blob of history). The
scanner works on bytes so that the cheap keyword prefilter runs before any
decoding; detect-secrets is imported only when a text holds one of the
keywords its selected plugins look for, so a commit hook that touches no such
file never pays for the import.

A file is read whole, in bounded windows (`textstream`): UTF-16 decoded, CRLF
as LF, binary files too (our detectors only: detect-secrets skips binary
files). detect-secrets' plugins are Python regexes, some of them quadratic on
a crafted line: they only see lines that our RE2 screening passed, and a line
over MAX_PLUGIN_LINE bytes in overlapping pieces of at most that size (each
piece screened again), so their work stays linear in the file's size.
"""

from __future__ import annotations

import codecs
import itertools
import json
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .. import linear
from ..record import factory, record
from .detectors import _NOT_A_VALUE, Detection, FileScan, _inside_ciphertext, candidates
from .textstream import WINDOW, LineIndex, Window, normalise, windows

if TYPE_CHECKING:
    from ..repo import Repo
    from .goregex import Pattern

PRAGMA = "pragma: allowlist secret"
PRAGMA_NEXT = "pragma: allowlist nextline secret"

# Keywords of the detect-secrets plugins we offer (plain `in` tests, see detectors.KEYWORDS), so that the
# import happens only when one may match. A plugin without an entry here runs on every text.
DS_KEYWORDS: dict[str, tuple[bytes, ...]] = {
    "AWSKeyDetector": (b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"A3T", b"aws", b"AWS", b"Aws"),
    "AzureStorageKeyDetector": (b"AccountKey",),
    "BasicAuthDetector": (b"://",),
    "GitLabTokenDetector": (b"glpat-", b"gldt-", b"glrt-", b"glptt-", b"glsoat-", b"glcbt-", b"glffct-", b"glimt-",
                            b"glagent-", b"glft-", b"glrtr-", b"gloas-", b"GR1348941"),
    "JwtTokenDetector": (b"eyJ",),
    "MailchimpDetector": (b"-us",),
    "NpmDetector": (b"_authToken",),
    "OpenAIDetector": (b"sk-",),
    "PypiTokenDetector": (b"pypi-",),
    "SendGridDetector": (b"SG.",),
    "SlackDetector": (b"xox", b"hooks.slack.com"),
    "SquareOAuthDetector": (b"sq0csp-",),
    "StripeDetector": (b"k_live_",),
}
MAX_PLUGIN_LINE = 1000  # bytes of a line (or of a piece of a longer line) a detect-secrets plugin sees
_PIECE_STEP = 800  # pieces of a longer line overlap by 200 bytes: a secret up to that long is seen whole
# A URL only matters to BasicAuthDetector with a password in it; a `${VAR}` password is a reference.
_BASIC_AUTH = linear.lazy(rb"://[^\s/:@]+:(?:[^\s/@$][^\s/@]*|\$(?:[^\s/@{][^\s/@]*)?)@")
_AWS_ID = linear.lazy(rb"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}")
# Keywords too common to screen with alone (`-us` is in every `us-east`-style name, `aws` in every AWS
# provider): the plugin's own pattern must match as well, or the plugin cannot report anything. Each
# is implied by the plugin's regex, on bytes: where it counts characters (`.{0,20}`) it allows four
# bytes for each, the most a UTF-8 character takes. All lie within one line (CL006 screens lines).
_AWS_SECRET = linear.lazy(  # the plugin's case-insensitive regex
    rb"[aA][wW][sS].{0,80}?(?:[kK][eE][yY]|[pP][wW][dD]?|[pP][aA][sS][sS](?:[wW][oO][rR][dD])?|[tT][oO][kK][eE][nN])"
    rb".{0,80}?['\"][0-9a-zA-Z/+]{40}['\"]")
_CONFIRM: dict[bytes, linear.Pattern] = {
    b"://": _BASIC_AUTH,
    b"-us": linear.lazy(rb"-us[0-9]"),  # the plugin's `[0-9a-z]{32}` prefix, searched, costs 25x more
    b"sk-": linear.lazy(rb"sk-[A-Za-z0-9_-]*[A-Za-z0-9]{20}T3BlbkFJ"),
    **dict.fromkeys((b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"A3T"), _AWS_ID),
    **dict.fromkeys((b"aws", b"AWS", b"Aws"), _AWS_SECRET),
}
_DS_TITLES = {"AWSKeyDetector": "AWS key", "AzureStorageKeyDetector": "Azure storage key",
              "BasicAuthDetector": "password in a URL", "GitLabTokenDetector": "GitLab token",
              "JwtTokenDetector": "JSON Web Token", "MailchimpDetector": "Mailchimp key", "NpmDetector": "npm token",
              "OpenAIDetector": "OpenAI key", "PypiTokenDetector": "PyPI token", "SendGridDetector": "SendGrid key",
              "SlackDetector": "Slack token", "SquareOAuthDetector": "Square OAuth secret",
              "StripeDetector": "Stripe key"}
_NOT_SECRET_VALUE = linear.lazy(rb"^(?:age1[a-z0-9]{58}$|\$\{\{?\s*secrets\.|\$\{|\{|%\(|\$[A-Z_]+$)")
# What documentation writes where a secret would go (`https://user:token@host`).
_PLACEHOLDERS = frozenset({"password", "passwd", "pass", "secret", "token", "changeme", "example", "pat", "key",
                           "apikey", "api_key", "xxx", "redacted"})


def secret_hash(value: str) -> str:
    """detect-secrets' `hashed_secret`: SHA-1 of the value."""
    import hashlib  # only when a baseline is compared: not on every commit

    return hashlib.sha1(value.encode("utf-8", "surrogateescape")).hexdigest()  # noqa: S324 - their format


@record
class Baseline:
    """A detect-secrets `.secrets.baseline`: known secrets per file, and its file excludes."""

    results: dict[str, tuple[tuple[str, int], ...]] = factory(dict)  # path -> (hash, line)
    exclude_files: tuple[Pattern, ...] = ()  # run with RE2: linear time whatever the pattern
    refused: int = 0  # excludes RE2 cannot run (look-arounds...): ignored, so what they would hide stays found

    def excluded(self, path: str) -> bool:
        return any(p.search(path) for p in self.exclude_files)

    def known(self, path: str, detection: Detection) -> bool:
        """detect-secrets matches by file and hashed secret; its own detectors may hash another part of
        the same line than ours do, so an entry at the same line counts as well."""
        digest = secret_hash(detection.value)
        return any(h == digest or n == detection.line for h, n in self.results.get(path, ()))


def parse_baseline(text: str) -> Baseline | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    results: dict[str, tuple[tuple[str, int], ...]] = {}
    for path, entries in (data.get("results") or {}).items():
        if isinstance(path, str) and isinstance(entries, list):
            results[path] = tuple((str(e.get("hashed_secret", "")), int(e.get("line_number") or 0))
                                  for e in entries if isinstance(e, dict))
    from .goregex import GoRegexError, compile_re2

    patterns, refused = [], 0
    for flt in data.get("filters_used") or []:
        if isinstance(flt, dict) and flt.get("path") == "detect_secrets.filters.regex.should_exclude_file":
            for pattern in flt.get("pattern") or []:
                try:
                    patterns.append(compile_re2(pattern))
                except (GoRegexError, TypeError):
                    refused += 1
    return Baseline(results, tuple(patterns), refused)


def load_baseline(repo: Repo, name: str) -> Baseline:
    """The repository's detect-secrets baseline, once per run: only a tracked one counts."""

    def build() -> Baseline:
        if not name:
            return Baseline()
        if not repo.exists(name):
            # An untracked baseline is no one's decision but this machine's: it never hides a finding.
            if os.path.lexists(repo.root / name):
                repo.notes.append(f"{name}: not tracked by git, ignored (commit it for its allowances to count)")
            return Baseline()
        text = repo.read_text(name, strict=False)
        if text is None:
            return Baseline()
        baseline = parse_baseline(text)
        if baseline is None:
            repo.notes.append(f"{name}: not a detect-secrets baseline (invalid JSON), ignored")
            return Baseline()
        if baseline.refused:
            repo.notes.append(f"{name}: {baseline.refused} exclude_files pattern(s) ignored: not RE2 syntax "
                              "(look-arounds, back-references), which runs in linear time; the files they "
                              "would exclude are scanned")
        return baseline

    return repo.cached(("secrets-baseline", name), build)


def sops_metadata_lines(text: str) -> set[int]:
    """Line numbers of the `sops` metadata in a SOPS file (YAML, JSON, INI, dotenv): never secrets."""
    out: set[int] = set()
    mode = ""  # "yaml", "ini" or "json" while inside the metadata
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("sops:"):
            mode = "yaml"
        elif line.startswith("[sops]"):
            mode = "ini"
        elif line.lstrip().startswith('"sops"') and line.lstrip()[6:].lstrip().startswith(":"):
            mode = "json"  # SOPS writes it last, so it runs to the end
        elif mode == "yaml" and line and not line[0].isspace() and not line.startswith(("-", "#")):
            mode = ""
        elif mode == "ini" and line.startswith("["):
            mode = ""
        if mode or line.startswith("sops_"):
            out.add(number)
    return out


@record
class Scanned:
    """What a scan found in one file, and whether it stopped counting (MAX_DETECTIONS)."""

    detections: list[Detection]
    truncated: bool = False


class Scanner:
    """Our detectors plus the selected detect-secrets plugins, with the never-a-secret filters."""

    def __init__(self, detectors: Iterable[str] | None = None, plugins: Iterable[str] = ()) -> None:
        self.enabled = frozenset(detectors) if detectors is not None else None
        self.plugin_names = tuple(plugins)
        self.ds_always = any(p not in DS_KEYWORDS for p in self.plugin_names)
        self.ds_keywords = tuple(dict.fromkeys(k for p in self.plugin_names for k in DS_KEYWORDS.get(p, ())))
        # For line-level tests (CL006): literals, and patterns where a literal alone is too common (every URL
        # has `://`, only a URL with a password matters).
        self.line_literals = tuple(k for k in self.ds_keywords if k not in _CONFIRM)
        self.line_patterns = tuple(dict.fromkeys(_CONFIRM[k] for k in self.ds_keywords if k in _CONFIRM))
        self._plugins: list[Any] | None = None
        # `_theirs` in one search: a keyword, or the pattern that must confirm a too common one.
        self._theirs_regex = linear.lazy(b"|".join([*(linear.escape(k) for k in self.line_literals),
                                                       *(b"(?:" + p.pattern + b")" for p in self.line_patterns)])
                                            or rb"[^\x00-\xff]")
        # One search finds the lines that hold a keyword (a line of a flagged file rarely holds one).
        self._line_keyword = linear.lazy(b"|".join(linear.escape(k) for k in self.ds_keywords) or b"[^\\x00-\\xff]")

    def candidates(self, data: bytes) -> tuple[set[str], bool]:
        """The cheap test: which of our detectors may match, and whether a detect-secrets plugin may."""
        ours = candidates(data)
        if self.enabled is not None:
            ours &= self.enabled | {"base64"}
        return ours, self._theirs(data)

    def _theirs(self, data: bytes) -> bool:
        if not self.plugin_names:
            return False
        if self.ds_always:
            return True
        return self._theirs_regex.search(data) is not None

    def may_hold(self, data: bytes) -> bool:
        ours, theirs = self.candidates(data)
        return bool(ours) or theirs

    def scan(self, data: bytes) -> list[Detection]:
        """Detections in a whole file's bytes (not yet normalised)."""
        return self.scan_chunks((data,)).detections

    def scan_chunks(self, chunks: Iterable[bytes]) -> Scanned:
        """Detections in a file given in chunks of any size (see `textstream`)."""
        ours_scan = FileScan(self.enabled)
        theirs: list[Detection] = []
        dropped: set[int] = set()  # SOPS metadata and allowlisted lines
        parts = iter(chunks)
        first, second = next(parts, b""), next(parts, None)
        if second is None and len(first) <= WINDOW:  # the common case, without the windowing machinery
            data, binary = normalise(first)
            todo: Iterable[Window] = (Window(data, 1, 0, len(data), binary, True),)
        else:
            todo = windows(itertools.chain((first,) if second is None else (first, second), parts))
        for window in todo:
            ours, plugins = self.candidates(window.data)
            if not ours and not plugins:
                if not window.whole:
                    ours_scan.window(window, set())  # the whole-file facts (`kind: Config`) still count
                continue
            before = (len(ours_scan.found), len(theirs))
            ours_scan.window(window, ours)
            if plugins and not window.binary:
                theirs.extend(self._plugin_detections(window))
            if (len(ours_scan.found), len(theirs)) != before:
                dropped |= _dropped_lines(window)
        found = [d for d in ours_scan.finish() if d.line not in dropped]
        taken = {d.line for d in found}
        found.extend(d for d in theirs if d.line not in taken and d.line not in dropped and not taken.add(d.line))
        return Scanned(found, ours_scan.truncated)

    def _plugin_lines(self, window: Window) -> Iterator[tuple[int, bytes, int]]:
        """(line number, text, how many characters precede it on its line) of each line of the window that may
        interest a plugin, a line over MAX_PLUGIN_LINE in pieces."""
        data = window.data
        lines = LineIndex(data)
        seen: set[int] = set()
        if self.ds_always:
            starts: Iterable[int] = (i for i in _line_starts(data) if window.start <= i < window.end)
        else:
            starts = (m.start() for m in self._line_keyword.finditer(data, window.start, window.end))
        for offset in starts:
            begin, end = lines.bounds(offset)
            if begin in seen:
                continue
            seen.add(begin)
            number = window.line + lines.before(begin)
            if end - begin <= MAX_PLUGIN_LINE:
                yield number, data[begin:end], 0
                continue
            # The characters before each piece, counted as the pieces advance: decoding the line's whole prefix
            # again for each piece was quadratic in the line's length (a one-line 2 MB bundle: seconds).
            decoder, counted, done = codecs.getincrementaldecoder("utf-8")("replace"), 0, begin
            for piece in range(begin, end, _PIECE_STEP):
                counted += len(decoder.decode(data[done:piece]))
                done = piece
                # a character the piece cuts in two counts as one replacement, as decoding the prefix whole would
                yield number, data[piece:min(end, piece + MAX_PLUGIN_LINE)], counted + bool(decoder.getstate()[0])
                if piece + MAX_PLUGIN_LINE >= end:
                    break

    def _plugin_detections(self, window: Window) -> list[Detection]:
        out: list[Detection] = []
        taken: set[int] = set()
        for number, raw, shift in self._plugin_lines(window):
            if number in taken or not self.ds_always and not self._theirs(raw):
                continue
            line = raw.decode("utf-8", "replace")
            detection = self._plugin_detection(number, line, shift)
            if detection is not None:
                taken.add(number)
                out.append(detection)
        return out

    def _plugin_detection(self, number: int, line: str, shift: int = 0) -> Detection | None:
        """The first plugin finding in `line` (a piece of line `number` that starts `shift` characters in)."""
        for name, plugin in self._load_plugins():
            for value in plugin.analyze_string(line):
                if not isinstance(value, str) or not value:
                    continue
                # Entropy plugins apply their limit in analyze_line, which we avoid (it may verify
                # over the network): apply it here.
                limit = getattr(plugin, "entropy_limit", None)
                if limit is not None and plugin.calculate_shannon_entropy(value) < limit:
                    continue
                column = max(line.find(value), 0) + 1
                raw = value.encode("utf-8", "surrogateescape")
                if (_NOT_A_VALUE.search(raw) or _NOT_SECRET_VALUE.search(raw)
                        or value.lower().strip("'\"") in _PLACEHOLDERS
                        or _inside_ciphertext(line, column) or "secrets." in value):
                    continue
                return Detection(f"detect-secrets:{name}", _DS_TITLES.get(name, name), number, shift + column, value)
        return None

    def _load_plugins(self) -> list[tuple[str, Any]]:
        if self._plugins is None:
            from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

            classes = {cls.__name__: cls for cls in get_mapping_from_secret_type_to_class().values()}
            self._plugins = [(name, classes[name]()) for name in self.plugin_names if name in classes]
        return self._plugins


def _line_starts(data: bytes) -> Iterator[int]:
    start = 0
    while start < len(data):
        yield start
        start = data.find(b"\n", start) + 1 or len(data)


def _dropped_lines(window: Window) -> set[int]:
    """Line numbers of a window that are never findings: SOPS metadata, and lines allowlisted by pragma."""
    data = window.data
    lines = LineIndex(data)
    out: set[int] = set()
    for pragma, shift in ((PRAGMA.encode(), 0), (PRAGMA_NEXT.encode(), 1)):
        at = data.find(pragma)
        while at >= 0:
            out.add(window.line + lines.before(at) + shift)
            at = data.find(pragma, at + 1)
    if b"sops" in data:
        from .sops.model import is_sops_text

        text = data.decode("utf-8", "replace")
        if is_sops_text(text):
            out |= {window.line - 1 + n for n in sops_metadata_lines(text)}
    return out
