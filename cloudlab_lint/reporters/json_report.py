"""An explicit, versioned JSON document, built field by field (not from dataclasses)."""

from __future__ import annotations

import json

from .. import __version__
from ..catalog import Catalog
from ..model import Result, Severity
from . import ReportEnv

SCHEMA_VERSION = 1


def render(result: Result, catalog: Catalog, env: ReportEnv) -> str:
    counts = result.counts()
    doc = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "cloudlab-lint", "version": __version__},
        "summary": {
            "error": counts[Severity.ERROR],
            "warning": counts[Severity.WARNING],
            "note": counts[Severity.NOTE],
            "suppressed": result.suppressed,
            "files": result.files_checked,
            "rules": list(result.rules_run),
        },
        "findings": [
            {
                "rule": f.rule_id,
                "name": f.rule_name,
                "severity": f.severity.value,
                "message": f.message,
                "path": f.location.path,
                "line": f.location.line,
                "column": f.location.column,
                "fingerprint": f.fingerprint,
                **({"commit": f.commit} if f.commit else {}),  # a finding about a past commit (CL006)
            }
            for f in result.findings
        ],
        "errors": [{"rule": e.rule_id, "message": e.message} for e in result.errors],
        "notes": list(result.notes),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
