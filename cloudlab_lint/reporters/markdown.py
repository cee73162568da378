"""Markdown for `$GITHUB_STEP_SUMMARY`: counts, a findings table, the Flux graph as Mermaid."""

from __future__ import annotations

from ..catalog import Catalog
from ..model import Result, Severity
from . import ReportEnv, printable


def _cell(text: str) -> str:
    return printable(text).replace("|", "\\|")


def render(result: Result, catalog: Catalog, env: ReportEnv) -> str:
    counts = result.counts()
    out = ["## cloudlab-lint", ""]
    out.append("| errors | warnings | notes | suppressed | files |")
    out.append("|---:|---:|---:|---:|---:|")
    out.append(f"| {counts[Severity.ERROR]} | {counts[Severity.WARNING]} | {counts[Severity.NOTE]} "
               f"| {result.suppressed} | {result.files_checked} |")
    out.append("")
    if result.findings:
        out += ["| severity | rule | location | message |", "|---|---|---|---|"]
        for f in result.findings:
            where = f"`{_cell(f.location.path)}:{f.location.line}`"
            out.append(f"| {f.severity.value} | `{f.rule_id}` {f.rule_name} | {where} | {_cell(f.message)} |")
    else:
        out.append("No findings.")
    for e in result.errors:
        out.append(f"\n> **tool error:** {_cell(e.message)}")
    if env.graph_mermaid:
        out += ["", "### Flux dependency graph", "", "```mermaid", env.graph_mermaid.rstrip(), "```"]
    return "\n".join(out) + "\n"
