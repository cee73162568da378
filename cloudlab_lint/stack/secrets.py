"""Plaintext secrets in one text: our detectors, detect-secrets' plugins, and what is never a secret.

Shared by CL005 (the tracked tree) and CL006 (every blob of history). The
scanner works on bytes so that the cheap keyword prefilter runs before any
decoding; detect-secrets is imported only when a text holds one of the
keywords its selected plugins look for, so a commit hook that touches no such
file never pays for the import.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .detectors import _NOT_A_VALUE, Detection, Lines, _inside_ciphertext, detect, prefilter

if TYPE_CHECKING:
    from ..repo import Repo

PRAGMA = "pragma: allowlist secret"
PRAGMA_NEXT = "pragma: allowlist nextline secret"

# Keywords of the detect-secrets plugins we offer, so that the import happens only when one may match.
DS_KEYWORDS: dict[str, bytes] = {
    "AWSKeyDetector": rb"A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA|(?i:aws)",
    "AzureStorageKeyDetector": rb"AccountKey",
    "BasicAuthDetector": rb"://[^\s/:@]+:[^\s/@]+@",
    "GitLabTokenDetector": rb"gl(?:pat|dt|rt|ptt|soat|cbt|ffct|imt|agent|ft|rtr|oas)-|GR1348941",
    "JwtTokenDetector": rb"eyJ",
    "MailchimpDetector": rb"-us[0-9]",
    "NpmDetector": rb"_authToken",
    "OpenAIDetector": rb"sk-",
    "PypiTokenDetector": rb"pypi-",
    "SendGridDetector": rb"SG\.",
    "SlackDetector": rb"xox|hooks\.slack\.com",
    "SquareOAuthDetector": rb"sq0csp-",
    "StripeDetector": rb"[rs]k_live_",
}
_DS_TITLES = {"AWSKeyDetector": "AWS key", "AzureStorageKeyDetector": "Azure storage key",
              "BasicAuthDetector": "password in a URL", "GitLabTokenDetector": "GitLab token",
              "JwtTokenDetector": "JSON Web Token", "MailchimpDetector": "Mailchimp key", "NpmDetector": "npm token",
              "OpenAIDetector": "OpenAI key", "PypiTokenDetector": "PyPI token", "SendGridDetector": "SendGrid key",
              "SlackDetector": "Slack token", "SquareOAuthDetector": "Square OAuth secret",
              "StripeDetector": "Stripe key"}
_NOT_SECRET_VALUE = re.compile(r"^(?:age1[a-z0-9]{58}$|\$\{\{?\s*secrets\.|\$\{|\{\{)")


def secret_hash(value: str) -> str:
    """detect-secrets' `hashed_secret`: SHA-1 of the value."""
    return hashlib.sha1(value.encode("utf-8", "surrogateescape")).hexdigest()  # noqa: S324 - their format


@dataclass(frozen=True)
class Baseline:
    """A detect-secrets `.secrets.baseline`: known secrets per file, and its file excludes."""

    results: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)  # path -> (hash, line)
    exclude_files: tuple[re.Pattern[str], ...] = ()

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
    patterns = []
    for flt in data.get("filters_used") or []:
        if isinstance(flt, dict) and flt.get("path") == "detect_secrets.filters.regex.should_exclude_file":
            for pattern in flt.get("pattern") or []:
                try:
                    patterns.append(re.compile(pattern))
                except (re.error, TypeError):
                    continue
    return Baseline(results, tuple(patterns))


def load_baseline(repo: Repo, name: str) -> Baseline:
    """The repository's detect-secrets baseline (tracked, or present in the work tree), once per run."""

    def build() -> Baseline:
        if not name:
            return Baseline()
        text = repo.read_text(name, strict=False) if repo.exists(name) else None
        if text is None:
            path = repo.root / name
            if path.is_file() and not path.is_symlink() and path.stat().st_size <= repo.max_bytes:
                text = path.read_text(encoding="utf-8", errors="replace")
        if text is None:
            return Baseline()
        baseline = parse_baseline(text)
        if baseline is None:
            repo.notes.append(f"{name}: not a detect-secrets baseline (invalid JSON), ignored")
            return Baseline()
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
        elif re.match(r'\s*"sops"\s*:', line):
            mode = "json"  # SOPS writes it last, so it runs to the end
        elif mode == "yaml" and line and not line[0].isspace() and not line.startswith(("-", "#")):
            mode = ""
        elif mode == "ini" and line.startswith("["):
            mode = ""
        if mode or line.startswith("sops_"):
            out.add(number)
    return out


class Scanner:
    """Our detectors plus the selected detect-secrets plugins, with the never-a-secret filters."""

    def __init__(self, detectors: Iterable[str] | None = None, plugins: Iterable[str] = ()) -> None:
        self.enabled = frozenset(detectors) if detectors is not None else None
        self.plugin_names = tuple(plugins)
        keywords = [DS_KEYWORDS.get(p, rb"") for p in self.plugin_names]
        # A plugin we hold no keywords for runs on every text (only if a user asks for it).
        self.ds_always = any(not k for k in keywords)
        self.ds_filter = re.compile(b"|".join(k for k in keywords if k)) if any(keywords) else None
        self._plugins: list[Any] | None = None

    def may_hold(self, data: bytes) -> bool:
        """The cheap test: can any detector match these bytes?"""
        if prefilter(data):
            return True
        return bool(self.plugin_names) and (self.ds_always or self.ds_filter is not None
                                            and self.ds_filter.search(data) is not None)

    def scan(self, data: bytes, text: str | None = None) -> list[Detection]:
        """Detections in a blob's bytes (already known to be text), after the prefilter."""
        ours = prefilter(data)
        theirs = bool(self.plugin_names) and (self.ds_always or self.ds_filter is not None
                                              and self.ds_filter.search(data) is not None)
        if not ours and not theirs:
            return []
        if text is None:
            text = data.decode("utf-8", "replace")
        lines = Lines(text)
        found = list(detect(text, self.enabled, lines)) if ours else []
        if theirs:
            taken = {d.line for d in found}
            found.extend(d for d in self._plugin_detections(text, lines) if d.line not in taken)
        if not found:
            return []
        from .sops import is_sops_text

        metadata = sops_metadata_lines(text) if is_sops_text(text) else set()
        return [d for d in found if d.line not in metadata and not _allowlisted(lines, d.line)]

    def _plugin_detections(self, text: str, lines: Lines) -> list[Detection]:
        plugins = self._load_plugins()
        out: list[Detection] = []
        for number, line in enumerate(text.splitlines(), 1):
            if self.ds_filter is not None and not self.ds_always and not self.ds_filter.search(
                    line.encode("utf-8", "surrogateescape")):
                continue
            for name, plugin in plugins:
                found = False
                for value in plugin.analyze_string(line):
                    if not isinstance(value, str) or not value:
                        continue
                    # Entropy plugins apply their limit in analyze_line, which we avoid (it may verify
                    # over the network): apply it here.
                    limit = getattr(plugin, "entropy_limit", None)
                    if limit is not None and plugin.calculate_shannon_entropy(value) < limit:
                        continue
                    column = max(line.find(value), 0) + 1
                    if (_NOT_A_VALUE.match(value) or _NOT_SECRET_VALUE.match(value)
                            or _inside_ciphertext(line, column) or "secrets." in value):
                        continue
                    out.append(Detection(f"detect-secrets:{name}", _DS_TITLES.get(name, name), number, column, value))
                    found = True
                    break
                if found:
                    break
        return out

    def _load_plugins(self) -> list[tuple[str, Any]]:
        if self._plugins is None:
            from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

            classes = {cls.__name__: cls for cls in get_mapping_from_secret_type_to_class().values()}
            self._plugins = [(name, classes[name]()) for name in self.plugin_names if name in classes]
        return self._plugins


def unknown_plugins(names: Iterable[str]) -> list[str]:
    """Plugin names detect-secrets does not have (checked only when the user changed the list)."""
    names = list(names)
    if all(n in DS_KEYWORDS for n in names):
        return []
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    known = {cls.__name__ for cls in get_mapping_from_secret_type_to_class().values()}
    return [n for n in names if n not in known]


def _allowlisted(lines: Lines, line: int) -> bool:
    if PRAGMA in lines.line_text(line):
        return True
    return line > 1 and PRAGMA_NEXT in lines.line_text(line - 1)
