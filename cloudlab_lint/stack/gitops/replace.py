"""kustomize's `replacements` and `images` transformers over rendered documents.

Selectors match on group, version, kind, name and namespace (the built namespace); field paths are
dot-separated with `[name=value]` list matching, numeric indexes and `*`. A replacement that cannot be
resolved (no source, several sources, a source without the field) is reported, as kustomize fails the build.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...record import record
from .patch import Rendered, clone, split_top_level


@record
class Replacement:
    spec: Any  # the entry's mapping (source, targets)
    line: int  # the `replacements` entry's line


@record
class ImageRule:
    name: str
    new_name: str | None
    new_tag: str | None
    digest: str | None


def split_path(path: str) -> list[str]:
    """`a.b[name=x].c` as segments, dots inside brackets kept."""
    out: list[str] = []
    for part in split_top_level(path, ".", "[", "]"):  # `containers[name=x]` is the field, then the match
        if "[" in part and not part.startswith("["):
            head, _, rest = part.partition("[")
            out.extend([head, "[" + rest])
        elif part:
            out.append(part)
    return out


def _children(node: Any, seg: str) -> Iterator[Any]:
    if seg == "*":
        if isinstance(node, dict):
            yield from node.values()
        elif isinstance(node, list):
            yield from node
    elif seg.startswith("[") and seg.endswith("]") and "=" in seg and isinstance(node, list):
        key, _, value = seg[1:-1].partition("=")
        yield from (i for i in node if isinstance(i, dict) and str(i.get(key)) == value)
    elif isinstance(node, list) and seg.isdigit():
        if int(seg) < len(node):
            yield node[int(seg)]
    elif isinstance(node, dict) and seg in node:
        yield node[seg]


def _lookup(node: Any, segs: list[str]) -> list[Any]:
    nodes = [node]
    for seg in segs:
        nodes = [c for n in nodes for c in _children(n, seg)]
    return nodes


def _set(node: Any, segs: list[str], value: Any, create: bool) -> bool:
    """Set the field `segs` (every match of a wildcard or list selector) to `value`; whether any was set."""
    if not segs:
        return False
    *head, last = segs
    parents = [node]
    for seg in head:
        nxt = [c for p in parents for c in _children(p, seg)]
        plain = not seg.startswith("[") and seg != "*"
        if not nxt and create and plain and len(parents) == 1 and isinstance(parents[0], dict):
            parents[0][seg] = {}
            nxt = [parents[0][seg]]
        parents = nxt
    done = False
    for parent in parents:
        if isinstance(parent, dict) and (last in parent or create):
            parent[last] = value(parent.get(last)) if callable(value) else value
            done = True
        elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
            parent[int(last)] = value(parent[int(last)]) if callable(value) else value
            done = True
    return done


def _gvk(doc: Rendered) -> tuple[str, str, str, str | None]:
    api = str(doc.data.get("apiVersion") or "")
    group, _, version = api.rpartition("/")
    meta = doc.data.get("metadata") if isinstance(doc.data.get("metadata"), dict) else {}
    return group, version, str(doc.data.get("kind") or ""), meta.get("name")


def selected(doc: Rendered, sel: Any) -> bool:
    if not isinstance(sel, dict):
        return False
    group, version, kind, name = _gvk(doc)
    have = {"group": group, "version": version, "kind": kind, "name": name, "namespace": doc.namespace}
    return all(sel.get(k) is None or sel.get(k) == have[k] for k in have)


def _read(doc: Rendered, path: str) -> list[Any]:
    segs = split_path(path)
    if segs == ["metadata", "namespace"]:
        return [doc.namespace] if doc.namespace is not None else []
    return _lookup(doc.data, segs)


def _source_value(docs: list[Rendered], spec: dict[str, Any]) -> Any:
    """The value a replacement carries, or raises ValueError with kustomize's reason."""
    source = spec.get("source")
    if not isinstance(source, dict) or not isinstance(spec.get("targets"), list):
        raise ValueError("replacements must specify a source and at least one target")
    matches = [d for d in docs if selected(d, source)]
    shown = _shown(source)
    if not matches:
        raise ValueError(f"found no matches for source {shown}")
    if len(matches) > 1:
        raise ValueError(f"more than one match for source {shown}")
    path = source.get("fieldPath") if isinstance(source.get("fieldPath"), str) else ""
    path = path or "metadata.name"
    found = _read(matches[0], path)
    if not found:
        raise ValueError(f"fieldPath `{path}` is missing for replacement source {shown}")
    value = clone(found[0])
    opts = source.get("options") if isinstance(source.get("options"), dict) else {}
    delim = opts.get("delimiter")
    if isinstance(delim, str) and delim:
        parts = str(value).split(delim)
        index = opts.get("index") if isinstance(opts.get("index"), int) else 0
        if not 0 <= index < len(parts):
            raise ValueError(f"options.index {index} is out of bounds for value {value}")
        value = parts[index]
    return value


def _shown(sel: dict[str, Any]) -> str:
    return "/".join(str(sel[k]) for k in ("group", "version", "kind", "namespace", "name") if sel.get(k))


def _combine(old: Any, value: Any, opts: dict[str, Any]) -> Any:
    delim = opts.get("delimiter")
    if not (isinstance(delim, str) and delim) or not isinstance(old, str):
        return value
    parts = old.split(delim)
    index = opts.get("index") if isinstance(opts.get("index"), int) else 0
    if index < 0:
        parts.insert(0, str(value))
    elif index >= len(parts):
        parts.append(str(value))
    else:
        parts[index] = str(value)
    return delim.join(parts)


def _apply_target(doc: Rendered, target: dict[str, Any], value: Any) -> Rendered:
    opts = target.get("options") if isinstance(target.get("options"), dict) else {}
    create = opts.get("create") is True
    data, namespace = clone(doc.data), doc.namespace
    paths = target.get("fieldPaths") if isinstance(target.get("fieldPaths"), list) else ["metadata.name"]
    for path in paths:
        if not isinstance(path, str):
            continue
        segs = split_path(path)
        if segs == ["metadata", "namespace"]:
            namespace = str(_combine(namespace, value, opts)) if namespace is not None or create else namespace
            if namespace is not None:
                _set(data, segs, namespace, True)
            continue
        _set(data, segs, lambda old: _combine(old, clone(value), opts), create)
    return Rendered(doc.path, doc.index, doc.line, data, namespace)


def replaced(docs: list[Rendered], rules: tuple[Replacement, ...]) -> tuple[list[Rendered], list[tuple[int, str]]]:
    """`docs` with `rules` applied in order, and (line, reason) for each rule kustomize would fail on."""
    errors: list[tuple[int, str]] = []
    for rule in rules:
        spec = rule.spec if isinstance(rule.spec, dict) else {}
        try:
            value = _source_value(docs, spec)
        except ValueError as exc:
            errors.append((rule.line, str(exc)))
            continue
        targets = spec.get("targets")
        for target in targets if isinstance(targets, list) else []:
            if isinstance(target, dict):
                docs = [_apply_target(d, target, value) if _is_target(d, target) else d for d in docs]
    return docs, errors


def _is_target(doc: Rendered, target: dict[str, Any]) -> bool:
    rejects = target.get("reject") if isinstance(target.get("reject"), list) else []
    return selected(doc, target.get("select")) and not any(selected(doc, r) for r in rejects)


# -- images -----------------------------------------------------------------------------------------------


def split_image(image: str) -> tuple[str, str, str]:
    """(name, ":tag" or "", "@digest" or "")."""
    name, at, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon:]
    return name, tag, at + digest


def new_image(image: str, rules: tuple[ImageRule, ...]) -> str:
    name, tag, digest = split_image(image)
    for rule in rules:
        if rule.name != name:
            continue
        if rule.digest:
            tag, digest = "", "@" + rule.digest
        elif rule.new_tag:
            tag, digest = ":" + rule.new_tag, ""
        return (rule.new_name or name) + tag + digest
    return image


def _retag(node: Any, rules: tuple[ImageRule, ...]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers", "ephemeralContainers") and isinstance(value, list):
                for item in value:
                    if isinstance(item, dict) and isinstance(item.get("image"), str):
                        item["image"] = new_image(item["image"], rules)
            else:
                _retag(value, rules)
    elif isinstance(node, list):
        for item in node:
            _retag(item, rules)


def imaged(doc: Rendered, rules: tuple[ImageRule, ...]) -> Rendered:
    """kustomize's image transformer on one object: every container's and init container's `image`."""
    data = clone(doc.data)
    _retag(data, rules)
    return Rendered(doc.path, doc.index, doc.line, data, doc.namespace)


def parse_images(items: Any) -> tuple[ImageRule, ...]:
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            out.append(ImageRule(item["name"], _str(item.get("newName")), _str(item.get("newTag")),
                                 _str(item.get("digest"))))
    return tuple(out)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
