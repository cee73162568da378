"""GitHub Actions workflow commands: `::error file=…,line=…::` annotations, the most important first.

GitHub shows 10 error, 10 warning and 10 notice annotations per step (actions/toolkit, "problem matchers":
the rest are dropped silently), so findings go severity first (then by security severity, then by place), at
most that many of each level, and one notice counts the rest, which follow as plain log lines in a group.
"""

from __future__ import annotations

from ..catalog import Catalog
from ..model import Finding, Result, Severity
from . import ReportEnv, printable

LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}
ORDER = (Severity.ERROR, Severity.WARNING, Severity.NOTE)
PER_STEP = 10  # annotations of each level GitHub shows for one step


def _data(text: str) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return printable(text)


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def ordered(result: Result, catalog: Catalog) -> list[Finding]:
    """Severity first, then the rule's security severity, then the place."""
    by_id = catalog.by_id()

    def security(f: Finding) -> float:
        rule = by_id.get(f.rule_id)
        return float(rule.security_severity) if rule is not None and rule.security_severity else 0.0

    return sorted(result.findings, key=lambda f: (-f.severity.rank, -security(f), f.location.path,
                                                  f.location.line, f.location.column, f.rule_id))


def _annotation(f: Finding) -> str:
    loc = f.location
    props = f"file={_prop(loc.path)},line={loc.line},col={loc.column},title={_prop(f'{f.rule_id} {f.rule_name}')}"
    return f"::{LEVEL[f.severity]} {props}::{_data(f.message)}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render(result: Result, catalog: Catalog, env: ReportEnv) -> str:
    out = [f"::error title=cloudlab-lint::{_data(e.message)}" for e in result.errors]  # first: the run is partial
    findings = ordered(result, catalog)
    room = {"error": max(0, PER_STEP - len(result.errors)), "warning": PER_STEP, "notice": PER_STEP}
    levels = {level: [f for f in findings if LEVEL[f.severity] == level] for level in room}
    overflow = any(len(levels[level]) > room[level] for level in room)
    if overflow:
        room["notice"] -= 1  # kept for the notice that counts the rest
    shown, hidden = [], []
    for f in findings:
        level = LEVEL[f.severity]
        if room[level] > 0:
            room[level] -= 1
            shown.append(f)
        else:
            hidden.append(f)
    out += [_annotation(f) for f in shown]
    if hidden:
        counts = [_plural(sum(1 for f in hidden if f.severity is s), s.value) for s in ORDER]
        counts = [c for c in counts if not c.startswith("0 ")]
        out.append(f"::notice title=cloudlab-lint::{_plural(len(hidden), 'more finding')} ({', '.join(counts)}) "
                   f"not shown as annotations: GitHub shows {PER_STEP} of each level per step. They are listed in "
                   "this step's log; the job summary and code scanning have every finding")
        out.append(f"::group::{_plural(len(hidden), 'more finding')}")
        for f in hidden:
            loc = f.location
            out.append(f"  {printable(loc.path)}:{loc.line}:{loc.column}: {f.rule_id} [{f.severity.value}] "
                       f"{printable(f.message)}")
        out.append("::endgroup::")
    return "\n".join(out) + ("\n" if out else "")
