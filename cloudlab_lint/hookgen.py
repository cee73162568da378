"""`.pre-commit-hooks.yaml`, generated from rules/ (`python -m cloudlab_lint.hookgen > .pre-commit-hooks.yaml`).

One hook per family plus `cloudlab-lint` (every rule that fits a commit). Hooks
pass the staged file names; whole-tree rules decide themselves whether a file
they depend on is among them, and read the rest from what git tracks.
`require_serial` keeps pre-commit from splitting one run into batches that
would each report whole-tree findings again.
"""

from __future__ import annotations

import json

from .catalog import Catalog, load_catalog

FAMILY_HOOKS = {
    "cloudlab-gitignore": "never-commit files and .gitignore coverage",
    "cloudlab-sops": "SOPS files hold only ciphertext; encryption where required",
    "cloudlab-secrets": "no plaintext secrets in staged files",
    "cloudlab-flux": "the Flux GitOps tree",
    "cloudlab-ci": "the validation pipeline: workflows, mise, lefthook, roadmap",
    "cloudlab-history": "every commit of every ref (manual stage)",
    "cloudlab-branch-protection": "branch protection through the GitHub API (manual stage)",
}


def _hook(hook_id: str, name: str, entry: str, *, manual: bool = False, pass_filenames: bool = True) -> list[str]:
    lines = [
        f"- id: {hook_id}",
        f"  name: {json.dumps(name)}",
        f"  entry: {entry}",
        "  language: python",
        "  types: [file]",
        "  require_serial: true",
    ]
    if not pass_filenames:
        lines += ["  pass_filenames: false", "  always_run: true"]
    if manual:
        lines.append("  stages: [manual]")
    return lines


def render(catalog: Catalog | None = None) -> str:
    catalog = catalog or load_catalog()
    out = ["# Generated from rules/ by `python -m cloudlab_lint.hookgen`; a test fails when it is stale.",
           *_hook("cloudlab-lint", "cloudlab-lint (every commit-stage rule)", "cloudlab-lint")]
    for hook_id, what in FAMILY_HOOKS.items():
        rules = [r for r in catalog.rules if r.builtin and r.hook == hook_id]
        if not rules:
            continue  # a family whose rules are not written yet
        requires = {r.requires for r in rules if r.requires}
        # Commit-stage families also report the files they could not parse (CL000), or they would skip them silently.
        always = [] if requires else [r.id for r in catalog.rules if r.builtin and r.check == "parse-error"]
        ids = ",".join([*always, *(r.id for r in rules)])
        flags = "".join(f" --{flag}" for flag in sorted(requires))
        manual = bool(requires)
        entry = f"cloudlab-lint{flags} --all --select {ids}" if manual else f"cloudlab-lint --select {ids}"
        out += ["", *_hook(hook_id, f"cloudlab-lint: {what}", entry, manual=manual, pass_filenames=not manual)]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
