"""The data model: plain frozen values, no I/O."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from .record import factory, record


class Severity(enum.Enum):
    NOTE = "note"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"note": 1, "warning": 2, "error": 3}[self.value]

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls(text)


@record(order=True)
class Location:
    """A place in the repository; `path` is repository-relative with `/` separators, lines 1-based.
    Ordered by its fields in turn."""

    path: str
    line: int = 1
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None


@record(order=True)
class Hit:
    """What a check yields: a message and where. The engine adds everything else.

    `key` optionally names what the hit is about (e.g. "dependsOn:infra") so the
    fingerprint stays stable when the line's text changes; by default the
    fingerprint uses the text of the line. `related`: the other places of a
    chain or cycle, each with what it is (SARIF `relatedLocations`); `commit`:
    the past commit a history finding is about.
    """

    message: str
    location: Location
    key: str | None = None
    related: tuple[tuple[str, Location], ...] = ()
    commit: str | None = None


@record
class Help:
    why: str
    fix: str
    example: str = ""


@record
class Rule:
    id: str
    name: str
    severity: Severity
    short: str
    full: str
    help: Help
    check: str
    hook: str
    tags: tuple[str, ...] = ()
    params: Mapping[str, Any] = factory(dict)
    security_severity: str | None = None
    precision: str = "high"
    requires: str | None = None  # "history" or "github": runs only when asked for
    fixable: bool = False
    source: str = ""  # the rule file it was loaded from
    builtin: bool = True
    enabled: bool = True


@record
class Finding:
    rule_id: str
    rule_name: str
    severity: Severity
    message: str
    location: Location
    fingerprint: str
    related: tuple[tuple[str, Location], ...] = ()
    commit: str | None = None


@record
class ToolError:
    """A rule that crashed, or an environment problem found during the run."""

    message: str
    rule_id: str | None = None


@record
class Result:
    findings: tuple[Finding, ...]
    errors: tuple[ToolError, ...] = ()
    notes: tuple[str, ...] = ()  # informational lines (files skipped, fixes applied)
    suppressed: int = 0
    rules_run: tuple[str, ...] = ()
    files_checked: int = 0
    modified: tuple[str, ...] = ()  # files --fix wrote

    def files_with_findings(self) -> int:
        return len({f.location.path for f in self.findings})

    def counts(self) -> dict[Severity, int]:
        out = {s: 0 for s in Severity}
        for f in self.findings:
            out[f.severity] += 1
        return out
