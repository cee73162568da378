"""What the Flux model reads of a manifest, and nothing more.

The Flux rules judge Flux's own objects (every `*.fluxcd.io` kind: Kustomizations, sources, HelmReleases)
and kustomize's files whole, except a HelmRelease's `spec.values`: what Helm renders is no rule's
business. Of any other Kubernetes document they use only what names and places it: `apiVersion`,
`kind`, `metadata`, its top-level scalars, and which other top-level fields it has (a `sops` mapping
marks an encrypted one). What is left out is left out here, in every run, so no rule can come to depend
on it unnoticed, and a commit hook may keep the whole-tree result across edits to it (`treememo`): a
ConfigMap's data, a Deployment's image, the values Renovate bumps in a HelmRelease.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from ...parsing.yamlx import Document, YMap, YSeq
from .names import HELM_GROUP

KEPT = frozenset({"apiVersion", "kind", "metadata"})
WHOLE_GROUPS = ("fluxcd.io", "fluxcd.controlplane.io", "kustomize.config.k8s.io")  # judged whole


def document_view(docs: list[Document] | None) -> list[Document] | None:
    """The documents of a file as the Flux model sees them (the same objects where nothing is left out)."""
    if docs is None:
        return None
    from ..kinds import flatten  # a List's items are the objects kubectl applies, each with its own index

    return [_view(doc) for doc in flatten(docs) or ()]


def _view(doc: Document) -> Document:
    data = doc.data
    if not isinstance(data, YMap):
        return doc
    api, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api, str) or not isinstance(kind, str):
        return doc
    if kind == "HelmRelease" and api.startswith(HELM_GROUP + "/"):
        spec = data.get("spec")
        if not isinstance(spec, YMap) or not isinstance(spec.get("values"), (dict, list)):
            return doc
        out = _copy(data, ())
        out["spec"] = _copy(spec, ("values",))
        return _document(doc, out)
    if any(g in api for g in WHOLE_GROUPS):
        return doc
    if all(key in KEPT or not isinstance(value, (dict, list)) for key, value in data.items()):
        return doc
    return _document(doc, _copy(data, data.keys() - KEPT))


def _document(doc: Document, data: YMap) -> Document:
    # Where the document ends is not in the view either (no rule asks): a key added at its end keeps it.
    return Document(data, doc.index, doc.line, doc.line)


def _copy(node: YMap, stubbed: Container[str]) -> YMap:
    """A shallow copy of `node` at its place, the values of the `stubbed` keys stubbed."""
    out = YMap(node.line, node.col)
    for key, value in node.items():
        out[key] = _stub(value) if key in stubbed else value
    out.keys_pos.update(node.keys_pos)
    out.pos.update(node.pos)
    return out


def _stub(value: Any) -> Any:
    """An empty mapping or sequence where `value` was one, at its place; a scalar as it is."""
    if isinstance(value, dict):
        return YMap(getattr(value, "line", 1), getattr(value, "col", 1))
    if isinstance(value, list):
        return YSeq(getattr(value, "line", 1), getattr(value, "col", 1))
    return value
