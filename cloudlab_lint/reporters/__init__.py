"""Reporters: plain functions `render(result, catalog, env) -> str`, one module each."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from ..catalog import Catalog
from ..escape import printable as printable
from ..model import Result
from ..record import record

FORMATS = ("text", "json", "sarif", "github", "markdown")


@record
class ReportEnv:
    color: bool = False
    graph_mermaid: str | None = None  # the Flux dependency graph, for markdown
    sarif_category: str | None = None  # SARIF automationDetails.id `NAME/` (none: the upload's category applies)


Render = Callable[[Result, Catalog, ReportEnv], str]


def renderer(fmt: str) -> Render:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    module = importlib.import_module(f"{__name__}.{'json_report' if fmt == 'json' else fmt}")
    return module.render
