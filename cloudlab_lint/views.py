"""The named facts a model reads of a file instead of its whole documents (its "view"), found by name.

A model asks `repo.yaml_view(path, NAME)`; the extraction is a pure function of the file's documents and its
path, so what a commit hook keeps of it (`runner/store.py`) is keyed by the file's content, and a kept tree
result can compare a digest of exactly what a rule read (`runner/kept.py`). Looking the extraction up by name
keeps the runner from importing any model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MANIFEST = "gitops.manifest"  # the Flux model's manifest facts

Extract = Callable[[list[Any] | None, str], Any]
# Name -> (module, function): the model defining a view imports this module, never the other way round.
EXTRACTORS = {MANIFEST: ("cloudlab_lint.stack.gitops.facts", "facts_of")}


def extractor(name: str) -> Extract:
    """The extraction named `name` (documents, path -> facts)."""
    from importlib import import_module

    module, function = EXTRACTORS[name]
    return getattr(import_module(module), function)
