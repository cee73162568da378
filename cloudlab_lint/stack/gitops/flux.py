"""What a Flux Kustomization adds on top of `kustomize build` of its path, as kustomize-controller does:
its `spec.patches`, `namePrefix`/`nameSuffix`, `targetNamespace`, and `postBuild` substitution; and the
objects a flux-operator `ResourceSet` in it generates when its inputs are in the repository.

(`spec.components` join in `GitOps.applied`; `.sourceignore` and `spec.ignore` filter files in the build.)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..kinds import flatten
from .facts import Omitted
from .kustomize import renamed, with_namespace
from .patch import Rendered, apply_flux_patches, clone

if TYPE_CHECKING:
    from .objects import Index

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::=([^}]*))?\}")
_INPUT = re.compile(r"<<-?\s*inputs\.([A-Za-z0-9_]+)\s*-?>>")
OPERATOR_GROUP = "fluxcd.controlplane.io"
GENERATED = 1_000_000  # documents a ResourceSet generates: index GENERATED * (its own index + 1) + a count


def flux_rendered(gitops: Index, docs: list[Rendered], spec: Any, scope: list[Any] | None = None) -> list[Rendered]:
    """`docs` as Flux applies them; `scope` is what the cluster applies so far (where its ConfigMaps are)."""
    docs = apply_flux_patches(docs, spec)
    prefix, suffix = spec.get("namePrefix"), spec.get("nameSuffix")
    if isinstance(prefix, str) and prefix or isinstance(suffix, str) and suffix:
        docs = [renamed(d, prefix if isinstance(prefix, str) else "", suffix if isinstance(suffix, str) else "")
                for d in docs]
    target = spec.get("targetNamespace")
    if isinstance(target, str) and target and "${" not in target:
        docs = [with_namespace(d, target) for d in docs]
    if isinstance(spec.get("postBuild"), dict):
        values = substitutions(gitops, spec, scope)
        docs = [_substituted(d, values) for d in docs]
    out: list[Rendered] = []
    for doc in docs:
        out.append(doc)
        if doc.data.get("kind") == "ResourceSet" and OPERATOR_GROUP in str(doc.data.get("apiVersion", "")):
            out.extend(resourceset_docs(gitops, doc))
    return out


def substitutions(gitops: Index, spec: Any, scope: list[Any] | None = None) -> dict[str, str]:
    """`postBuild.substitute`, and `substituteFrom` ConfigMaps whose data is in the repository (Secrets are
    SOPS files: their values are never read). What is not found stays a `${VAR}`: opaque, never a finding."""
    post = spec.get("postBuild") if isinstance(spec, dict) else None
    if not isinstance(post, dict):
        return {}
    values: dict[str, str] = {}
    for item in post.get("substituteFrom") or []:
        if isinstance(item, dict) and item.get("kind") == "ConfigMap" and isinstance(item.get("name"), str):
            values.update(_configmap_data(gitops, item["name"], scope))
    subst = post.get("substitute")
    if isinstance(subst, dict):
        values.update({str(k): str(v) for k, v in subst.items() if isinstance(v, (str, int, float, bool))})
    return values


def _configmap_data(gitops: Index, name: str, scope: list[Any] | None) -> dict[str, str]:
    """The data of the ConfigMap `name` the cluster applies; else of the only one of that name in the repository
    (several clusters each have their own `cluster-settings`: which one is meant is not known, so none)."""
    if scope is not None:
        mine = [o for o in scope if o.kind == "ConfigMap" and o.name == name]
        if mine:
            return _data_of(gitops, mine[0])
    if name not in gitops.configmaps:
        found = _find_configmaps(gitops, name)
        gitops.configmaps[name] = _data_of(gitops, found[0]) if len(found) == 1 else {}
    return gitops.configmaps[name]


def _data_of(gitops: Index, obj: Any) -> dict[str, str]:
    for doc in flatten(gitops.repo.yaml(obj.path)) or []:  # a List item's index is its own
        if doc.index == obj.index and isinstance(doc.data, dict) and isinstance(doc.data.get("data"), dict):
            return {str(k): str(v) for k, v in doc.data["data"].items() if isinstance(v, (str, int, float))}
    return {}


def _find_configmaps(gitops: Index, name: str) -> list[Any]:
    objs = [o for o in gitops.raw if o.kind == "ConfigMap" and o.name == name]
    known = set(gitops.files)
    for path in gitops.repo.files:
        if path not in known and path.endswith((".yaml", ".yml")) and \
                name in (gitops.repo.read_text(path, strict=False) or ""):
            objs.extend(o for o in gitops.raw_of(path, extra=True) if o.kind == "ConfigMap" and o.name == name)
    return objs


def _substituted(doc: Rendered, values: dict[str, str]) -> Rendered:
    changed = False

    def sub(node: Any) -> Any:
        nonlocal changed
        if isinstance(node, str) and "${" in node:
            def one(m: re.Match[str]) -> str:
                if m.group(1) in values:
                    return values[m.group(1)]
                return m.group(2) if m.group(2) is not None else m.group(0)
            new = _VAR.sub(one, node)
            changed = changed or new != node
            return new
        if isinstance(node, Omitted):
            return node  # what the manifest facts left out no rule reads: nothing to substitute
        if isinstance(node, dict):
            for key in list(node):
                node[key] = sub(node[key])
        elif isinstance(node, list):
            for i, item in enumerate(node):
                node[i] = sub(item)
        return node

    data = sub(clone(doc.data))
    if not changed:
        return doc
    return Rendered(doc.path, doc.index, doc.line, data, doc.namespace)


def resourceset_docs(gitops: Index, doc: Rendered) -> list[Rendered]:
    """The objects a ResourceSet generates: its `resources` once per input (inline `inputs`), or once when it
    takes none. Inputs from elsewhere (`inputsFrom`, a provider) are not in the repository: a note."""
    spec = doc.data.get("spec")
    if not isinstance(spec, dict):
        return []
    items = spec.get("resources")
    if not isinstance(items, list) or not items:
        return []
    name = (doc.data.get("metadata") or {}).get("name", "?") if isinstance(doc.data.get("metadata"), dict) else "?"
    if spec.get("inputsFrom"):
        gitops.note(f"{doc.path}: ResourceSet `{name}` takes its inputs from outside the repository "
                    f"(`inputsFrom`): what it generates is not modelled")
        return []
    inputs = spec.get("inputs")
    rows = [i for i in inputs if isinstance(i, dict)] if isinstance(inputs, list) and inputs else [{}]
    out: list[Rendered] = []
    for row in rows:
        for k, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
                continue
            data = _inputs(clone(item), row)
            if data is None:
                continue
            meta = data.get("metadata")
            ns = meta.get("namespace") if isinstance(meta, dict) else None
            line = items.line_of(k) if hasattr(items, "line_of") else doc.line
            index = GENERATED * (doc.index + 1) + len(out)
            out.append(Rendered(doc.path, index, line, data, ns if isinstance(ns, str) else doc.namespace))
    return out


def _inputs(node: Any, row: dict[str, Any]) -> Any:
    """`<< inputs.x >>` replaced by the row's value; None when the template uses what is not a plain input."""
    if isinstance(node, str):
        if "<<" not in node:
            return node
        missing = False

        def one(m: re.Match[str]) -> str:
            nonlocal missing
            if m.group(1) not in row:
                missing = True
                return m.group(0)
            return str(row[m.group(1)])
        new = _INPUT.sub(one, node)
        return None if missing or "<<" in new else new
    if isinstance(node, dict):
        for key in list(node):
            value = _inputs(node[key], row)
            if value is None:
                return None
            node[key] = value
    elif isinstance(node, list):
        for i, item in enumerate(node):
            value = _inputs(item, row)
            if value is None:
                return None
            node[i] = value
    return node
