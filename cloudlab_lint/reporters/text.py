"""Compiler-style lines: `path:line:col: CL003 [error] message`, then a summary."""

from __future__ import annotations

from ..catalog import Catalog
from ..model import Result, Severity
from . import ReportEnv, printable

COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.NOTE: "\033[36m"}
RESET = "\033[0m"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render(result: Result, catalog: Catalog, env: ReportEnv) -> str:
    out = []
    for f in result.findings:
        loc = f.location
        label = f"[{f.severity.value}]"
        if env.color:
            label = f"{COLORS[f.severity]}{label}{RESET}"
        out.append(f"{printable(loc.path)}:{loc.line}:{loc.column}: {f.rule_id} {label} {printable(f.message)}")
    counts = result.counts()
    summary = ", ".join(_plural(counts[s], s.value) for s in (Severity.ERROR, Severity.WARNING, Severity.NOTE))
    tail = f"; {result.suppressed} suppressed" if result.suppressed else ""
    if result.modified:
        tail += f"; fixed {_plural(len(result.modified), 'file')}"
    # The files judged and the files with findings differ (a hook judges the whole tree on one staged file).
    where = _plural(result.files_checked, "file") + " checked"
    if result.findings:
        where += f", findings in {_plural(result.files_with_findings(), 'file')}"
    out.append(f"{summary}{tail} ({_plural(len(result.rules_run), 'rule')}, {where})")
    return "\n".join(out) + "\n"
