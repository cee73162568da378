"""The catalog as text, Markdown (README's rule table) and JSON; one rule's full help."""

from __future__ import annotations

import json

from .catalog import Catalog
from .escape import printable, printable_lines
from .model import Rule

# A team rule's text comes from the repository: no control character of it reaches the terminal (JSON escapes
# its own).


def rules_text(catalog: Catalog) -> str:
    # Columns as wide as their longest entry: a team's ids (TEAM001) are longer than CL001.
    ids = max((len(printable(r.id)) for r in catalog.rules), default=5)
    width = max((len(printable(r.name)) for r in catalog.rules), default=10)
    lines = [f"{printable(r.id):<{ids}}  {printable(r.name):<{width}}  {r.severity.value:<7}  {printable(r.short)}"
             for r in catalog.rules]
    return "\n".join(lines) + "\n"


def rules_markdown(catalog: Catalog) -> str:
    out = ["| id | name | severity | hook | what it checks |", "|---|---|---|---|---|"]
    for r in catalog.rules:
        extra = f" (only with `--{r.requires}`)" if r.requires else ""
        cells = [printable(x).replace("|", "\\|") for x in (r.id, r.name, r.hook, r.short)]
        out.append(f"| {cells[0]} | `{cells[1]}` | {r.severity.value} | `{cells[2]}` | {cells[3]}{extra} |")
    return "\n".join(out) + "\n"


def rules_json(catalog: Catalog) -> str:
    doc = {
        "schema_version": 1,
        "rules": [
            {
                "id": r.id, "name": r.name, "severity": r.severity.value, "short": r.short, "full": r.full,
                "help": {"why": r.help.why, "fix": r.help.fix, "example": r.help.example},
                "tags": list(r.tags), "hook": r.hook, "requires": r.requires, "fixable": r.fixable,
                "security_severity": r.security_severity, "params": dict(r.params), "builtin": r.builtin,
                "help_uri": _help_uri(r),
            }
            for r in catalog.rules
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _help_uri(rule: Rule) -> str | None:
    from .project import rule_help_uri

    return rule_help_uri(rule.id) if rule.builtin else None


def explain(rule: Rule) -> str:
    parts = [f"{rule.id} {rule.name} [{rule.severity.value}]", "", rule.full, "", "Why:", rule.help.why,
             "", "How to fix:", rule.help.fix]
    if rule.help.example:
        parts += ["", "Example:", rule.help.example]
    if rule.params:
        parts += ["", "Parameters (defaults):"]
        parts += [f"  {k}: {json.dumps(v)}" for k, v in rule.params.items()]
    parts += ["", f"Pre-commit hook: {rule.hook}" + (f" (only with --{rule.requires})" if rule.requires else "")]
    if rule.builtin:
        from .project import rule_help_uri

        parts.append(f"Documentation: {rule_help_uri(rule.id)}")
    return printable_lines("\n".join(parts)) + "\n"
