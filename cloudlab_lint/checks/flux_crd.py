"""CL112 flux-schema: every Flux object against the OpenAPI schema of its CRD, one file at a time.

A file's Flux objects are judged on their own (no tree model): a commit hook judges the staged files,
and every file when a `gotk-components.yaml` is staged or deleted (the CRDs every object is judged by
changed).
Where the schema comes from is `stack/crd/schemas.py`; how the API server applies it, `stack/crd/validate.py`
(both imported only once a Flux object is found). Missing fields that CL103 and CL105 own are theirs;
a document in a kustomize patch file is partial by design, so only what it sets is judged.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..model import Hit, Location
from ..stack.gitops.names import HELM_GROUP, KS_GROUP, kfile_in
from . import Context, check

if TYPE_CHECKING:
    from ..repo import Repo
    from ..stack.crd.schemas import FluxSchemas

# The files that hold a repository's own CRDs (as `stack/flux_crds.COMPONENTS`, which a test holds this to):
# a hook staging none of them and no Flux object never imports the schema machinery.
COMPONENTS = ("gotk-components.yaml", "gotk-components.yml")

MAX_FIELD = 200  # characters of a field's path, a kind or a name that a message shows
MAX_PER_OBJECT = 50  # a document that is wrong everywhere is said in full up to here, then counted
# Missing required fields that CL103 (Kustomization) and CL105 (HelmRelease) report: (exactly, or anything below).
OWNED = {
    (KS_GROUP, "Kustomization"): ({"spec.interval", "spec.prune", "spec.path"}, ("spec.sourceRef",)),
    (HELM_GROUP, "HelmRelease"): ({"spec.interval", "spec.chart", "spec.chart.spec", "spec.chart.spec.version"},
                                  ("spec.chart.spec.sourceRef", "spec.chartRef")),
}


@check("flux-schema")
def flux_schema(ctx: Context) -> Iterator[Hit]:
    repo = ctx.repo
    schemas: FluxSchemas | None = None
    patches = Patches(repo)
    for path in _judged_files(repo, ctx.files):
        objs = _objects(repo, path)
        for i, (data, line) in enumerate(objs):
            version = data.get("apiVersion")
            if not isinstance(version, str) or "fluxcd" not in version:
                continue  # no Flux group (`split_api`): the schema machinery is not even imported
            from ..stack.crd.schemas import for_repo, split_api

            api = split_api(version)
            kind = data.get("kind") if api is not None else None
            if not isinstance(kind, str) or _encrypted(data):
                continue
            if schemas is None:
                schemas = for_repo(repo)
            judged = (schemas, path, line, api[0], api[1], kind, patches.is_patch(path))
            yield from _judged(repo, judged, data, (len(objs), i))


def _objects(repo: Repo, path: str) -> list[tuple[dict, int]]:
    """The Kubernetes objects of a manifest that holds a Flux object, and where each starts, as kubectl applies
    them (`stack/kinds`: List items, JSON manifests), as the manifest facts the Flux model reads anyway give them
    (a HelmRelease's `values` left out); none for any other manifest."""
    from ..stack.gitops.facts import manifest_facts
    from ..stack.kinds import objects

    facts = objects(manifest_facts(repo, path))
    if not any(isinstance(v := d.data.get("apiVersion"), str) and "fluxcd" in v for d in facts):
        return []
    return [(d.data, d.line) for d in facts]


def _whole_object(repo: Repo, path: str, count: int, index: int) -> dict | None:
    """Object `index` of the `count` objects of `path`, read whole (None where the file no longer lines up)."""
    from ..stack.kinds import objects

    docs = objects(repo.yaml(path))
    return docs[index].data if len(docs) == count else None


def _judged(repo: Repo, judged: tuple[Any, ...], data: dict, at: tuple[int, int]) -> list[Hit]:
    """The object's hits, judged on its manifest facts where they suffice: a schema that never looks inside
    what the facts left out (a HelmRelease's `values` is free-form: only its type is asked) judges the facts as it
    would the whole object. Where it looks inside (`NotExtracted`), or finds anything at all (a finding is said
    from the object as written), the object is judged whole."""
    from ..stack.gitops.facts import NotExtracted, is_whole

    schemas, path, line, group, version, kind, patch = judged
    if not is_whole(data):
        try:
            if not (hits := list(_judge(schemas, path, data, line, group, version, kind, patch))):
                return hits
        except NotExtracted:
            pass
        whole = _whole_object(repo, path, *at)  # `at`: (how many objects the file has, which one this is)
        if whole is None:
            return []
        data = whole
    return list(_judge(schemas, path, data, line, group, version, kind, patch))


def _judged_files(repo: Repo, files: tuple[str, ...]) -> list[str]:
    """The manifests among the judged files (every file when a change touches the CRDs others are judged by:
    the rule's `rejudge_all`)."""
    targets = files
    from ..stack.kinds import is_manifest_name
    from ..stack.refs import is_chart_template

    return [p for p in targets if is_manifest_name(p) and posixpath.basename(p) not in COMPONENTS
            and not is_chart_template(p, repo.file_set)]


def _encrypted(data: dict) -> bool:
    """A SOPS-encrypted object: Flux decrypts it before applying; its ciphertext cannot be judged."""
    sops = data.get("sops")
    return isinstance(sops, dict) and "mac" in sops


def _judge(schemas: FluxSchemas, path: str, data: dict, line: int, group: str, version: str, kind: str,
           patch: bool) -> Iterator[Hit]:
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    shown = f"{_cut(kind)} `{_cut(name)}`" if isinstance(name, str) and name else _cut(kind)
    ident = f"{kind}/{namespace or ''}/{name}"
    schema = schemas.lookup(group, kind, version, path)
    if schema is None:
        known = schemas.known_kinds(group)
        if known and kind not in known:
            hint = _closest(kind, known)
            yield Hit(f"{shown}: no kind `{_cut(kind)}` in `{group}`"
                      + (f"; did you mean `{hint}`?" if hint else f" (it has {', '.join(sorted(known))})"),
                      Location(path, *_place(data, ("kind",), line)),
                      key=f"kind:{group}:{ident}")
        return  # a version no schema serves: CL110 names the removed ones
    exact, below = OWNED.get((group, kind), (set(), ()))
    seen: set[tuple[Any, ...]] = set()

    def shown_errors() -> Iterator[tuple[tuple[int, int], str, Any]]:
        for error in schemas.validator(schema).iter_errors(data):
            keys = tuple(error.absolute_path)
            field = _field(keys)
            if error.validator == "required" and (patch or field in exact or any(
                    field == root or field.startswith(root + ".") for root in below)):
                continue
            if error.validator == "additionalProperties" and patch and str(keys[-1]).startswith("$"):
                continue  # a strategic-merge directive (`$patch: delete`)
            if (keys, error.validator) not in seen:
                seen.add((keys, error.validator))
                yield _place(data, keys, line), field, error

    # The first by place, holding no more than those in memory: an object may be wrong a million times.
    import heapq

    first = heapq.nsmallest(MAX_PER_OBJECT, shown_errors(), key=lambda k: (k[0], k[1]))
    origin = f" (CRD in {schema.origin})" if schema.origin else ""
    for (at_line, at_column), field, error in first:
        yield Hit(f"{shown}: `{field}` {_message(error)}{origin}", Location(path, at_line, at_column),
                  key=f"{ident}:{field}:{error.validator}")
    if len(seen) > MAX_PER_OBJECT:
        yield Hit(f"{shown}: {len(seen) - MAX_PER_OBJECT} more schema problems not shown{origin}",
                  Location(path, line), key=f"{ident}:more")


def _message(error: Any) -> str:
    """What is wrong, and the closest valid field name or enum value where one is near."""
    from ..stack.crd.validate import describe

    hint = None
    if error.validator == "additionalProperties":
        hint = _closest(str(error.absolute_path[-1]), list(error.schema.get("properties", {})))
    elif error.validator == "enum" and isinstance(error.instance, str):
        hint = _closest(error.instance, [v for v in error.validator_value if isinstance(v, str)])
    return describe(error) + (f"; did you mean `{_cut(hint)}`?" if hint else "")


def _field(keys: tuple[Any, ...]) -> str:
    out = ""
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return _cut(out) or "(document)"


def _cut(text: str) -> str:
    """At most MAX_FIELD characters of what the document wrote: a hostile key is not repeated whole."""
    return text if len(text) <= MAX_FIELD else text[:MAX_FIELD] + "…"


def _place(data: Any, keys: tuple[Any, ...], default: int) -> tuple[int, int]:
    """(line, column) of the deepest key along `keys` that exists (a list item's own place for an index)."""
    node, place = data, (getattr(data, "line", default), getattr(data, "col", 1))
    for key in keys:
        if isinstance(node, dict) and key in node:
            place = getattr(node, "keys_pos", {}).get(key, place)
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            positions = getattr(node, "pos", [])
            place = positions[key] if key < len(positions) else place
            node = node[key]
        else:
            break
    return place


def _closest(word: str, known: Any) -> str | None:
    if len(word) > MAX_FIELD:
        return None  # nothing valid is that long: no need to compare
    names = sorted(str(k) for k in known)
    folded = [n for n in names if n.lower() == word.lower()]
    if folded:
        return folded[0]
    import difflib

    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return close[0] if close else None


class Patches:
    """Which files a kustomization lists as patches: their documents are partial by design.

    Kustomize reads a patch from inside the kustomization's own folder, so a file's folder and those above
    it hold every kustomization file that can name it; each is read once per run, and only for files
    holding a Flux object.
    """

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self._by_folder: dict[str, frozenset[str]] = {}

    def is_patch(self, path: str) -> bool:
        folder = posixpath.dirname(path)
        while True:
            if path in self._patches_in(folder):
                return True
            if not folder:
                return False
            folder = posixpath.dirname(folder)

    def _patches_in(self, folder: str) -> frozenset[str]:
        if folder not in self._by_folder:
            found: frozenset[str] = frozenset()
            kfile = kfile_in(self.repo, folder)
            if kfile is not None:
                from ..stack.gitops.kustomize import parse_kfile

                kf = parse_kfile(self.repo, kfile)
                found = frozenset(e.target for e in kf.entries if e.is_patch and e.target) if kf else frozenset()
            self._by_folder[folder] = found
        return self._by_folder[folder]
