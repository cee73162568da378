"""Follow commands the way the shell and the task runners would: scripts, mise tasks, make targets, lefthook.

Every resolved command keeps the chain of places it was reached through, for
the finding message. Depth is bounded and cycles are cut (a task that depends
on itself, a script that calls itself). Work is bounded per run, whatever the
repository holds: each script text is parsed once (a 1 MB script called ten
times is parsed once, not ten times), and every rule's resolutions together
share one budget of steps; running out of it is a note that names the first
thing not followed, never a silent pass.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import Any

from ...parsing.shell import SHELLS, SimpleCommand, commands
from ...record import record
from .lefthook import lefthook_model
from .mise import SHELL_SHEBANG, Mise, Task, run_targets
from .scope import MAKEFILES as MAKEFILES

MAX_DEPTH = 8
MAX_COMMANDS = 50_000  # steps per run, every rule's resolutions together: a pathological tree ends, it does not hang
MAKE_TARGET = re.compile(r"^([A-Za-z0-9_./%-][A-Za-z0-9_./% -]*?)\s*::?(?!=)\s*(.*)$")


SAFE_WORD = re.compile(r"^[A-Za-z0-9_./:@+,{}$%-]{1,40}$")
SAFE_VALUE = re.compile(r"^[A-Za-z0-9_./{}$-]{1,24}$")
OPAQUE = re.compile(r"^[A-Za-z0-9_+/-]{24,}$")  # long tokens without dots: maybe a credential


def shown(words: tuple[str, ...] | list[str]) -> str:
    """A command for a message: names, options and plain arguments; anything that could be a secret is `…`.

    Findings must never carry a secret, and a command line may (`-var token=…`, a header, a password).
    """
    out = []
    for word in words:
        if word.startswith("-") and "=" in word:
            name, value = word.split("=", 1)
            out.append(word if SAFE_VALUE.match(value) and not OPAQUE.match(value) else f"{name}=…")
        elif SAFE_WORD.match(word) and "=" not in word and not OPAQUE.match(word.rsplit("/", 1)[-1]):
            out.append(word)
        else:
            out.append("…")
    return " ".join(out)


@record
class Link:
    """One place on the way to a command: `task check (.mise.toml:12)`."""

    what: str
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.what} ({self.path}:{self.line})"


@record
class RunCommand:
    words: tuple[str, ...]
    path: str  # where the command is written
    line: int
    chain: tuple[Link, ...]  # how it was reached, outermost first (the command's own place not included)
    mise_tasks: tuple[str, ...] = ()  # for a `mise run ...` command: the tasks it runs

    @property
    def name(self) -> str:
        return self.words[0].rsplit("/", 1)[-1] if self.words else ""

    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def describe(self) -> str:
        """`workflow ci.yml:3 → job plan (…) → … → \\`terraform plan\\` (scripts/x.sh:4)`."""
        parts = [str(link) for link in self.chain]
        parts.append(f"`{shown(self.words)}` ({self.where()})")
        return " → ".join(parts)


@record
class Makefile:
    path: str
    targets: dict[str, tuple[int, tuple[str, ...], tuple[tuple[str, int], ...]]]  # name -> line, prereqs, recipe
    first: str | None


def parse_makefile(repo: Any, path: str) -> Makefile:
    targets: dict[str, tuple[int, tuple[str, ...], tuple[tuple[str, int], ...]]] = {}
    first = None
    current: list[str] = []
    lines = repo.lines(path)
    i = 0
    while i < len(lines):
        raw = lines[i]
        start = i + 1
        while raw.endswith("\\") and i + 1 < len(lines):
            i += 1
            raw = raw[:-1] + " " + lines[i].lstrip()
        i += 1
        if raw.startswith("\t"):
            recipe = raw[1:].lstrip("@-+ \t").replace("$(MAKE)", "make").replace("${MAKE}", "make")
            for name in current:
                line, prereqs, body = targets[name]
                targets[name] = (line, prereqs, body + ((recipe, start),))
            continue
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        match = MAKE_TARGET.match(raw)
        if match and "=" not in match.group(1):
            names = [n for n in match.group(1).split() if n]
            prereqs = tuple(p for p in match.group(2).split(";")[0].split("|")[0].split() if p)
            current = []
            for name in names:
                if name.startswith("."):
                    continue
                targets.setdefault(name, (start, prereqs, ()))
                current.append(name)
                first = first or name
            inline = match.group(2).split(";", 1)
            if len(inline) == 2 and inline[1].strip():
                for name in current:
                    line, pre, body = targets[name]
                    targets[name] = (line, pre, body + ((inline[1].strip(), start),))
        else:
            current = []
    return Makefile(path, targets, first)


class _RunState:
    """What every resolution of one run shares: the budget left, and each script text parsed once."""

    def __init__(self) -> None:
        self.left = MAX_COMMANDS
        self.parsed: dict[tuple[int, str], list[SimpleCommand]] = {}


class Resolver:
    def __init__(self, repo: Any, mise: Mise, max_depth: int = MAX_DEPTH) -> None:
        self.repo = repo
        self.mise = mise
        self.max_depth = max_depth
        cached = getattr(repo, "cached", None)
        self.state = cached(("pipeline", "resolve-state"), _RunState) if cached else _RunState()

    # -- scripts -------------------------------------------------------------------------

    def _spend(self, what: Callable[[], str]) -> bool:
        """One unit of work; False once the run's budget is gone (said once, naming what was not followed)."""
        state = self.state
        state.left -= 1
        if state.left == -1:
            self.repo.notes.append(f"pipeline: stopped following commands after {MAX_COMMANDS:,} steps in this run; "
                                   f"not followed: {what()} and everything after it (tasks, targets and scripts "
                                   "that fan out this much): CI rules may miss what those run")
        return state.left >= 0

    def _commands(self, text: str, line: int) -> list[SimpleCommand]:
        """`commands(text, line)`, parsed once per run for each text."""
        key = (line, text)
        parsed = self.state.parsed.get(key)
        if parsed is None:
            parsed = self.state.parsed[key] = commands(text, line)
        return parsed

    def script(self, text: str, path: str, line: int, chain: tuple[Link, ...], cwd: str = "",
               depth: int = 0, stack: frozenset[str] = frozenset()) -> list[RunCommand]:
        out: list[RunCommand] = []
        for cmd in self._commands(text, line):
            if not self._spend(lambda c=cmd: f"`{shown(c.words)[:60]}` ({path}:{c.line})"):
                break
            out.extend(self._command(cmd, path, chain, cwd, depth, stack))
        return out

    def _command(self, cmd: SimpleCommand, path: str, chain: tuple[Link, ...], cwd: str, depth: int,
                 stack: frozenset[str]) -> list[RunCommand]:
        words = cmd.words
        tasks = tuple(run_targets(words) or ()) if cmd.name == "mise" else ()
        out = [RunCommand(words, path, cmd.line, chain, tasks)]
        if depth >= self.max_depth:
            return out
        here = Link(f"`{shown(words)[:80]}`", path, cmd.line)
        for task in tasks:
            out.extend(self.task(task, chain + (here,), depth + 1, stack))
        if cmd.name in ("make", "gmake"):
            out.extend(self._make(words, chain + (here,), cwd, depth + 1, stack))
        target = self._script_path(cmd, cwd)
        if target and f"script:{target}" not in stack:
            text = self.repo.read_text(target, strict=False)
            if text is not None and _is_shell_text(text, explicit=cmd.name in SHELLS or cmd.name in (".", "source")):
                out.extend(self.script(text, target, 1, chain + (Link(f"script {target}", path, cmd.line),),
                                       cwd, depth + 1,
                                       stack | {f"script:{target}"}))
        if cmd.name == "lefthook" and len(words) > 2 and words[1] == "run":
            out.extend(self.lefthook_hook(words[2], chain + (here,), depth + 1, stack))
        return out

    def _script_path(self, cmd: SimpleCommand, cwd: str) -> str | None:
        words = cmd.words
        if cmd.name in SHELLS or cmd.name in (".", "source"):
            args = [w for w in words[1:] if not w.startswith(("-", "+"))]
            if not args:
                return None
            candidate = args[0]  # `bash -o pipefail x.sh` names no file `pipefail`: the lookup below fails
        elif "/" in words[0]:
            candidate = words[0]
        else:
            return None
        return self._repo_path(candidate, cwd)

    def _repo_path(self, candidate: str, cwd: str) -> str | None:
        for prefix in ("{{config_root}}/", "$GITHUB_WORKSPACE/", "${GITHUB_WORKSPACE}/", "${{ github.workspace }}/",
                       "$MISE_PROJECT_ROOT/", "${MISE_PROJECT_ROOT}/", "{{ config_root }}/"):
            if candidate.startswith(prefix):
                candidate, cwd = candidate[len(prefix):], ""
        if candidate.startswith("/") or "$" in candidate:
            return None
        full = posixpath.normpath(posixpath.join(cwd, candidate)) if cwd else posixpath.normpath(candidate)
        if full.startswith("../") or full == "..":
            return None
        return full if self.repo.exists(full) else None

    # -- mise ----------------------------------------------------------------------------

    def task(self, name: str, chain: tuple[Link, ...], depth: int, stack: frozenset[str]) -> list[RunCommand]:
        out: list[RunCommand] = []
        for task in self.mise.find(name):
            key = f"task:{task.name}"
            if key in stack or depth > self.max_depth or not self._spend(lambda t=task: f"task {t.name} "
                                                                                  f"({t.path}:{t.line})"):
                continue
            out.extend(self.task_body(task, chain, depth, stack | {key}))
        return out

    def task_body(self, task: Task, chain: tuple[Link, ...], depth: int, stack: frozenset[str]) -> list[RunCommand]:
        link = Link(f"task {task.name}", task.path, task.line)
        inner = chain + (link,)
        out: list[RunCommand] = []
        for dep in task.depends:
            out.extend(self.task(dep, inner, depth + 1, stack))
        cwd = (task.dir or "").replace("{{config_root}}", "").replace("{{ config_root }}", "").strip("/")
        for item in task.run:
            if item.script is not None:
                out.extend(self.script(item.script, task.path, item.line, inner, cwd.removeprefix("./"), depth + 1,
                                       stack))
            for ref in item.tasks:
                out.extend(self.task(ref, inner, depth + 1, stack))
        for dep in task.depends_post:
            out.extend(self.task(dep, inner, depth + 1, stack))
        return out

    def task_closure(self, name: str) -> list[RunCommand]:
        """Everything `mise run <name>` runs."""
        return self.task(name, (), 0, frozenset())

    # -- make ----------------------------------------------------------------------------

    def _make(self, words: tuple[str, ...], chain: tuple[Link, ...], cwd: str, depth: int,
              stack: frozenset[str]) -> list[RunCommand]:
        args = list(words[1:])
        folder, makefile, targets = cwd, None, []
        i = 0
        while i < len(args):
            a = args[i]
            if a in ("-C", "--directory") and i + 1 < len(args):
                folder = posixpath.normpath(posixpath.join(folder, args[i + 1]))
                i += 2
                continue
            if a in ("-f", "--file", "--makefile") and i + 1 < len(args):
                makefile = args[i + 1]
                i += 2
                continue
            if a.startswith("-C") and len(a) > 2:
                folder = posixpath.normpath(posixpath.join(folder, a[2:]))
            elif not a.startswith("-") and "=" not in a:
                targets.append(a)
            i += 1
        folder = "" if folder in (".", "") else folder
        names = [makefile] if makefile else list(MAKEFILES)
        path = next((p for p in (self._repo_path(n, folder) for n in names) if p), None)
        if path is None:
            return []
        model = self.repo.cached(("pipeline-makefile", path), lambda: parse_makefile(self.repo, path))
        out: list[RunCommand] = []
        for target in targets or ([model.first] if model.first else []):
            out.extend(self._make_target(model, target, chain, folder, depth, stack))
        return out

    def _make_target(self, model: Makefile, target: str, chain: tuple[Link, ...], folder: str, depth: int,
                     stack: frozenset[str]) -> list[RunCommand]:
        key = f"make:{model.path}:{target}"
        if target not in model.targets or key in stack or depth > self.max_depth \
                or not self._spend(lambda: f"make target {target} ({model.path})"):
            return []
        line, prereqs, recipe = model.targets[target]
        inner = chain + (Link(f"make {target}", model.path, line),)
        out: list[RunCommand] = []
        for pre in prereqs:
            out.extend(self._make_target(model, pre, inner, folder, depth + 1, stack | {key}))
        for text, recipe_line in recipe:
            out.extend(self.script(text, model.path, recipe_line, inner, folder, depth + 1, stack | {key}))
        return out

    # -- lefthook ------------------------------------------------------------------------

    def lefthook_hook(self, hook: str, chain: tuple[Link, ...], depth: int,
                      stack: frozenset[str]) -> list[RunCommand]:
        key = f"lefthook:{hook}"
        if key in stack:
            return []
        out: list[RunCommand] = []
        for command in lefthook_model(self.repo).hooks.get(hook, ()):
            out.extend(self.hook_command(command, chain, depth, stack | {key}))
        return out

    def hook_command(self, command: Any, chain: tuple[Link, ...], depth: int,
                     stack: frozenset[str]) -> list[RunCommand]:
        if command.skip:
            return []
        inner = chain + (Link(f"{command.runner} {command.hook} {command.name}", command.path, command.line),)
        out: list[RunCommand] = []
        if command.run:
            out.extend(self.script(command.run, command.path, command.run_line, inner, "", depth + 1, stack))
        if command.script and self.repo.exists(command.script):
            text = self.repo.read_text(command.script, strict=False)
            if text is not None and _is_shell_text(text, explicit=False):
                out.extend(self.script(text, command.script, 1, inner, "", depth + 1, stack))
        return out


def _is_shell_text(text: str, *, explicit: bool) -> bool:
    """A script the shell runs: called through a shell, or with a shell shebang (or none)."""
    first = text.split("\n", 1)[0]
    if explicit:
        return True
    return not first.startswith("#!") or bool(SHELL_SHEBANG.match(first))
