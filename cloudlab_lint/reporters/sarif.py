"""SARIF 2.1.0 as GitHub code scanning accepts it (see facts.md, part c)."""

from __future__ import annotations

import json

from .. import __version__
from ..catalog import Catalog
from ..model import Result, Rule, Severity
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
    }


def render(result: Result, catalog: Catalog, env: ReportEnv) -> str:
    by_id = catalog.by_id()
    ids = sorted(set(result.rules_run) | {f.rule_id for f in result.findings})
    rules = [by_id[i] for i in ids if i in by_id]
    index = {r.id: n for n, r in enumerate(rules)}
    results = []
    for f in result.findings:
        region = {"startLine": max(1, f.location.line), "startColumn": max(1, f.location.column)}
        if f.location.end_line:
            region["endLine"] = f.location.end_line
        if f.location.end_column:
            region["endColumn"] = f.location.end_column
        entry = {
            "ruleId": f.rule_id,
            "level": f.severity.value,
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": f.location.path, "uriBaseId": "%SRCROOT%"},
                "region": region,
            }}],
            "partialFingerprints": {"primaryLocationLineHash": f.fingerprint},
        }
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
            "automationDetails": {"id": "cloudlab-lint/"},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root."}}},
            "invocations": [invocation],
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
