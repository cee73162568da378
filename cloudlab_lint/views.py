"""The named facts a model reads of a file instead of its whole documents (its "view"), found by name.

A model asks `repo.view(path, NAME)`; the extraction is a pure function of the file's documents (or, for the
views in `OF_TEXT`, of its text) and its path, so what a commit hook keeps of it (`runner/store.py`) is keyed by
the file's content, and a kept tree result can compare a digest of exactly what a rule read (`runner/kept.py`).
Looking the extraction up by name
keeps the runner from importing any model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:  # BLAKE2 without hashlib, whose import loads OpenSSL
    from _blake2 import blake2b
except ImportError:  # an interpreter built without it
    from hashlib import blake2b

MANIFEST = "gitops.manifest"  # the Flux model's manifest facts
FLUX_CRDS = "flux.crds"  # CL112's schemas of a gotk-components file's Flux CRDs
SOURCES = "gitops.sources"  # the Flux source objects of a file outside the GitOps tree (their manifest facts)
INSTANCES = "gitops.instances"  # the manifest facts of a file outside the tree that may hold a FluxInstance
PUSHED = "gitops.pushed"  # the folders a CI workflow or script pushes as an OCI artifact (`flux push artifact`)
SOPS_CONFIG = "sops.config"  # `.sops.yaml` as SOPS reads it (its creation rules)
WHOLE = "yaml"  # not a view: a file's whole documents, as the fact store keeps them for rules that read them whole

Extract = Callable[[list[Any] | None, str], Any]
# Name -> (module, function): the model defining a view imports this module, never the other way round.
EXTRACTORS = {MANIFEST: ("cloudlab_lint.stack.gitops.facts", "facts_of"),
              FLUX_CRDS: ("cloudlab_lint.stack.crd.schemas", "crd_facts"),
              SOURCES: ("cloudlab_lint.stack.gitops.facts", "sources_of"),
              INSTANCES: ("cloudlab_lint.stack.gitops.facts", "facts_of"),
              PUSHED: ("cloudlab_lint.stack.gitops.boot", "pushed_folders"),
              SOPS_CONFIG: ("cloudlab_lint.stack.sops.model", "config_of")}
# Views extracted from a file's text, not its documents: never parsed for, cheap enough not to be kept.
OF_TEXT = frozenset({PUSHED})
# A view that is empty for a file whose text holds none of these: the file is not parsed for it. An edit to a
# workflow or a Taskfile then changes no view the Flux model reads, and keeps a kept result.
NEEDS = {SOURCES: ("source.toolkit.fluxcd.io",), INSTANCES: ("FluxInstance", "flux-instance"),
         PUSHED: ("artifact",)}
# How a kept tree result says what a rule read of a file: 0, the whole file; else one bit per view it read.
VIEWS_READ = (MANIFEST, FLUX_CRDS, SOURCES, INSTANCES, PUSHED, SOPS_CONFIG)
BIT = {name: 1 << i for i, name in enumerate(VIEWS_READ)}


def views_in(mask: int) -> list[str]:
    """The views a read mask names, in `VIEWS_READ` order."""
    return [name for name in VIEWS_READ if mask & BIT[name]]
# Views of a few big files, small beside them: kept apart from the others (`runner/store.py`), so a run that reads
# a handful of files gets them without loading the facts of every manifest.
# `.sops.yaml`'s creation rules are asked by every commit hook (CL004: must this staged file be encrypted?):
# kept apart, a hook on a README reads them without parsing YAML, or even importing the parser.
APART = frozenset({FLUX_CRDS, SOPS_CONFIG})


def extractor(name: str) -> Extract:
    """The extraction named `name` (documents, path -> facts; text, path -> facts for the views in `OF_TEXT`)."""
    from importlib import import_module

    module, function = EXTRACTORS[name]
    return getattr(import_module(module), function)


def digest_of(value: Any) -> bytes | None:
    """A digest of a view that is equal in every run exactly when the view is; None: it cannot be taken."""
    import io
    import pickle  # a digest is taken only where a result may be kept (a commit hook)

    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo: equal values give equal bytes whichever objects they share
    try:
        pickler.dump(value)
    except (RecursionError, ValueError, pickle.PicklingError, TypeError):
        return None
    return blake2b(buf.getvalue(), digest_size=16).digest()
