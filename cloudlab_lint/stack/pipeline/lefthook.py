"""lefthook: the config file lefthook reads, its hooks and what each hook runs.

`extends` is followed where the file is in the repository (the main config wins for a command of the
same name, as lefthook merges); `remotes` (configs fetched from other repositories at install time)
and extends outside the repository cannot be read: they are recorded in `unfollowed`, for the rule to
say so, never passed over in silence.
"""

from __future__ import annotations

import posixpath
from typing import Any

from ...parsing.yamlx import YMap, YSeq
from ...record import record
from .scope import LEFTHOOK_FILES as CONFIG_FILES  # the first found is read

HOOK_NAMES = {
    "applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit", "prepare-commit-msg",
    "commit-msg", "post-commit", "pre-rebase", "post-checkout", "post-merge", "pre-push", "pre-receive", "update",
    "post-receive", "post-update", "push-to-checkout", "pre-auto-gc", "post-rewrite", "sendemail-validate",
    "post-index-change",
}


@record
class HookCommand:
    hook: str
    name: str
    run: str | None  # a shell command (with lefthook's {staged_files}-style templates left as words)
    script: str | None  # a file in .lefthook/<hook>/ (scripts:, or a job's script:)
    glob: tuple[str, ...]
    skip: bool  # `skip: true`: never runs (conditional skips such as `[merge]` still run normally)
    path: str
    line: int
    run_line: int
    files: str | None = None  # pre-commit's `files` regex (lefthook's is `glob`)
    types: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # pre-commit's `types` (all) and `types_or` (any)
    runner: str = "lefthook"


@record
class Lefthook:
    path: str | None
    hooks: dict[str, tuple[HookCommand, ...]]
    configs: tuple[str, ...] = ()  # every config file read: the main one and what it extends
    unfollowed: tuple[tuple[str, int, str], ...] = ()  # (config, line, what): remotes and extends not read


def _load(repo: Any, path: str) -> Any:
    if path.endswith(".toml"):
        return repo.toml(path)
    if path.endswith(".json"):
        return repo.json(path)
    docs = repo.yaml(path)
    return docs[0].data if docs else None


def _line(node: Any, key: Any, default: int) -> int:
    if isinstance(node, YMap) and isinstance(key, str):
        return node.key_line(key) if key in node.keys_pos else default
    if isinstance(node, YSeq) and isinstance(key, int):
        return node.line_of(key)
    return default


def _value_line(node: Any, key: str, default: int) -> int:
    return node.line_of(key) if isinstance(node, YMap) and key in node.pos else default


def _globs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def _command(hook: str, name: str, spec: Any, path: str, line: int, script: str | None = None) -> HookCommand | None:
    if not isinstance(spec, dict):
        return None
    run = spec.get("run")
    job_script = spec.get("script")
    if isinstance(job_script, str):
        script = f".lefthook/{hook}/{job_script}"
    return HookCommand(hook, name, str(run) if isinstance(run, str) else None, script, _globs(spec.get("glob")),
                       spec.get("skip") is True, path, line, _value_line(spec, "run", line))


def _jobs(hook: str, jobs: Any, path: str, line: int) -> list[HookCommand]:
    out: list[HookCommand] = []
    if not isinstance(jobs, list):
        return out
    for i, job in enumerate(jobs):
        if not isinstance(job, dict):
            continue
        job_line = _line(jobs, i, line)
        group = job.get("group")
        if isinstance(group, dict):
            nested = _jobs(hook, group.get("jobs"), path, job_line)
            if job.get("skip") is True:
                nested = [HookCommand(c.hook, c.name, c.run, c.script, c.glob, True, c.path, c.line, c.run_line)
                          for c in nested]
            if job.get("glob"):
                nested = [HookCommand(c.hook, c.name, c.run, c.script, c.glob or _globs(job.get("glob")), c.skip,
                                      c.path, c.line, c.run_line) for c in nested]
            out.extend(nested)
            continue
        cmd = _command(hook, str(job.get("name") or f"job {i + 1}"), job, path, job_line)
        if cmd:
            out.append(cmd)
    return out


MAX_EXTENDS = 10  # configs read through `extends`, at most (a loop or a long chain ends there)


def lefthook_model(repo: Any) -> Lefthook:
    """The lefthook model, built once per run (the resolver follows `lefthook run` through it)."""
    return repo.cached(("pipeline", "lefthook"), lambda: load_lefthook(repo))


def load_lefthook(repo: Any) -> Lefthook:
    path = next((p for p in CONFIG_FILES if repo.exists(p)), None)
    if path is None:
        return Lefthook(None, {})
    data = _load(repo, path)
    if not isinstance(data, dict):
        return Lefthook(path, {}, (path,))
    hooks = _hooks(data, path)
    configs, unfollowed = [path], []
    pending = [(path, data)]
    while pending:
        source, node = pending.pop(0)
        unfollowed.extend(_remotes(source, node))
        for target, line in _extends(node, source):
            if target is None or not repo.exists(target):
                unfollowed.append((source, line, f"extends `{target or '?'}`, which is not in the repository"))
                continue
            if target in configs or len(configs) > MAX_EXTENDS:
                continue
            extended = _load(repo, target)
            configs.append(target)
            if not isinstance(extended, dict):
                continue
            for hook, commands in _hooks(extended, target).items():
                have = {c.name for c in hooks.get(hook, ())}
                hooks[hook] = hooks.get(hook, ()) + tuple(c for c in commands if c.name not in have)
            pending.append((target, extended))
    return Lefthook(path, hooks, tuple(configs), tuple(unfollowed))


def _extends(data: dict[str, Any], source: str) -> list[tuple[str | None, int]]:
    """The repository paths `extends` names (None: outside the repository, or from the environment)."""
    value = data.get("extends")
    line = _line(data, "extends", 1)
    entries = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    out: list[tuple[str | None, int]] = []
    for i, entry in enumerate(entries):
        entry_line = _line(value, i, line) if isinstance(value, list) else line
        text = str(entry).strip()
        if not text or text.startswith(("/", "~", "$")) or "${" in text:
            out.append((None if not text else text, entry_line))
            continue
        target = posixpath.normpath(text)  # lefthook resolves it against the repository root
        out.append((None if target.startswith("..") else target, entry_line))
    return out


def _remotes(source: str, data: dict[str, Any]) -> list[tuple[str, int, str]]:
    out = []
    for key in ("remotes", "remote"):  # `remote:` is lefthook's older single form
        value = data.get(key)
        items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            url = str(item.get("git_url") or "?")
            configs = item.get("configs") or item.get("config") or ["lefthook.yml"]
            shown = ", ".join(str(c) for c in (configs if isinstance(configs, list) else [configs]))
            line = _line(value, i, _line(data, key, 1)) if isinstance(value, list) else _line(data, key, 1)
            out.append((source, line, f"remote `{url}` ({shown}), fetched by lefthook at install time"))
    return out


def _hooks(data: dict[str, Any], path: str) -> dict[str, tuple[HookCommand, ...]]:
    hooks: dict[str, tuple[HookCommand, ...]] = {}
    for hook, spec in data.items():
        if hook not in HOOK_NAMES or not isinstance(spec, dict):
            continue
        hook_line = _line(data, hook, 1)
        found: list[HookCommand] = []
        commands = spec.get("commands")
        if isinstance(commands, dict):
            for name, cmd_spec in commands.items():
                cmd = _command(hook, str(name), cmd_spec, path, _line(commands, name, hook_line))
                if cmd:
                    found.append(cmd)
        scripts = spec.get("scripts")
        if isinstance(scripts, dict):
            for name, script_spec in scripts.items():
                cmd = _command(hook, str(name), script_spec if isinstance(script_spec, dict) else {}, path,
                               _line(scripts, name, hook_line), script=f".lefthook/{hook}/{name}")
                if cmd:
                    found.append(cmd)
        found.extend(_jobs(hook, spec.get("jobs"), path, hook_line))
        if spec.get("skip") is True:
            found = [HookCommand(c.hook, c.name, c.run, c.script, c.glob, True, c.path, c.line, c.run_line)
                     for c in found]
        hooks[hook] = tuple(found)
    return hooks
