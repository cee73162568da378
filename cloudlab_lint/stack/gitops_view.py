"""What the Flux model reads of a manifest, and nothing more.

The Flux rules judge Flux's own objects whole (every `*.fluxcd.io` kind: Kustomizations, sources,
HelmReleases) and kustomize's files whole. Of any other Kubernetes document they use only what names
and places it: `apiVersion`, `kind`, `metadata`, its top-level scalars, and which other top-level fields
it has (a `sops` mapping marks an encrypted one). The values of those fields (a ConfigMap's `data`, a
Deployment's `spec`) are left out here, in every run, so no rule can come to depend on them unnoticed,
and a commit hook may keep the whole-tree result across edits to them (`treememo`).
"""

from __future__ import annotations

from typing import Any

from ..parsing.yamlx import Document, YMap, YSeq

KEPT = frozenset({"apiVersion", "kind", "metadata"})
WHOLE_GROUPS = ("fluxcd.io", "kustomize.config.k8s.io")  # judged whole wherever they appear in apiVersion


def document_view(docs: list[Document] | None) -> list[Document] | None:
    """The documents of a file as the Flux model sees them (the same objects where nothing is left out)."""
    if docs is None:
        return None
    return [_view(doc) for doc in docs]


def _view(doc: Document) -> Document:
    data = doc.data
    if not isinstance(data, YMap):
        return doc
    api, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api, str) or not isinstance(kind, str) or any(g in api for g in WHOLE_GROUPS):
        return doc
    if all(key in KEPT or not isinstance(value, (dict, list)) for key, value in data.items()):
        return doc
    out = YMap(data.line, data.col)
    for key, value in data.items():
        out[key] = value if key in KEPT else _stub(value)
        if key in data.keys_pos:
            out.keys_pos[key] = data.keys_pos[key]
        if key in data.pos:
            out.pos[key] = data.pos[key]
    # Where the document ends is not in the view either (no rule asks): a key added at its end keeps it.
    return Document(out, doc.index, doc.line, doc.line)


def _stub(value: Any) -> Any:
    """An empty mapping or sequence where `value` was one, at its place; a scalar as it is."""
    if isinstance(value, dict):
        return YMap(getattr(value, "line", 1), getattr(value, "col", 1))
    if isinstance(value, list):
        return YSeq(getattr(value, "line", 1), getattr(value, "col", 1))
    return value
