"""SARIF 2.1.0 as GitHub code scanning accepts it (see facts.md, part c)."""

from __future__ import annotations

import json

from .. import __version__
from ..catalog import Catalog
from ..escape import uri_path
from ..model import Location, Result, Rule, Severity
from . import ReportEnv

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
PROBLEM_SEVERITY = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "recommendation"}


def help_text(rule: Rule) -> str:
    parts = [f"Why: {rule.help.why}", f"How to fix: {rule.help.fix}"]
    if rule.help.example:
        parts.append(f"Example:\n{rule.help.example}")
    return "\n\n".join(parts)


def help_markdown(rule: Rule) -> str:
    parts = [f"**{rule.id} {rule.name}**: {rule.full}", f"### Why\n\n{rule.help.why}",
             f"### How to fix\n\n{rule.help.fix}"]
    if rule.help.example:
        parts.append(f"### Example\n\n```\n{rule.help.example}\n```")
    return "\n\n".join(parts)


def _descriptor(rule: Rule) -> dict:
    from ..project import rule_help_uri

    tags = list(rule.tags)
    props: dict = {"precision": rule.precision}
    if rule.security_severity:
        props["security-severity"] = rule.security_severity
        if "security" not in tags:
            tags.insert(0, "security")
    else:
        props["problem.severity"] = PROBLEM_SEVERITY[rule.severity]
    props["tags"] = tags[:10]
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.short[:1024]},
        "fullDescription": {"text": rule.full[:1024]},
        "help": {"text": help_text(rule), "markdown": help_markdown(rule)},
        "defaultConfiguration": {"level": rule.severity.value},
        "properties": props,
        # A team's rule has no page in the project's docs: its help travels in `help` alone.
        **({"helpUri": rule_help_uri(rule.id)} if rule.builtin else {}),
    }


def _location(loc: Location, message: str | None = None, ident: int | None = None) -> dict:
    region = {"startLine": max(1, loc.line), "startColumn": max(1, loc.column)}
    if loc.end_line:
        region["endLine"] = loc.end_line
    if loc.end_column:
        region["endColumn"] = loc.end_column
    out: dict = {}
    if ident is not None:
        out["id"] = ident
    # Percent-encoded (RFC 3986): `a#b` is not a fragment, `%41` is not `A`, a name that is not UTF-8 keeps its bytes.
    out["physicalLocation"] = {"artifactLocation": {"uri": uri_path(loc.path), "uriBaseId": "%SRCROOT%"},
                               "region": region}
    if message:
        out["message"] = {"text": message}
    return out


def render(result: Result, catalog: Catalog, env: ReportEnv) -> str:
    by_id = catalog.by_id()
    ids = sorted(set(result.rules_run) | {f.rule_id for f in result.findings})
    rules = [by_id[i] for i in ids if i in by_id]
    index = {r.id: n for n, r in enumerate(rules)}
    results = []
    for f in result.findings:
        entry = {
            "ruleId": f.rule_id,
            "level": f.severity.value,
            "message": {"text": f.message},
            "locations": [_location(f.location)],
            "partialFingerprints": {"primaryLocationLineHash": f.fingerprint},
        }
        if f.related:
            entry["relatedLocations"] = [_location(loc, what, n) for n, (what, loc) in enumerate(f.related[:100])]
        if f.commit:
            # A finding about a past commit: its path may exist in no current tree.
            entry["properties"] = {"commit": f.commit}
        if f.rule_id in index:
            entry["ruleIndex"] = index[f.rule_id]
        results.append(entry)
    invocation = {
        "executionSuccessful": not result.errors,
        "toolExecutionNotifications": [
            {"level": "error", "message": {"text": e.message},
             **({"associatedRule": {"id": e.rule_id}} if e.rule_id else {})}
            for e in result.errors
        ],
    }
    doc = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cloudlab-lint",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_descriptor(r) for r in rules],
            }},
            **({"automationDetails": {"id": f"{env.sarif_category}/"}} if env.sarif_category else {}),
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root."}}},
            "invocations": [invocation],
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
