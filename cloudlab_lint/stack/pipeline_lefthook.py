"""lefthook: the config file lefthook reads, its hooks and what each hook runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..parsing.yamlx import YMap, YSeq
from .pipeline_scope import LEFTHOOK_FILES as CONFIG_FILES  # the first found is read

HOOK_NAMES = {
    "applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit", "prepare-commit-msg",
    "commit-msg", "post-commit", "pre-rebase", "post-checkout", "post-merge", "pre-push", "pre-receive", "update",
    "post-receive", "post-update", "push-to-checkout", "pre-auto-gc", "post-rewrite", "sendemail-validate",
    "post-index-change",
}


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Lefthook:
    path: str | None
    hooks: dict[str, tuple[HookCommand, ...]]


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


def load_lefthook(repo: Any) -> Lefthook:
    path = next((p for p in CONFIG_FILES if repo.exists(p)), None)
    if path is None:
        return Lefthook(None, {})
    data = _load(repo, path)
    hooks: dict[str, tuple[HookCommand, ...]] = {}
    if not isinstance(data, dict):
        return Lefthook(path, hooks)
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
    return Lefthook(path, hooks)
