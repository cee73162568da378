"""Where CL112 takes the schema of a Flux object from: the repository's own CRDs, else the shipped data.

For each kind and `apiVersion`, the repository's `gotk-components.yaml` decides when it holds the CRD
serving that version (exactly what that cluster runs); otherwise the compact data shipped in
`cloudlab_lint/data/flux-crds/` (current Flux and flux-operator, `python -m cloudlab_lint.fluxschemagen`).
When several `gotk-components.yaml` serve it (one per cluster), the one whose cluster folder shares the
longest leading path with the object's file decides, the first by path on a tie.

Nothing is read before a Flux object asks: the shipped index and a kind's data are loaded, and the
repository's CRDs read, the first time an object of that kind needs them; each is converted once per run.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from typing import Any

from ...repo import Repo
from .compact import CRDError, compact_crd, crd_identity, served_versions

DATA = Path(__file__).resolve().parents[2] / "data" / "flux-crds"
OPERATOR_GROUP = "fluxcd.controlplane.io"
COMPONENTS = ("gotk-components.yaml", "gotk-components.yml")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,62}$")


def is_flux_group(group: str) -> bool:
    """The API groups of Flux's controllers (`*.fluxcd.io`) and of flux-operator."""
    return group.endswith(".fluxcd.io") or group == OPERATOR_GROUP


def split_api(api: Any) -> tuple[str, str] | None:
    """(group, version) of an `apiVersion` naming a Flux group, else None."""
    if not isinstance(api, str) or api.count("/") != 1:
        return None
    group, version = api.split("/")
    return (group, version) if is_flux_group(group) and version else None


# A CRD as CL112 keeps it: the versions it serves, the compact schema of each (None: it cannot be read), and why not.
CRDFacts = tuple[tuple[str, ...], "dict[str, Any] | None", "str | None"]


def crd_facts(docs: list[Any] | None, path: str) -> list[tuple[str, str, tuple[str, ...], Any, str | None]] | None:
    """`views.FLUX_CRDS`: the Flux CRDs of a components file, (group, kind, versions served, compact schema by
    version or None, why it cannot be read), in the file's order. Small beside the file (half a megabyte of YAML),
    so a commit hook keeps them by the file's content instead of parsing it whenever a Flux object is staged."""
    if docs is None:
        return None
    out = []
    for doc in docs:
        ident = crd_identity(doc.data)
        if ident is None or not is_flux_group(ident[0]):
            continue
        served = tuple(served_versions(doc.data))
        try:
            out.append((*ident, served, compact_crd(doc.data), None))
        except CRDError as exc:
            out.append((*ident, served, None, str(exc)))
    return out


class Schema:
    """The compact schema of one kind at one version, and where it came from (said in findings)."""

    __slots__ = ("group", "kind", "version", "node", "origin")

    def __init__(self, group: str, kind: str, version: str, node: dict[str, Any], origin: str) -> None:
        self.group, self.kind, self.version, self.node, self.origin = group, kind, version, node, origin


class FluxSchemas:
    """The schemas one run uses (`for_repo`): looked up per object, each read and converted once."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self._index: dict[str, Any] | None = None
        self._bundled: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._crds: dict[tuple[str, str], list[tuple[str, CRDFacts]]] | None = None
        self._noted: set[tuple[str, str, str]] = set()
        self._validators: dict[tuple[str, str, str, str], Any] = {}

    # -- the shipped data ----------------------------------------------------------------

    def index(self) -> dict[str, dict[str, list[str]]]:
        """group -> kind -> versions the shipped data holds."""
        return self._shipped()["kinds"]

    def _shipped(self) -> dict[str, Any]:
        if self._index is None:
            self._index = json.loads((DATA / "index.json").read_text(encoding="utf-8"))
        return self._index

    def _bundled_kind(self, group: str, kind: str) -> dict[str, Any] | None:
        key = (group, kind)
        if key not in self._bundled:
            known = kind in self.index().get(group, {}) and _NAME.match(kind)
            self._bundled[key] = (json.loads((DATA / group / f"{kind}.json").read_text(encoding="utf-8"))
                                  if known else None)
        return self._bundled[key]

    # -- the repository's CRDs -----------------------------------------------------------

    def repo_crds(self) -> dict[tuple[str, str], list[tuple[str, CRDFacts]]]:
        """(group, kind) -> [(gotk-components path, that CRD's facts)] of the Flux CRDs the repository holds."""
        if self._crds is None:
            from ...views import FLUX_CRDS

            self._crds = {}
            for path in self.repo.files:
                if posixpath.basename(path) in COMPONENTS:
                    for group, kind, served, nodes, error in self.repo.view(path, FLUX_CRDS) or []:
                        self._crds.setdefault((group, kind), []).append((path, (served, nodes, error)))
        return self._crds

    def components_files(self) -> list[str]:
        return sorted({path for found in self.repo_crds().values() for path, _ in found})

    # -- lookup --------------------------------------------------------------------------

    def known_kinds(self, group: str) -> set[str]:
        """Every kind of `group` a schema exists for, shipped or the repository's own."""
        return set(self.index().get(group, {})) | {k for g, k in self.repo_crds() if g == group}

    def lookup(self, group: str, kind: str, version: str, path: str) -> Schema | None:
        """The schema for an object of `group/version` `kind` in file `path`; None when none serves it."""
        serving = sorted([(p, crd) for p, crd in self.repo_crds().get((group, kind), []) if version in crd[0]],
                         key=lambda found: found[0])
        if serving:
            where, (_, nodes, error) = max(serving, key=lambda found: _shared(found[0], path))  # the first closest
            if error is not None and (where, group, kind) not in self._noted:
                self._noted.add((where, group, kind))
                self.repo.notes.append(f"{where}: the CRD of {kind} cannot be read ({error}); CL112 uses the "
                                       f"schema cloudlab-lint ships")
            node = (nodes or {}).get(version)
            if node is not None:
                return Schema(group, kind, version, node, where)
        data = self._bundled_kind(group, kind)
        node = (data or {}).get("versions", {}).get(version)
        if node is None:
            return None
        return Schema(group, kind, version, node, "")

    def validator(self, schema: Schema) -> Any:
        """The validator of `schema` (`validate.validator_for`), built once per run."""
        key = (schema.origin, schema.group, schema.kind, schema.version)
        if key not in self._validators:
            from .validate import validator_for

            if not schema.origin:
                self._validators[key] = validator_for(schema.node)
                return self._validators[key]
            skipped: list[str] = []
            self._validators[key] = validator_for(schema.node, frozenset(self._shipped()["patterns"]), skipped)
            if skipped:
                self.repo.notes.append(f"{schema.origin}: {len(skipped)} pattern(s) of the {schema.kind} "
                                       f"{schema.version} CRD not checked: they could take exponential time")
        return self._validators[key]


def _shared(components: str, path: str) -> int:
    """How many leading folders the cluster of a `gotk-components.yaml` shares with `path`'s folder."""
    folder = posixpath.dirname(components)
    if posixpath.basename(folder) == "flux-system":
        folder = posixpath.dirname(folder)
    mine, theirs = posixpath.dirname(path).split("/"), folder.split("/") if folder else []
    shared = 0
    for a, b in zip(mine, theirs, strict=False):
        if a != b:
            break
        shared += 1
    return shared


def for_repo(repo: Repo) -> FluxSchemas:
    return repo.cached(("flux-crd-schemas",), lambda: FluxSchemas(repo))
