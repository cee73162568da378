"""Kustomize patches, statically: strategic merge (simplified) and JSON 6902 add/replace/remove.

Patched copies keep the base document's lines: what a patch adds points at the map it lands in, never at a
line of another file. What a patch writes into a part the manifest facts left out (`facts.Omitted`) is held
there, the rest stays omitted; `restored` fills such parts from the document read whole.
"""

from __future__ import annotations

import re
from typing import Any

from ...parsing.yamlx import YMap, YSeq
from ...record import record
from .facts import Omitted, OmittedMap, is_whole


@record
class Rendered:
    """A Kubernetes document as a build produces it: merged data, effective namespace, original place."""

    path: str
    index: int
    line: int
    data: Any
    namespace: str | None


def clone(value: Any) -> Any:
    if isinstance(value, Omitted):
        return value.copy()  # what patches wrote into it, copied by the caller's next write
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


def landed(value: Any, line: int, col: int) -> Any:
    """A copy of `value` placed at (line, col) throughout: what a patch brings comes from another file (or an
    inline string), so every line in it would point a reader at the wrong place."""
    if isinstance(value, dict):
        out = YMap(line, col)
        for k, v in value.items():
            out[k] = landed(v, line, col)
            out.pos[k] = out.keys_pos[k] = (line, col)
        return out
    if isinstance(value, list):
        seq = YSeq(line, col)
        seq.extend(landed(v, line, col) for v in value)
        seq.pos.extend((line, col) for _ in value)
        return seq
    return value


def _at(node: Any, key: Any, home: tuple[int, int] | None = None) -> tuple[int, int]:
    """Where a patched value lands: the base's own place for the key, else the key that holds the map it lands
    in (`home`: where a reader looks, as for a missing field), else the map itself."""
    if isinstance(node, YMap) and key in node.pos:
        return node.pos[key]
    return home or (getattr(node, "line", 1), getattr(node, "col", 1))


def merge(base: Any, patch: Any, home: tuple[int, int] | None = None) -> Any:
    """A strategic merge, simplified: maps merge, `null` deletes, anything else replaces. `home` is where the
    key holding `base` is (what a patch adds to `base` points there)."""
    if not (isinstance(base, dict) and isinstance(patch, dict)):
        return clone(patch)
    out = clone(base)
    for key, value in patch.items():
        if key == "$patch":
            continue
        if value is None:
            out.pop(key, None)
            continue
        held = _held(base, key)
        if isinstance(held, dict) and isinstance(value, dict):
            inner = base.keys_pos.get(key) if isinstance(base, YMap) else None
            out[key] = merge(held, value, inner)
            continue
        if not isinstance(out, YMap):
            out[key] = clone(value)
            continue
        # What a patch adds lives in another file: it points at the base's place, never at a foreign line.
        at = _at(out, key, home)
        out[key] = landed(value, *at)
        if key not in out.pos:
            out.pos[key] = out.keys_pos[key] = at
    return out


_NOTHING = object()


def _held(node: dict[Any, Any], key: Any) -> Any:
    """`node[key]`, or _NOTHING where it has no such key or the key lies in what the manifest facts left out
    (a patch then writes it as if it were new, as kustomize would over a missing key)."""
    if isinstance(node, Omitted):
        return dict.get(node, key, _NOTHING)
    return node.get(key, _NOTHING)


def restored(node: Any, whole: Any) -> Any:
    """`node` with each part the manifest facts left out filled from `whole` (the same place in the document
    read whole), what patches wrote into such a part merged over it."""
    if isinstance(node, OmittedMap):
        held = YMap(node.line, node.col)
        for key, value in node.held():
            held[key] = value
        held.keys_pos.update(node.keys_pos)
        held.pos.update(node.pos)
        return merge(whole, held) if isinstance(whole, dict) and not isinstance(whole, Omitted) else held
    if isinstance(node, Omitted):
        return clone(whole) if isinstance(whole, list) and not isinstance(whole, Omitted) else YSeq(node.line, node.col)
    if isinstance(node, dict) and isinstance(whole, dict):
        changed = {k: restored(v, whole.get(k)) for k, v in node.items() if not is_whole(v)}
        if not changed:
            return node
        out = clone(node)
        out.update(changed)
        return out
    return node


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
        parent, home = out, None
        for part in parts[:-1]:
            if isinstance(parent, dict) and _held(parent, part) is not _NOTHING:
                home = parent.keys_pos.get(part) if isinstance(parent, YMap) else None
                parent = parent[part]
            elif isinstance(parent, list) and not isinstance(parent, Omitted) and part.isdigit() and \
                    int(part) < len(parent):
                home = (parent.line_of(int(part)), parent.col) if isinstance(parent, YSeq) else None
                parent = parent[int(part)]
            else:
                parent = None
                break
        last, kind = parts[-1], op.get("op")
        at = _at(parent, last, home)
        value = landed(op.get("value"), *at) if isinstance(parent, (YMap, YSeq)) else clone(op.get("value"))
        if isinstance(parent, dict):
            if kind in ("add", "replace"):
                parent[last] = value
                if isinstance(parent, YMap) and last not in parent.pos:
                    parent.pos[last] = parent.keys_pos[last] = at
            elif kind == "remove":
                parent.pop(last, None)
        elif isinstance(parent, list) and not isinstance(parent, Omitted) and kind in ("add", "replace"):
            seq = isinstance(parent, YSeq)
            if last == "-":
                parent.append(value)
                if seq:
                    parent.pos.append(at)
            elif last.isdigit() and int(last) <= len(parent):
                if kind == "add":
                    parent.insert(int(last), value)
                    if seq:
                        parent.pos.insert(int(last), at)
                elif int(last) < len(parent):
                    parent[int(last)] = value
    return out


def meta_of(data: Any, key: str) -> str | None:
    meta = data.get("metadata") if isinstance(data, dict) else None
    value = meta.get(key) if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def split_top_level(text: str, sep: str, opening: str, closing: str) -> list[str]:
    """`text` split at each `sep` outside `opening`...`closing` (nested); a stray closing mark nests nothing."""
    parts: list[str] = []
    start, depth = 0, 0
    for i, ch in enumerate(text):
        if ch == opening:
            depth += 1
        elif ch == closing:
            depth = max(depth - 1, 0)
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


_REQUIREMENT = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9_.-]*)|\s(in|notin)\s*"
                          r"\(([^()]*)\))?\s*$")


def selector_matches(selector: str, labels: dict[str, Any]) -> bool | None:
    """Whether `labels` satisfy a Kubernetes label selector (`a=b,c!=d,e in (f,g),!h`); None when it does
    not parse (kustomize then refuses the build: we apply nothing)."""
    parts = split_top_level(selector, ",", "(", ")")  # commas inside `in (...)` separate nothing
    for part in parts:
        if not part.strip():
            if len(parts) == 1:
                return True  # the empty selector selects everything
            return None
        m = _REQUIREMENT.match(part)
        if m is None:
            return None
        neg, key, op, value, set_op, values = m.groups()
        has, actual = key in labels, labels.get(key)
        actual = str(actual).lower() if isinstance(actual, bool) else None if actual is None else str(actual)
        if neg:
            if op or set_op:
                return None
            ok = not has
        elif op in ("=", "=="):
            ok = has and actual == value
        elif op == "!=":
            ok = not has or actual != value
        elif set_op:
            choices = {v.strip() for v in values.split(",")}
            ok = (has and actual in choices) if set_op == "in" else (not has or actual not in choices)
        else:
            ok = has
        if not ok:
            return False
    return True


def _meta_map(data: Any, key: str) -> dict[str, Any]:
    meta = data.get("metadata") if isinstance(data, dict) else None
    value = meta.get(key) if isinstance(meta, dict) else None
    return value if isinstance(value, dict) else {}


def _selects(target: Any, doc: Rendered) -> bool:
    """Kustomize's target selection: kind, name and namespace are anchored regular expressions."""
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
    if isinstance(group, str) and group and api.rpartition("/")[0] != group:
        return False
    if isinstance(version, str) and version and api.split("/")[-1] != version:
        return False
    for key, field in (("labelSelector", "labels"), ("annotationSelector", "annotations")):
        want = target.get(key)
        if isinstance(want, str) and want.strip() and not selector_matches(want, _meta_map(data, field)):
            return False
    return True


def _retargeted(patch: dict[Any, Any], doc: Rendered) -> dict[Any, Any]:
    """A strategic-merge patch applied through a target patches each selected object whatever it names itself
    (`metadata.name: _` is the convention): kustomize gives the patch the object's identity first."""
    out = {k: v for k, v in patch.items() if k not in ("apiVersion", "kind")}
    meta = patch.get("metadata")
    if isinstance(meta, dict):
        rest = {k: v for k, v in meta.items() if k not in ("name", "namespace")}
        if rest:
            out["metadata"] = rest
        else:
            out.pop("metadata", None)
    return out


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
            elif isinstance(patch, dict) and target:
                if _selects(target, doc):
                    data = merge(data, _retargeted(patch, doc))
            elif isinstance(patch, dict) and _same_object(patch, doc):
                data = merge(data, patch)
        if data is doc.data:
            out.append(doc)
            continue
        # A patch that rewrites metadata.namespace moves the object (the transformers after it see the new one).
        written = meta_of(data, "namespace")
        ns = written if written != meta_of(doc.data, "namespace") else doc.namespace
        out.append(Rendered(doc.path, doc.index, doc.line, data, ns))
    return out


def flux_patches(spec: Any) -> list[tuple[list[Any], Any]]:
    """A Flux Kustomization's `spec.patches` as (patch documents, target) pairs. Each `patch` is an inline
    strategic-merge document or a JSON 6902 operation list; one that does not parse is skipped (Flux reports
    it when it builds)."""
    from ...parsing import ParseError
    from ...parsing.yamlx import load_documents

    items = spec.get("patches") if isinstance(spec, dict) else None
    out: list[tuple[list[Any], Any]] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("patch"), str):
            continue
        try:
            docs = [d.data for d in load_documents(item["patch"])]
        except ParseError:
            continue
        target = item.get("target") if isinstance(item.get("target"), dict) else None
        out.append(([d for d in docs if isinstance(d, (dict, list))], target))
    return out


def apply_flux_patches(docs: list[Rendered], spec: Any) -> list[Rendered]:
    """What a Flux Kustomization applies: `docs` (its path, built) with its own `spec.patches` applied, in
    order, the way kustomize-controller adds them to the kustomization it builds."""
    for patch_docs, target in flux_patches(spec):
        docs = apply_patch(docs, patch_docs, target)
    return docs
