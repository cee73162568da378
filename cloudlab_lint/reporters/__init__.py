"""Reporters: plain functions `render(result, catalog, env) -> str`, one module each."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ..catalog import Catalog
from ..model import Result

FORMATS = ("text", "json", "sarif", "github", "markdown")


@dataclass(frozen=True)
class ReportEnv:
    color: bool = False
    graph_mermaid: str | None = None  # the Flux dependency graph, for markdown


Render = Callable[[Result, Catalog, ReportEnv], str]


def renderer(fmt: str) -> Render:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    module = importlib.import_module(f"{__name__}.{'json_report' if fmt == 'json' else fmt}")
    return module.render
