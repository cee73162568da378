"""Our own secret detectors: one keyword prefilter, then exact patterns.

What homelab GitOps repositories leak: age secret keys, GitHub tokens, private
key blocks (also base64-encoded in a Secret's `data:`), kubeconfig and
talosconfig credentials, Talos machine secrets, Proxmox API tokens.

The prefilter is one compiled pattern over raw bytes: a blob that holds none of
its keywords cannot match any detector, and most blobs hold none, so the exact
patterns (and the line arithmetic) run on few of them. Every detector's
pattern must therefore contain, or imply, one of the prefilter's keywords.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from bisect import bisect_right
from collections.abc import Iterator

from ..record import record

BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Values that are references, placeholders or ciphertext, never secrets.
_NOT_A_VALUE = re.compile(r"""^["']?(?:\$\{|\{\{|<|ENC\[|\*\*\*|x{4,}|X{4,}|changeme|REDACTED|null|~|$)""", re.I)

# The prefilter: a blob is scanned only if it holds one of these. Plain `in` tests (CPython's fast search)
# beat one alternation regex several times over: sre cannot skip ahead on an alternation whose branches
# start with common letters. Each entry: the detectors it unlocks, and either a literal or a regex whose
# pattern starts with a literal (sre searches for that prefix quickly).
_GH = re.compile(rb"(?:gh[pousr]|github_pat)_")
_PVE = re.compile(rb"@[\w.-]+![\w.-]+[=:]")
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


# Literals at least one of which every possible match of any detector holds, each within one line (the
# regexes above start with these literals).
KEYWORD_LITERALS: tuple[bytes, ...] = (*(k for _, k in KEYWORDS), b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_",
                                       b"github_pat_")
LINE_PATTERNS: tuple[re.Pattern[bytes], ...] = (_PVE,)  # `@` alone is too common (image digests, e-mail)


def candidates(data: bytes) -> set[str]:
    """Names of the detectors that may match `data` (empty for most blobs)."""
    found = {name for name, keyword in KEYWORDS if keyword in data}
    if _GH.search(data):
        found.add("github-token")
    if b"!" in data and b"@" in data and _PVE.search(data):
        found.add("proxmox-api-token")
    return found


@record
class Detector:
    name: str
    title: str
    regex: str  # compiled on first use (`pattern`): the prefilter spares most runs most detectors
    group: int = 0  # the group holding the secret value
    context: str | None = None  # a string the whole text must contain (cheap file-kind test)
    verify: str | None = None  # name of an extra check on the value (see _VERIFY)

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compiled(self.regex)


@functools.cache
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


@record
class Detection:
    detector: str
    title: str
    line: int
    column: int
    value: str  # internal only: for baseline hashes and de-duplication, never printed


# A YAML value: optional quotes, then anything but blanks, quotes and comments (references and
# placeholders are filtered after matching).
_VALUE = r"""["']?([^\s"'#]+)["']?\s*(?:#.*)?$"""


DETECTORS: tuple[Detector, ...] = (
    Detector("age-secret-key", "age secret key",
             rf"AGE-SECRET-KEY-1[{BECH32.upper()}]{{58}}"),
    Detector("github-token", "GitHub token",
             r"(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})"
             r"(?![A-Za-z0-9_])", group=1),
    Detector("kubeconfig-credential", "kubeconfig credential",
             r"(?m)^[ \t-]*(?:client-key-data|token|password):[ \t]*" + _VALUE, group=1,
             context="users:", verify="kubeconfig"),
    Detector("talosconfig-credential", "talosconfig client key",
             r"(?m)^[ \t]*key:[ \t]*[\"']?([A-Za-z0-9+/]{40,}={0,2})[\"']?[ \t]*$", group=1,
             context="contexts:", verify="talosconfig"),
    Detector("talos-machine-secret", "Talos machine secret",
             r"(?m)^[ \t]*(?:secretboxencryptionsecret|secretboxEncryptionSecret|aescbcEncryptionSecret"
             r"|aescbcencryptionsecret|bootstraptoken|token|secret):"
             r"[ \t]*[\"']?([A-Za-z0-9+/=.]{16,})[\"']?[ \t]*$",
             group=1, verify="talos"),
    Detector("private-key", "private key block",
             r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:\s|\\n|\\r)+"
             r"(?:[A-Za-z-]+: [^\n]*(?:\s|\\n)+)*([A-Za-z0-9+/=]{40,})", group=1),
    Detector("private-key-base64", "base64-encoded private key block",
             r"LS0tLS1CRUdJTi[A-Za-z0-9+/=]{60,}", verify="pem-private"),
    Detector("proxmox-api-token", "Proxmox API token",
             rf"(?:PVEAPIToken=)?[\w.-]+@[\w.-]+![\w.-]+[=:]({_UUID})"
             rf"|pm_api_token_secret[\"']?\s*[=:]\s*[\"']({_UUID})[\"']", group=0),
)
BY_NAME = {d.name: d for d in DETECTORS}

_TALOS_TOKEN = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")


def _pem_private(value: str) -> bool:
    head = value[:96]
    head = head[: len(head) - len(head) % 4]
    try:
        decoded = base64.b64decode(head, validate=True)
    except (binascii.Error, ValueError):
        return False
    return b"PRIVATE KEY" in decoded


def _verify(detector: Detector, text: str, value: str, line_text: str) -> bool:
    kind = detector.verify
    if kind is None:
        return True
    if _NOT_A_VALUE.match(value):
        return False
    if kind == "pem-private":
        return _pem_private(value)
    if kind == "kubeconfig":
        # A kubeconfig (kind: Config with users) holding a literal credential.
        return "kind: Config" in text and "clusters:" in text
    if kind == "talosconfig":
        return "crt:" in text and "ca:" in text and _pem_private(value)
    if kind == "talos":
        name = line_text.split(":", 1)[0].strip().lower()
        if name in ("token", "bootstraptoken"):
            # Machine, trustd and bootstrap tokens have the `abcdef.0123456789abcdef` shape; other
            # `token:` keys are not Talos'.
            return bool(_TALOS_TOKEN.match(value))
        if name == "secret":
            # The cluster secret: only in a Talos secrets bundle or machine config.
            return ("trustdinfo:" in text or "machine:" in text) and len(value) >= 40
        return len(value) >= 32
    return True


class Lines:
    """Offsets of line starts, computed once, only for texts that have a match."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def locate(self, offset: int) -> tuple[int, int]:
        index = bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index] + 1

    def line_text(self, line: int) -> str:
        start = self.starts[line - 1]
        end = self.starts[line] - 1 if line < len(self.starts) else len(self.text)
        return self.text[start:end]


def prefilter(data: bytes) -> bool:
    return bool(candidates(data))


def _inside_ciphertext(line_text: str, column: int) -> bool:
    before = line_text[: column - 1]
    start = before.rfind("ENC[")
    return start >= 0 and "]" not in before[start:]


def detect(text: str, enabled: frozenset[str] | None = None, lines: Lines | None = None,
           only: set[str] | None = None) -> Iterator[Detection]:
    """Every detection in `text`, at most one per line (the first detector in DETECTORS order wins).

    `only`: the detectors the prefilter found keywords for (default: all)."""
    lines = lines or Lines(text)
    seen: set[int] = set()
    for det in DETECTORS:
        if enabled is not None and det.name not in enabled or only is not None and det.name not in only:
            continue
        if det.context is not None and det.context not in text:
            continue
        for match in det.pattern.finditer(text):
            group = det.group
            if det.name == "proxmox-api-token":
                group = 1 if match.group(1) else 2
            value = match.group(group) if group else match.group(0)
            line, column = lines.locate(match.start(group) if group else match.start())
            if line in seen:
                continue
            line_text = lines.line_text(line)
            if _inside_ciphertext(line_text, column) or not _verify(det, text, value, line_text):
                continue
            seen.add(line)
            yield Detection(det.name, det.title, line, column, value)
