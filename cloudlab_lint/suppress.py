"""Suppressions: inline comments, config excludes, baseline files."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from .globs import match_any
from .model import Finding
from .record import record

# A directive is a comment: a comment marker of the formats we read, at the start of the line or after a
# space, then the directive (so `# cloudlab-lint: disable=...` quoted in prose or in code is no suppression).
INLINE = re.compile(r"(?:^|\s)(?:#|//|;|--|<!--)\s*cloudlab-lint:\s*disable=([A-Za-z0-9_,-]+)")
MARK = b"cloudlab-lint:"
BASELINE_VERSION = 1


class BaselineError(RuntimeError):
    pass


@record
class Directive:
    """One `cloudlab-lint: disable=` comment: where it is, the line it covers, what it names."""

    path: str
    line: int
    covers: int
    names: tuple[str, ...]


def directives(path: str, lines: list[str]) -> list[Directive]:
    """The suppressions of a file: a trailing comment covers its own line only; a comment alone on its
    line covers the next one."""
    out = []
    for index, text in enumerate(lines):
        match = INLINE.search(text)
        if match is None:
            continue
        names = tuple(part for part in match.group(1).split(",") if part)
        alone = not text[:match.start()].strip()
        out.append(Directive(path, index + 1, index + 2 if alone else index + 1, names))
    return out


class Suppressions:
    """The inline suppressions of the files a run reports on, and which of them hid something."""

    def __init__(self, lines_of: Callable[[str], list[str]]) -> None:
        self.lines_of = lines_of
        self.by_path: dict[str, dict[int, list[Directive]]] = {}
        self.used: set[tuple[Directive, str]] = set()

    def of(self, path: str) -> dict[int, list[Directive]]:
        if path not in self.by_path:
            covered: dict[int, list[Directive]] = {}
            for d in directives(path, self.lines_of(path)):
                covered.setdefault(d.covers, []).append(d)
            self.by_path[path] = covered
        return self.by_path[path]

    def hides(self, finding: Finding) -> bool:
        for d in self.of(finding.location.path).get(finding.location.line, ()):
            for name in (finding.rule_id, finding.rule_name):
                if name in d.names:
                    self.used.add((d, name))
                    return True
        return False

    def notes(self, paths: Iterable[str], known: frozenset[str], ran: dict[str, str] | None) -> list[str]:
        """Notes on the suppressions of `paths`: names no rule has; with `ran` (rule id -> name of the
        rules this run judged), suppressions of those rules that hid nothing."""
        out = []
        for path in paths:
            for found in self.of(path).values():
                for d in found:
                    for name in d.names:
                        if name not in known:
                            out.append(f"{path}:{d.line}: suppression names no rule: {name!r} (ignored)")
                        elif ran is not None and (name in ran or name in ran.values()) \
                                and (d, name) not in self.used:
                            out.append(f"{path}:{d.line}: unused suppression: {name} hides nothing here")
        return out


def inline_disabled(lines: list[str], line: int) -> set[str]:
    """Rule ids or names disabled for `line` (1-based)."""
    return {name for d in directives("", lines) if d.covers == line for name in d.names}


def is_inline_suppressed(finding: Finding, lines: list[str]) -> bool:
    disabled = inline_disabled(lines, finding.location.line)
    return finding.rule_id in disabled or finding.rule_name in disabled


def is_excluded(finding: Finding, exclude: Iterable[str]) -> bool:
    patterns = tuple(exclude)
    return bool(patterns) and match_any(finding.location.path, patterns)


def is_path_ignored(finding: Finding, ignore: Mapping[str, Iterable[str]]) -> bool:
    """The config's per-path `ignore`: a glob to the rule ids or names not reported under it."""
    for glob, rules in ignore.items():
        if (finding.rule_id in rules or finding.rule_name in rules) and match_any(finding.location.path, (glob,)):
            return True
    return False


def baseline_document(findings: Iterable[Finding]) -> dict:
    entries = sorted({(f.rule_id, f.location.path, f.fingerprint) for f in findings})
    return {
        "version": BASELINE_VERSION,
        "tool": "cloudlab-lint",
        "findings": [{"rule": r, "path": p, "fingerprint": fp} for r, p, fp in entries],
    }


def load_baseline(path: Path) -> set[tuple[str, str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: baseline file not found (create it with `cloudlab-lint baseline`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path}: not a cloudlab-lint baseline ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        data = {}
    entries = data.get("findings")
    if data.get("version") != BASELINE_VERSION or not isinstance(entries, list):
        raise BaselineError(f"{path}: not a cloudlab-lint baseline of version {BASELINE_VERSION}")
    out = set()
    for entry in entries:
        if isinstance(entry, dict) and all(isinstance(entry.get(k), str) for k in ("rule", "path", "fingerprint")):
            out.add((entry["rule"], entry["path"], entry["fingerprint"]))
    return out
