"""GitHub Actions workflow commands: one `::error file=…,line=…::` annotation per finding."""

from __future__ import annotations

from ..catalog import Catalog
from ..model import Result, Severity
from . import ReportEnv, printable

LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def _data(text: str) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return printable(text)


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(result: Result, catalog: Catalog, env: ReportEnv) -> str:
    out = []
    for f in result.findings:
        loc = f.location
        props = f"file={_prop(loc.path)},line={loc.line},col={loc.column},title={_prop(f'{f.rule_id} {f.rule_name}')}"
        out.append(f"::{LEVEL[f.severity]} {props}::{_data(f.message)}")
    for e in result.errors:
        out.append(f"::error title=cloudlab-lint::{_data(e.message)}")
    return "\n".join(out) + ("\n" if out else "")
