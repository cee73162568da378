"""The pre-commit framework as a hook runner (CL204's `runners: [pre-commit]`): `.pre-commit-config.yaml`.

Each hook becomes a `HookCommand` of the `pre-commit` hook, so that the pipeline model follows and
matches it as it does lefthook's: a `local` hook runs its `entry` (with `args`); a hook from another
repository runs what that repository's `.pre-commit-hooks.yaml` says, known here for the hooks that
matter to CL204 (`KNOWN_HOOKS`); others are kept with no command (never a match, never slow). Staged
files are passed unless `pass_filenames: false` (written as lefthook's `{staged_files}`). A hook whose
`stages` (or the config's `default_stages`) leave out the commit stage never runs on a commit.
"""

from __future__ import annotations

from typing import Any

from .lefthook import HookCommand
from .scope import PRE_COMMIT_CONFIG as CONFIG

COMMIT_STAGES = ("pre-commit", "commit")
# Remote hooks by id: (what runs, default `files` regex, whether it takes file names).
KNOWN_HOOKS: dict[str, tuple[str, str | None, bool]] = {
    "gitleaks": ("gitleaks git --pre-commit --redact --staged --verbose", None, False),
    "gitleaks-docker": ("gitleaks git --pre-commit --redact --staged --verbose", None, False),
    "gitleaks-system": ("gitleaks git --pre-commit --redact --staged --verbose", None, False),
    # pre-commit-terraform: `terraform fmt` rewrites, and the commit fails on any change (a check).
    "terraform_fmt": ("terraform fmt -check", r"\.tf(vars)?$", True),
    "terraform_validate": ("terraform validate", r"\.(tf|tofu)(vars)?$", False),
    "terraform_tflint": ("tflint", r"\.(tf|tofu)(vars)?$", False),
    "tflint": ("tflint", r"\.tf$", False),
    "cloudlab-history": ("cloudlab-lint --history", None, False),
}


def load_precommit(repo: Any) -> tuple[str | None, dict[str, tuple[HookCommand, ...]]]:
    """(the config's path, its hooks by git hook name); (None, {}) when there is none."""
    if not repo.exists(CONFIG):
        return None, {}
    docs = repo.yaml(CONFIG)
    data = docs[0].data if docs else None
    if not isinstance(data, dict) or not isinstance(data.get("repos"), list):
        return CONFIG, {}
    default_stages = data.get("default_stages")
    found: list[HookCommand] = []
    for repo_spec in data["repos"]:
        if not isinstance(repo_spec, dict) or not isinstance(repo_spec.get("hooks"), list):
            continue
        local = repo_spec.get("repo") in ("local", "meta")
        hooks = repo_spec["hooks"]
        for i, hook in enumerate(hooks):
            if isinstance(hook, dict):
                found.append(_command(hook, local, default_stages, _line_of(hooks, i)))
    return CONFIG, {"pre-commit": tuple(found)}


def _line_of(seq: Any, index: int) -> int:
    return seq.line_of(index) if hasattr(seq, "line_of") else 1


def _command(hook: dict[str, Any], local: bool, default_stages: Any, line: int) -> HookCommand:
    hook_id = str(hook.get("id") or "?")
    known = None if local else KNOWN_HOOKS.get(hook_id)
    entry = hook.get("entry") if isinstance(hook.get("entry"), str) else (known[0] if known else None)
    takes_files = known[2] if known and "pass_filenames" not in hook else hook.get("pass_filenames") is not False
    run = None
    if entry:
        args = hook.get("args") if isinstance(hook.get("args"), list) else []
        run = " ".join([entry, *(str(a) for a in args), *(["{staged_files}"] if takes_files else [])])
    stages = hook.get("stages") or default_stages
    skip = isinstance(stages, list) and not any(str(s) in COMMIT_STAGES for s in stages)
    files = hook.get("files") if isinstance(hook.get("files"), str) else (known[1] if known else None)
    types = (tuple(str(t) for t in hook.get("types") or ()), tuple(str(t) for t in hook.get("types_or") or ()))
    run_line = hook.line_of("entry") if hasattr(hook, "line_of") and "entry" in hook else line
    return HookCommand("pre-commit", hook_id, run, None, (), skip, CONFIG, line, run_line, files, types,
                       runner="pre-commit")
