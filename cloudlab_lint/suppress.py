"""Suppressions: inline comments, config excludes, baseline files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from .globs import match_any
from .model import Finding

INLINE = re.compile(r"cloudlab-lint:\s*disable=([A-Za-z0-9_,-]+)")
BASELINE_VERSION = 1


class BaselineError(RuntimeError):
    pass


def inline_disabled(lines: list[str], line: int) -> set[str]:
    """Rule ids or names disabled for `line` by a comment on it or on the line above."""
    out: set[str] = set()
    for index in (line - 1, line - 2):
        if 0 <= index < len(lines):
            match = INLINE.search(lines[index])
            if match:
                out.update(part for part in match.group(1).split(",") if part)
    return out


def is_inline_suppressed(finding: Finding, lines: list[str]) -> bool:
    disabled = inline_disabled(lines, finding.location.line)
    return finding.rule_id in disabled or finding.rule_name in disabled


def is_excluded(finding: Finding, exclude: Iterable[str]) -> bool:
    patterns = tuple(exclude)
    return bool(patterns) and match_any(finding.location.path, patterns)


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
