"""Refresh the Flux CRD schema data CL112 ships (`cloudlab_lint/data/flux-crds/`), from CRD files.

    python -m cloudlab_lint.fluxschemagen [--out DIR] SOURCE[=LABEL] ...

A SOURCE is a CRD YAML file or a folder of them: `config/crd/bases/` in checkouts of fluxcd's
source-controller, kustomize-controller, helm-controller, notification-controller,
image-reflector-controller, image-automation-controller and source-watcher, and of
controlplaneio-fluxcd/flux-operator, each at the release tag current Flux ships. LABEL (say
`fluxcd/helm-controller@v1.6.3`) is recorded as where the data came from. Every served version of every
Flux CRD (`*.fluxcd.io`, `fluxcd.controlplane.io`) is written in the compact form of
`stack/crd/compact.py` (the facts of the API, none of its prose), one file per kind, plus `index.json`
(`kinds`: group -> kind -> versions; `patterns`: every pattern the data holds). The output replaces the
folder's previous contents. With flux-operator among the sources, the Alert and Receiver enums of
event-source kinds gain the operator's kinds, as the Flux it installs serves them (`add_operator_kinds`).

The data shipped now came from source-controller v1.9.1, kustomize-controller v1.9.4, helm-controller
v1.6.3, notification-controller v1.9.3, image-reflector-controller v1.2.0, image-automation-controller
v1.2.1, source-watcher v2.2.1 (Flux 2.9) and flux-operator v0.58.1; each kind file names its source.

Run by hand when Flux releases; never at run time, never from the hook path (nothing imports this module).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from .stack.crd.compact import compact_crd, crd_identity
from .stack.crd.schemas import DATA, OPERATOR_GROUP, is_flux_group


def crd_files(source: Path) -> list[Path]:
    if source.is_dir():
        return sorted(p for p in source.iterdir() if p.suffix in (".yaml", ".yml"))
    return [source]


def collect(sources: list[tuple[Path, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """{(group, kind): {"source": label, "versions": {version: compact}}} of every Flux CRD in `sources`."""
    import yaml

    found: dict[tuple[str, str], dict[str, Any]] = {}
    for source, label in sources:
        for path in crd_files(source):
            for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                ident = crd_identity(doc)
                if ident is None or not is_flux_group(ident[0]):
                    continue
                if ident in found:
                    raise SystemExit(f"{path}: {ident[0]}/{ident[1]} is defined twice among the sources")
                found[ident] = {"group": ident[0], "kind": ident[1], "source": f"{label} {path.name}",
                                "versions": compact_crd(doc)}
    return found


# flux-operator installs Flux with the Alert and Receiver CRDs patched to accept its own kinds as event sources
# and receiver resources (its `internal/builder` templates): a cluster run by the operator, the one that keeps
# no gotk-components.yaml of its own, serves these enums.
OPERATOR_KINDS = ("FluxInstance", "ResourceSet", "ResourceSetInputProvider")
OPERATOR_ENUMS = {("notification.toolkit.fluxcd.io", "Alert"): ("spec", "eventSources"),
                  ("notification.toolkit.fluxcd.io", "Receiver"): ("spec", "resources")}


def add_operator_kinds(found: dict[tuple[str, str], dict[str, Any]]) -> None:
    if not any(group == OPERATOR_GROUP for group, _ in found):
        return
    for ident, (spec, field) in OPERATOR_ENUMS.items():
        for node in found.get(ident, {}).get("versions", {}).values():
            kind = node["fields"][spec]["fields"][field]["items"]["fields"]["kind"]
            kind["enum"] = [*kind["enum"], *(k for k in OPERATOR_KINDS if k not in kind["enum"])]


def write(found: dict[tuple[str, str], dict[str, Any]], out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    kinds: dict[str, dict[str, list[str]]] = {}
    patterns: set[str] = set()
    for (group, kind), data in sorted(found.items()):
        target = out / group / f"{kind}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
        kinds.setdefault(group, {})[kind] = sorted(data["versions"])
        patterns.update(_patterns(data["versions"]))
    index = {"kinds": kinds, "patterns": sorted(patterns)}
    (out / "index.json").write_text(json.dumps(index, sort_keys=True, indent=1) + "\n", encoding="utf-8")


def _patterns(node: Any) -> set[str]:
    """Every `pattern` in compact nodes: Flux's own, run as they are even where a repository's CRD has them."""
    if isinstance(node, dict):
        own = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
        return own.union(*(_patterns(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_patterns(v) for v in node))
    return set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cloudlab_lint.fluxschemagen", description=__doc__.split("\n")[0])
    parser.add_argument("sources", nargs="+", metavar="SOURCE[=LABEL]")
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args(argv)
    sources = []
    for text in args.sources:
        path, _, label = text.partition("=")
        if not Path(path).exists():
            parser.error(f"{path}: no such file or folder")
        sources.append((Path(path), label or Path(path).name))
    found = collect(sources)
    if not found:
        parser.error("no Flux CRD found in the sources")
    add_operator_kinds(found)
    write(found, args.out)
    sys.stdout.write(f"{len(found)} kinds written to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
