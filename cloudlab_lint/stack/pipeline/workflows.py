"""GitHub Actions workflows: triggers, permissions, jobs with their check names, steps."""

from __future__ import annotations

import itertools
import re
from typing import Any

from ...parsing.yamlx import YMap, YSeq
from ...record import field, record
from .scope import WORKFLOW_DIR as WORKFLOW_DIR
from .scope import is_workflow_path as is_workflow_path

MISSING = object()  # a key that is absent (distinct from an explicit null)
MAX_COMBINATIONS = 256  # a matrix bigger than this is not enumerated for check names
SHELL_FAMILIES = ("bash", "sh", "zsh", "dash", "ksh", "pwsh", "powershell")
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@record
class Step:
    index: int
    line: int
    name: str | None
    uses: str | None
    uses_line: int
    run: str | None
    run_line: int  # line of the first line of the script
    shell: str | None  # None: the runner's default (bash on Linux)
    working_directory: str | None
    with_: dict[str, Any] = field(compare=False)  # a YMap: knows the line of each input

    @property
    def label(self) -> str:
        if self.name:
            return f"step '{self.name}'"
        if self.uses:
            return f"step {self.index + 1} ({self.uses})"
        return f"step {self.index + 1}"

    @property
    def runs_shell(self) -> bool:
        """Whether `run` is a shell script we can read (python/node `shell:` steps are not)."""
        if self.run is None:
            return False
        if not self.shell:
            return True
        return self.shell.split()[0].rsplit("/", 1)[-1] in SHELL_FAMILIES


@record
class Job:
    id: str
    name: str | None
    line: int
    steps: tuple[Step, ...]
    uses: str | None  # a reusable workflow this job calls
    uses_line: int
    check_names: tuple[str, ...]
    permissions: Any = field(compare=False)  # MISSING when absent
    permissions_line: int = 1


@record
class Workflow:
    path: str
    triggers: frozenset[str]
    jobs: tuple[Job, ...]
    permissions: Any = field(compare=False)  # MISSING when absent
    permissions_line: int = 1
    triggers_line: int = 1

    def job(self, job_id: str) -> Job | None:
        return next((j for j in self.jobs if j.id == job_id), None)


def parse_triggers(on: Any) -> frozenset[str]:
    if isinstance(on, str):
        return frozenset([on])
    if isinstance(on, list):
        return frozenset(str(x) for x in on)
    if isinstance(on, dict):
        return frozenset(str(k) for k in on)
    return frozenset()


def load_workflow(repo: Any, path: str) -> Workflow | None:
    docs = repo.yaml(path)
    if not docs or not isinstance(docs[0].data, YMap):
        return None
    data: YMap = docs[0].data
    lines = repo.lines(path)
    run_shell = _default_run(data, "shell")
    run_dir = _default_run(data, "working-directory")
    jobs = []
    raw_jobs = data.get("jobs")
    if isinstance(raw_jobs, YMap):
        for job_id, job in raw_jobs.items():
            if isinstance(job, YMap):
                jobs.append(_job(job_id, job, raw_jobs.key_line(job_id), lines, _default_run(job, "shell") or run_shell,
                                 _default_run(job, "working-directory") or run_dir))
    on_key = "on" if "on" in data else ("true" if "true" in data else "on")
    return Workflow(path, parse_triggers(data.get(on_key)), tuple(jobs), data.get("permissions", MISSING),
                    data.key_line("permissions") if "permissions" in data else 1,
                    data.key_line(on_key) if on_key in data else 1)


def load_composite_action(repo: Any, path: str) -> tuple[Step, ...] | None:
    """The steps of a composite action (`runs: {using: composite, steps: [...]}`), or None for other actions."""
    docs = repo.yaml(path)
    if not docs or not isinstance(docs[0].data, YMap):
        return None
    runs = docs[0].data.get("runs")
    if not isinstance(runs, YMap) or str(runs.get("using", "")).lower() != "composite":
        return None
    steps = runs.get("steps")
    if not isinstance(steps, YSeq):
        return ()
    lines = repo.lines(path)
    return tuple(_step(i, st, steps.line_of(i), lines, None) for i, st in enumerate(steps) if isinstance(st, YMap))


def _default_run(node: YMap, key: str) -> str | None:
    """`defaults: {run: {shell, working-directory}}` of a workflow or a job."""
    defaults = node.get("defaults")
    if isinstance(defaults, YMap) and isinstance(defaults.get("run"), YMap):
        value = defaults["run"].get(key)
        return str(value) if value else None
    return None


def _job(job_id: str, job: YMap, line: int, lines: list[str], shell: str | None, workdir: str | None = None) -> Job:
    steps = []
    raw_steps = job.get("steps")
    if isinstance(raw_steps, YSeq):
        for i, step in enumerate(raw_steps):
            if isinstance(step, YMap):
                steps.append(_step(i, step, raw_steps.line_of(i), lines, shell, workdir))
    name = job.get("name")
    name = str(name) if name is not None else None
    uses = job.get("uses")
    return Job(job_id, name, line, tuple(steps), str(uses) if isinstance(uses, str) else None,
               job.line_of("uses") if "uses" in job else line, tuple(check_names(job_id, job)),
               job.get("permissions", MISSING), job.key_line("permissions") if "permissions" in job else line)


def _step(index: int, step: YMap, line: int, lines: list[str], shell: str | None,
          default_dir: str | None = None) -> Step:
    run = step.get("run")
    run_line = step.line_of("run") if "run" in step else line
    if isinstance(run, str) and 0 < run_line <= len(lines):
        # A block scalar (`run: |`) starts on the next line; the mark points at the indicator.
        text = lines[run_line - 1]
        key_col = step.keys_pos.get("run", (0, 1))[1]
        rest = text[key_col - 1:].split(":", 1)[-1].strip() if ":" in text[key_col - 1:] else ""
        if re.match(r"^[|>][0-9+-]*\s*(#.*)?$", rest):
            run_line += 1
    uses = step.get("uses")
    with_ = step.get("with")
    name = step.get("name")
    own_shell = step.get("shell")
    workdir = step.get("working-directory", default_dir)
    return Step(index, line, str(name) if name is not None else None, str(uses) if isinstance(uses, str) else None,
                step.line_of("uses") if "uses" in step else line, str(run) if isinstance(run, str) else None,
                run_line, str(own_shell) if own_shell else shell, str(workdir) if isinstance(workdir, str) else None,
                with_ if isinstance(with_, dict) else {})


# -- check names as GitHub shows them -------------------------------------------------------


def check_names(job_id: str, job: YMap) -> list[str]:
    """`name:` or else the id; with a matrix, one name per combination, values in parentheses."""
    name = job.get("name")
    base = str(name) if name is not None else job_id
    strategy = job.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    combos = expand_matrix(matrix) if matrix is not None else []
    if not combos:
        return [base]
    out = []
    for combo in combos:
        if name is not None and "matrix." in base:
            out.append(EXPR.sub(lambda m, c=combo: _matrix_expr(m, c), base))
        else:
            out.append(f"{base} ({', '.join(_show(v) for v in combo.values())})")
    return list(dict.fromkeys(out))


def _matrix_expr(match: re.Match[str], combo: dict[str, Any]) -> str:
    expr = match.group(1)
    m = re.fullmatch(r"matrix\.([A-Za-z0-9_-]+)", expr)
    if m and m.group(1) in combo:
        return _show(combo[m.group(1)])
    return match.group(0)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ", ".join(_show(v) for v in value.values())
    return str(value)


def expand_matrix(matrix: Any) -> list[dict[str, Any]]:
    """Combinations in GitHub's order: the product, minus `exclude`, with `include` merged or appended.

    A matrix given as an expression (`${{ fromJSON(...) }}`) cannot be known: [].
    """
    if not isinstance(matrix, dict):
        return []
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    if any(not isinstance(v, list) for v in axes.values()):
        return []
    size = 1
    for values in axes.values():
        size *= max(len(values), 1)
    if size > MAX_COMBINATIONS:
        return []
    combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())] if axes else []
    for ex in matrix.get("exclude") or []:
        if isinstance(ex, dict):
            combos = [c for c in combos if not all(c.get(k) == v for k, v in ex.items())]
    originals = [dict(c) for c in combos]
    for inc in matrix.get("include") or []:
        if not isinstance(inc, dict):
            continue
        merged = False
        for combo, original in zip(combos[:len(originals)], originals, strict=True):
            # Merge into every original combination it does not overwrite.
            if all(original.get(k, v) == v for k, v in inc.items() if k in original):
                combo.update({k: v for k, v in inc.items() if k not in original})
                merged = True
        if not merged:
            combos.append(dict(inc))
    return combos
