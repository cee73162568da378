"""Kustomize patches, statically: strategic merge (simplified) and JSON 6902 add/replace/remove.

Patched copies keep the base document's lines: what a patch adds points at the map it lands in, never at a
line of another file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..parsing.yamlx import YMap, YSeq


@dataclass(frozen=True)
class Rendered:
    """A Kubernetes document as a build produces it: merged data, effective namespace, original place."""

    path: str
    index: int
    line: int
    data: Any
    namespace: str | None


def clone(value: Any) -> Any:
    if isinstance(value, YMap):
        out = YMap(value.line, value.col)
        for k, v in value.items():
            out[k] = clone(v)
        out.pos.update(value.pos)
        out.keys_pos.update(value.keys_pos)
        return out
    if isinstance(value, YSeq):
        seq = YSeq(value.line, value.col)
        seq.extend(clone(v) for v in value)
        seq.pos.extend(value.pos)
        return seq
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def merge(base: Any, patch: Any) -> Any:
    """A strategic merge, simplified: maps merge, `null` deletes, anything else replaces."""
    if not (isinstance(base, dict) and isinstance(patch, dict)):
        return clone(patch)
    out = clone(base)
    for key, value in patch.items():
        if key == "$patch":
            continue
        if value is None:
            out.pop(key, None)
            continue
        out[key] = merge(base[key], value) if key in base else clone(value)
        if isinstance(out, YMap) and key not in out.pos:
            # What a patch adds lives in another file: point at the base map, never at a foreign line.
            out.pos[key] = out.keys_pos[key] = (out.line, out.col)
    return out


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def json6902(base: Any, ops: list[Any]) -> Any:
    """Apply add/replace/remove operations; an operation that does not fit is skipped."""
    out = clone(base)
    for op in ops:
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            continue
        parts = _pointer(op["path"])
        if not parts:
            continue
        parent = out
        for part in parts[:-1]:
            if isinstance(parent, dict) and part in parent:
                parent = parent[part]
            elif isinstance(parent, list) and part.isdigit() and int(part) < len(parent):
                parent = parent[int(part)]
            else:
                parent = None
                break
        last, kind = parts[-1], op.get("op")
        if isinstance(parent, dict):
            if kind in ("add", "replace"):
                parent[last] = clone(op.get("value"))
            elif kind == "remove":
                parent.pop(last, None)
        elif isinstance(parent, list) and kind in ("add", "replace"):
            if last == "-":
                parent.append(clone(op.get("value")))
            elif last.isdigit() and int(last) <= len(parent):
                if kind == "add":
                    parent.insert(int(last), clone(op.get("value")))
                elif int(last) < len(parent):
                    parent[int(last)] = clone(op.get("value"))
    return out


def meta_of(data: Any, key: str) -> str | None:
    meta = data.get("metadata") if isinstance(data, dict) else None
    value = meta.get(key) if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def _selects(target: Any, doc: Rendered) -> bool:
    if not isinstance(target, dict):
        return False
    data = doc.data
    for key, actual in (("kind", data.get("kind")), ("name", meta_of(data, "name")), ("namespace", doc.namespace)):
        want = target.get(key)
        if isinstance(want, str) and want:
            try:
                if not re.fullmatch(want, actual or ""):
                    return False
            except re.error:
                if want != actual:
                    return False
    group, version = target.get("group"), target.get("version")
    api = str(data.get("apiVersion", ""))
    if isinstance(group, str) and group and api.split("/")[0] != group:
        return False
    return not (isinstance(version, str) and version and api.split("/")[-1] != version)


def _same_object(patch: Any, doc: Rendered) -> bool:
    if not isinstance(patch, dict):
        return False
    if patch.get("kind") != doc.data.get("kind") or meta_of(patch, "name") != meta_of(doc.data, "name"):
        return False
    ns = meta_of(patch, "namespace")
    return ns is None or doc.namespace is None or ns == doc.namespace


def apply_patch(docs: list[Rendered], patch_docs: list[Any], target: Any) -> list[Rendered]:
    out = []
    for doc in docs:
        data = doc.data
        for patch in patch_docs:
            if isinstance(patch, list):
                if _selects(target, doc):
                    data = json6902(data, patch)
            elif isinstance(patch, dict) and (_selects(target, doc) if target else _same_object(patch, doc)):
                data = merge(data, patch)
        out.append(doc if data is doc.data else Rendered(doc.path, doc.index, doc.line, data, doc.namespace))
    return out
