"""Markdown for `$GITHUB_STEP_SUMMARY`: counts, findings grouped by rule (errors first), the Flux graph.

Long tables fold into `<details>`, as does a graph of more than GRAPH_FOLD nodes. GitHub refuses a step
summary over 1 MiB, so the report stays under BUDGET bytes: it stops between rows, closes the table and says
how many findings it left out.
"""

from __future__ import annotations

import re

from ..catalog import Catalog
from ..escape import markdown_text as _cell  # every repository string: literal text, no code span or link
from ..model import Finding, Result, Rule, Severity
from . import ReportEnv

BUDGET = 1_000_000  # bytes: GitHub's step summary limit is 1 MiB, and the action appends a few lines
FOLD_ROWS = 10  # a rule's table with more rows than this is folded
GRAPH_FOLD = 30  # a graph with more nodes than this is folded
_NODE = re.compile(r"^\s+c\d+[nm]\d+\[", re.M)
_PLAIN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _rule_title(rule_id: str, rule: Rule | None, name: str) -> str:
    # A rule file's schema keeps ids and names plain; should one not be, it is text, never markup.
    shown = f"`{name}`" if _PLAIN.fullmatch(name) else _cell(name)
    if rule is not None and rule.builtin:
        from ..project import rule_help_uri

        return f"[{rule_id}]({rule_help_uri(rule_id)}) {shown}"
    return f"{_cell(rule_id)} {shown}"


def _groups(result: Result) -> list[tuple[str, list[Finding]]]:
    """Findings by rule: errors first, then warnings, notes; within a level by rule id."""
    groups: dict[str, list[Finding]] = {}
    for f in result.findings:
        groups.setdefault(f.rule_id, []).append(f)
    return sorted(groups.items(), key=lambda item: (-max(f.severity.rank for f in item[1]), item[0]))


def _row(f: Finding) -> str:
    where = f"{_cell(f.location.path)}:{f.location.line}"
    return f"| {f.severity.value} | {where} | {_cell(f.message)} |\n"


class _Out:
    """The report so far, and what is left of the byte budget."""

    def __init__(self, budget: int) -> None:
        self.parts: list[str] = []
        self.left = budget

    def fits(self, text: str, reserve: int = 0) -> bool:
        return _size(text) + reserve <= self.left

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.left -= _size(text)


def _size(text: str) -> int:
    # Measured as it is written (`cli.emit`): a file name that is not UTF-8 is kept as surrogates, written replaced.
    return len(text.encode("utf-8", "replace"))


def render(result: Result, catalog: Catalog, env: ReportEnv, budget: int = BUDGET) -> str:
    counts = result.counts()
    by_id = catalog.by_id()
    out = _Out(budget)
    head = ["## cloudlab-lint", "",
            "| errors | warnings | notes | suppressed | files checked |", "|---:|---:|---:|---:|---:|",
            f"| {counts[Severity.ERROR]} | {counts[Severity.WARNING]} | {counts[Severity.NOTE]} "
            f"| {result.suppressed} | {result.files_checked} |", ""]
    head += [f"> **tool error:** {_cell(e.message)}\n" for e in result.errors]
    out.add("\n".join(head) + "\n")
    groups = _groups(result)
    if not groups:
        out.add("No findings.\n")
    else:
        index = ["| rule | severity | findings |", "|---|---|---:|"]
        for rule_id, found in groups:
            worst = max(found, key=lambda f: f.severity.rank).severity.value
            index.append(f"| {_rule_title(rule_id, by_id.get(rule_id), found[0].rule_name)} | {worst} | {len(found)} |")
        out.add("\n".join(index) + "\n")
    tail = 400  # room for the closing line that counts what was left out
    left_out = 0
    for rule_id, found in groups:
        rule = by_id.get(rule_id)
        title = f"\n### {_rule_title(rule_id, rule, found[0].rule_name)}: {_plural(len(found), 'finding')}\n\n"
        if rule is not None:
            title += f"{_cell(rule.short)}\n\n"
        fold = len(found) > FOLD_ROWS
        opening = title + (f"<details><summary>{_plural(len(found), 'finding')}</summary>\n\n" if fold else "")
        opening += "| severity | location | message |\n|---|---|---|\n"
        closing = "\n</details>\n" if fold else ""
        if left_out or not out.fits(opening + _row(found[0]) + closing, tail):
            left_out += len(found)
            continue
        out.add(opening)
        for n, f in enumerate(found):
            row = _row(f)
            if not out.fits(row + closing, tail):
                left_out += len(found) - n
                break
            out.add(row)
        out.add(closing)
    if left_out:
        out.add(f"\n_{_plural(left_out, 'more finding')} not shown: a step summary is limited to 1 MiB. "
                "The SARIF report, code scanning and `cloudlab-lint --all` have every finding._\n")
    for e in () if not env.graph_mermaid else (env.graph_mermaid,):
        nodes = len(_NODE.findall(e))
        block = f"```mermaid\n{e.rstrip()}\n```\n"
        if nodes > GRAPH_FOLD:
            block = f"<details><summary>{_plural(nodes, 'node')}</summary>\n\n{block}\n</details>\n"
        section = f"\n### Flux dependency graph\n\n{block}"
        if out.fits(section):
            out.add(section)
        else:
            out.add("\n_The Flux dependency graph is left out: the summary is limited to 1 MiB "
                    "(`cloudlab-lint graph` draws it)._\n")
    return "".join(out.parts)
