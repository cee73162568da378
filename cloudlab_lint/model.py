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
class Edit:
    """A fix a check offers (yielded beside its hits): lines to append to a file. The runner applies it after the
    run, only with --fix, and drops the hits whose `key` is in `resolves`; the report says "added to <path>: "
    and then `says`."""

    path: str
    append: tuple[str, ...]
    resolves: tuple[str, ...]
    says: str


@record
class Help:
    why: str
    fix: str
    example: str = ""


@record
class Scope:
    """What a rule judges (its rule file's `scope:`): the engine gates by it, so a check never asks which mode it
    runs in. `judges` "files": the files the run judges, as `ctx.files` ("untracked": named untracked files too;
    "rejudge_all": paths whose change makes a hook judge every file); "tree": the repository as a whole, in a
    commit hook only when a change matches `triggers` or reaches a file the rule read before (`prefilter`: a
    registered cheap test that rules a change out when nothing says what it read). `uses`: the models it reads."""

    judges: str = "tree"
    untracked: bool = False
    rejudge_all: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ("**",)
    prefilter: str | None = None
    uses: tuple[str, ...] = ()

    @property
    def tree(self) -> bool:
        return self.judges == "tree"


def scope_from_data(data: Mapping[str, Any]) -> Scope:
    return Scope(judges=data.get("judges", "tree"), untracked=bool(data.get("untracked", False)),
                 rejudge_all=tuple(data.get("rejudge_all", ())), triggers=tuple(data.get("triggers", ("**",))),
                 prefilter=data.get("prefilter"), uses=tuple(data.get("uses", ())))


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
    scope: Scope = factory(Scope)


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
