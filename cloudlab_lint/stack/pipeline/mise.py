"""mise: config files, `[tools]`, `mise.lock`, TOML tasks and file tasks, `mise run` arguments."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from ...record import record

# Where mise looks in a project folder (catalog order; the first definition of a task wins): defined with
# what the fast pre-commit test needs, which must not import this module.
from .scope import LOCK_FILES as LOCK_FILES
from .scope import MISE_FILES as CONFIG_FILES
from .scope import TASK_DIRS as TASK_DIRS

# mise subcommands: `mise <word>` where <word> is none of these runs the task <word>.
SUBCOMMANDS = {
    "activate", "alias", "asdf", "backends", "bin-paths", "cache", "completion", "config", "deactivate",
    "doctor", "en", "env", "exec", "x", "fmt", "generate", "global", "implode", "install", "i", "latest", "link",
    "local", "ls", "list", "ls-remote", "outdated", "plugins", "p", "prune", "registry", "reshim", "self-update",
    "set", "settings", "shell", "sync", "tasks", "t", "tool", "trust", "uninstall", "unset", "unuse", "upgrade",
    "up", "use", "u", "usage", "version", "watch", "w", "where", "which", "search", "lock", "edit", "test-tool",
}
RUN_OPTIONS_WITH_VALUE = {"-C", "--cd", "-j", "--jobs", "-o", "--output", "-t", "--tool", "-E", "--env",
                          "--timeout", "--shell", "-s"}
GLOBAL_OPTIONS_WITH_VALUE = {"-C", "--cd", "-E", "--env", "-j", "--jobs"}
SHELL_SHEBANG = re.compile(r"^#!\s*(?:/usr/bin/env\s+(?:-S\s+)?)?(?:\S*/)?(bash|sh|zsh|dash|ksh)\b")
MISE_HEADER = re.compile(r"^#\s*\[?(?:MISE|mise)\]?\s+([A-Za-z_]+)\s*=\s*(.+)$")  # #MISE, # mise, #[MISE]


@record
class RunItem:
    script: str | None  # a shell script, or None for a task reference
    line: int
    tasks: tuple[str, ...] = ()  # `{task = "x"}` / `{tasks = [...]}` entries of a run array


@record
class Task:
    name: str
    path: str  # the config file or the file task
    line: int
    run: tuple[RunItem, ...]
    depends: tuple[str, ...]
    depends_post: tuple[str, ...]
    wait_for: tuple[str, ...]  # only waits for tasks that run anyway: not followed
    dir: str | None
    is_file_task: bool = False


@record
class Tool:
    name: str  # as written, e.g. "aqua:fluxcd/flux2"
    versions: tuple[str, ...]
    path: str
    line: int

    @property
    def short(self) -> str:
        """The tool without backend spelling: `aqua:fluxcd/flux2` -> `flux2`, `ubi:yannh/kubeconform` -> ..."""
        name = self.name.split(":", 1)[-1].split("[", 1)[0]
        return name.rstrip("/").rsplit("/", 1)[-1].split("@", 1)[0]


@record
class Mise:
    configs: tuple[str, ...]
    tasks: dict[str, Task]
    tools: tuple[Tool, ...]
    locked: dict[str, tuple[str, ...]]  # tool name as in the lock -> versions
    lock_path: str | None

    def find(self, pattern: str) -> list[Task]:
        """Tasks named `pattern` (globs such as `lint:*` allowed)."""
        if pattern in self.tasks:
            return [self.tasks[pattern]]
        if any(c in pattern for c in "*?["):
            return [t for n, t in sorted(self.tasks.items()) if fnmatch.fnmatchcase(n, pattern)]
        return []


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _dep_names(value: Any) -> tuple[str, ...]:
    """`depends = ["a", "b arg", ["c", "arg"], {task = "d"}]` -> task names (arguments dropped)."""
    out = []
    for item in _as_list(value):
        if isinstance(item, str) and item.split():
            out.append(item.split()[0])
        elif isinstance(item, list) and item and isinstance(item[0], str):
            out.append(item[0])
        elif isinstance(item, dict) and isinstance(item.get("task"), str):
            out.append(item["task"].split()[0])
    return tuple(out)


def find_line(lines: list[str], needle: re.Pattern[str], start: int = 0) -> int:
    for i in range(start, len(lines)):
        if needle.search(lines[i]):
            return i + 1
    return 0


def _key_re(key: str) -> str:
    return rf'(?:{re.escape(key)}|"{re.escape(key)}"|\'{re.escape(key)}\')'


def table_line(lines: list[str], table: str, key: str) -> int:
    """Line of `key` in TOML `[table]` (or `[table.key]`, or `table.key =`); 1 when not found."""
    header = find_line(lines, re.compile(rf"^\s*\[\s*{_key_re(table)}\s*\.\s*{_key_re(key)}\s*\]"))
    if header:
        return header
    dotted = find_line(lines, re.compile(rf"^\s*{_key_re(table)}\s*\.\s*{_key_re(key)}\s*="))
    if dotted:
        return dotted
    start = find_line(lines, re.compile(rf"^\s*\[\s*{_key_re(table)}\s*\]"))
    if start:
        line = find_line(lines, re.compile(rf"^\s*{_key_re(key)}\s*="), start)
        if line:
            return line
    return start or 1


def _toml_tasks(path: str, data: dict[str, Any], lines: list[str], top_level: bool = False) -> list[Task]:
    """Tasks of `[tasks]` (or, in an included tasks file, of the top-level tables)."""
    tasks = data.get("tasks")
    out = []
    if not isinstance(tasks, dict):
        return out
    for name, spec in tasks.items():
        line = (find_line(lines, re.compile(rf"^\s*(\[\s*{_key_re(name)}\s*\]|{_key_re(name)}\s*=)")) or 1
                if top_level else table_line(lines, "tasks", name))
        if isinstance(spec, (str, list)):
            spec = {"run": spec}
        if not isinstance(spec, dict):
            continue
        run_line = find_line(lines, re.compile(r"^\s*run\s*="), line - 1) or line
        items = []
        for i, entry in enumerate(_as_list(spec.get("run"))):
            if isinstance(entry, str):
                items.append(RunItem(entry, _entry_line(lines, entry, run_line, i)))
            elif isinstance(entry, dict):
                names = _as_list(entry.get("tasks")) + _as_list(entry.get("task"))
                items.append(RunItem(None, run_line, tuple(str(n).split()[0] for n in names if str(n).split())))
        if isinstance(spec.get("file"), str):
            items.append(RunItem(f"bash {spec['file']}", line))  # `file =`: the script runs as a shell script
        task = Task(str(name), path, line, tuple(items), _dep_names(spec.get("depends")),
                    _dep_names(spec.get("depends_post")), _dep_names(spec.get("wait_for")),
                    str(spec["dir"]) if isinstance(spec.get("dir"), str) else None)
        out.append(task)
        for alias in _as_list(spec.get("alias")):
            if isinstance(alias, str):
                out.append(Task(alias, path, line, task.run, task.depends, task.depends_post, task.wait_for,
                                task.dir))
    return out


def _entry_line(lines: list[str], entry: str, run_line: int, index: int) -> int:
    """The line where a run string starts: single-line entries are found by text, others counted."""
    first = entry.strip().splitlines()[0] if entry.strip() else ""
    if first:
        for i in range(run_line - 1, min(len(lines), run_line + 200)):
            if first in lines[i]:
                return i + 1
    return run_line


def _file_task(repo: Any, path: str, folder: str) -> Task | None:
    text = repo.read_text(path, strict=False)
    if text is None:
        return None
    first = text.splitlines()[0] if text else ""
    is_shell = not first.startswith("#!") or bool(SHELL_SHEBANG.match(first))
    rel = path[len(folder) + 1:]
    name = rel.replace("/", ":")
    for suffix in (".sh", ".bash"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith(":_default"):
        name = name[: -len(":_default")]
    headers: dict[str, Any] = {}
    for line in text.splitlines()[:50]:
        match = MISE_HEADER.match(line.strip())
        if match:
            import tomllib  # a `#MISE` header: tomllib only once a task file has one

            try:
                headers.update(tomllib.loads(f"{match.group(1)} = {match.group(2)}"))
            except tomllib.TOMLDecodeError:
                continue
    run = (RunItem(text, 1),) if is_shell else ()
    return Task(name, path, 1, run, _dep_names(headers.get("depends")), _dep_names(headers.get("depends_post")),
                _dep_names(headers.get("wait_for")), str(headers["dir"]) if isinstance(headers.get("dir"), str)
                else None, is_file_task=True)


def _tools(path: str, data: dict[str, Any], lines: list[str]) -> list[Tool]:
    tools = data.get("tools")
    out = []
    if not isinstance(tools, dict):
        return out
    for name, spec in tools.items():
        versions = []
        for item in _as_list(spec):
            if isinstance(item, dict):
                item = item.get("version")
            if isinstance(item, (str, int, float)):
                versions.append(str(item))
        out.append(Tool(str(name), tuple(versions), path, table_line(lines, "tools", name)))
    return out


def _lock(repo: Any) -> tuple[dict[str, tuple[str, ...]], str | None]:
    for path in LOCK_FILES:
        if repo.exists(path):
            data = repo.toml(path) or {}
            out = {}
            tools = data.get("tools")
            if isinstance(tools, dict):
                for name, spec in tools.items():
                    out[str(name)] = tuple(str(e["version"]) for e in _as_list(spec)
                                           if isinstance(e, dict) and "version" in e)
            return out, path
    return {}, None


def mise_model(repo: Any) -> Mise:
    """The mise model, built once per run."""
    return repo.cached(("pipeline", "mise"), lambda: load_mise(repo))


def load_mise(repo: Any) -> Mise:
    configs = [p for p in CONFIG_FILES if repo.exists(p)]
    tasks: dict[str, Task] = {}
    tools: list[Tool] = []
    task_dirs = list(TASK_DIRS)
    for path in configs:
        data = repo.toml(path)
        if not isinstance(data, dict):
            continue
        lines = repo.lines(path)
        for task in _toml_tasks(path, data, lines):
            tasks.setdefault(task.name, task)
        tools.extend(_tools(path, data, lines))
        includes = (data.get("task_config") or {}).get("includes") if isinstance(data.get("task_config"), dict) \
            else None
        for inc in _as_list(includes):
            if not isinstance(inc, str) or not inc.strip("./"):
                continue
            inc = inc.strip("/").removeprefix("./")
            if inc.endswith(".toml") and repo.exists(inc):
                # A tasks file: its top-level tables are tasks (`[lint]`, `[test]`).
                inc_data = repo.toml(inc)
                if isinstance(inc_data, dict):
                    for task in _toml_tasks(inc, {"tasks": inc_data}, repo.lines(inc), top_level=True):
                        tasks.setdefault(task.name, task)
            else:
                task_dirs.append(inc)
    for folder in task_dirs:
        for path in repo.files_under(folder):
            if path.endswith(".toml") and folder not in TASK_DIRS:
                data = repo.toml(path)
                if isinstance(data, dict):
                    for task in _toml_tasks(path, {"tasks": data}, repo.lines(path), top_level=True):
                        tasks.setdefault(task.name, task)
                continue
            if "/." in "/" + path[len(folder) + 1:]:
                continue  # hidden files are not tasks
            task = _file_task(repo, path, folder)
            if task:
                tasks.setdefault(task.name, task)
    locked, lock_path = _lock(repo)
    return Mise(tuple(configs), tasks, tuple(tools), locked, lock_path)


def run_targets(words: tuple[str, ...]) -> list[str] | None:
    """The tasks a `mise ...` command runs (`mise run a ::: b`, `mise r a arg`, `mise tasks run a`, `mise a`).

    None when the command is not a task run at all (`mise install`, `mise exec`).
    """
    rest = list(words[1:])
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] in GLOBAL_OPTIONS_WITH_VALUE else rest[1:]
    if not rest:
        return None
    if rest[0] in ("run", "r"):
        rest = rest[1:]
    elif rest[:2] in (["tasks", "run"], ["tasks", "r"], ["t", "run"], ["t", "r"]):
        rest = rest[2:]
    elif rest[0] in SUBCOMMANDS:
        return None
    out = []
    group: list[str] = []
    for word in rest + [":::"]:
        if word == ":::":
            i = 0
            while i < len(group) and group[i].startswith("-"):
                i += 2 if group[i] in RUN_OPTIONS_WITH_VALUE else 1
            if i < len(group):
                out.append(group[i])
            group = []
        else:
            group.append(word)
    return out
