"""`.pre-commit-hooks.yaml`, generated from rules/ (by `python -m cloudlab_lint.gen`, with the docs).

One hook per family plus `cloudlab-lint` (every rule that fits a commit). Every
hook runs on every commit (`always_run`): pre-commit never passes a deleted file
and skips a hook that has none, yet deleting `.gitignore` or a Flux
Kustomization must fail the commit. Hooks whose rules judge the whole tree take
no file names (`pass_filenames: false`): the tool reads the change from the
index itself, once, so pre-commit's batching never reports a finding twice.
Every entry ends its own arguments with `--`: a file named `graph` or
`--output=x` is a path, never a subcommand or an option. Every hook declares its
`stages` (as pre-commit advises tool authors: without them a hook also runs at
commit-msg and the like) with the stage names of pre-commit 3.2.0, its
`minimum_pre_commit_version`.
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
    "cloudlab-terraform": "Terraform and Talos: pinned providers, no literal credentials, secret outputs, local state",
    "cloudlab-history": "every commit of every ref (manual and pre-push stages)",
    "cloudlab-branch-protection": "branch protection through the GitHub API (manual stage)",
}
COMMIT_STAGES = "[pre-commit, pre-merge-commit, manual]"
STAGES = {"history": "[manual, pre-push]", "github": "[manual]"}  # by what a family requires
MINIMUM_PRE_COMMIT = "3.2.0"  # the first to take stage names as the git hooks' names


# Families whose rules judge only the files given: pre-commit may pass (and batch) file names.
FILE_HOOKS = frozenset({"cloudlab-sops", "cloudlab-secrets"})


def _hook(hook_id: str, name: str, entry: str, *, stages: str = COMMIT_STAGES, pass_filenames: bool = True
          ) -> list[str]:
    lines = [
        f"- id: {hook_id}",
        f"  name: {json.dumps(name)}",
        f"  entry: {entry} --",
        "  language: python",
        "  types: [file]",
        "  require_serial: true",
    ]
    if not pass_filenames:
        lines.append("  pass_filenames: false")
    lines.append("  always_run: true")
    lines += [f"  stages: {stages}", f"  minimum_pre_commit_version: {json.dumps(MINIMUM_PRE_COMMIT)}"]
    return lines


def render(catalog: Catalog | None = None) -> str:
    catalog = catalog or load_catalog()
    out = ["# Generated from rules/ by `python -m cloudlab_lint.gen`; a test fails when it is stale.",
           *_hook("cloudlab-lint", "cloudlab-lint (every commit-stage rule)", "cloudlab-lint", pass_filenames=False)]
    fixable = [r.id for r in catalog.rules if r.builtin and r.fixable and not r.requires]
    if fixable:
        # Applies the safe fixes and fails when it changed a file, as ruff's hook does: stage the fix, commit again.
        out += ["", *_hook("cloudlab-lint-fix", "cloudlab-lint: apply safe fixes",
                           f"cloudlab-lint --fix --select {','.join(fixable)}", pass_filenames=False)]
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
        stages = STAGES[sorted(requires)[0]] if requires else COMMIT_STAGES
        out += ["", *_hook(hook_id, f"cloudlab-lint: {what}", entry, stages=stages,
                           pass_filenames=not manual and hook_id in FILE_HOOKS)]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
