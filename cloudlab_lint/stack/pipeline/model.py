"""One model of "what runs where": workflows -> jobs -> steps -> commands; mise tasks; lefthook commands.

The parts live beside it: workflows.py (GitHub Actions), mise.py (mise), lefthook.py
(lefthook), precommit.py (pre-commit as a hook runner) and resolve.py (following commands
through scripts, tasks and make targets). Each part's model is built once per run
(`repo.cached`); this module puts them together and answers the questions rules ask.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...record import record
from .lefthook import Lefthook, lefthook_model
from .mise import mise_model
from .resolve import Link, Resolver, RunCommand
from .scope import ACTION_FILES as ACTION_FILES
from .workflows import (
    Job,
    Step,
    Workflow,
    is_workflow_path,
    load_composite_action,
    load_workflow,
)

__all__ = ["CheckJob", "JobRun", "Link", "RunCommand", "Workflow", "Job", "Step", "command_matches",
           "composite_actions", "expand_steps",
           "lefthook_model", "precommit_model", "mise_check_jobs", "mise_model", "resolver", "workflows", "job_runs",
           "uses_name"]


@record
class CheckJob:
    check_name: str  # as GitHub shows the check: the job's `name:` or else its id; matrix values in parentheses,
    # e.g. "test (ubuntu-latest, 3.12)"; "caller / callee" for a reusable workflow's jobs
    workflow: str  # repo-relative path of the workflow file
    line: int  # line of the job in that file


@record
class JobRun:
    """A job of a triggered workflow with everything it runs (a reusable workflow's jobs are their own JobRun)."""

    workflow: Workflow  # the workflow that is triggered (the caller, for reusable workflows)
    job: Job  # the caller's job
    check_names: tuple[str, ...]
    steps: tuple[tuple[Step, str, tuple[Link, ...]], ...]  # every step with its file and chain
    commands: tuple[RunCommand, ...]


def precommit_model(repo: Any) -> Lefthook:
    """`.pre-commit-config.yaml` in the lefthook model's shape (CL204's `runners: [pre-commit]`)."""
    from .precommit import load_precommit

    def build() -> Lefthook:
        path, hooks = load_precommit(repo)
        return Lefthook(path, hooks, (path,) if path else ())

    return repo.cached(("pipeline", "pre-commit"), build)


def workflows(repo: Any) -> list[Workflow]:
    def build() -> list[Workflow]:
        out = []
        for path in repo.files:
            if is_workflow_path(path):
                wf = load_workflow(repo, path)
                if wf is not None:
                    out.append(wf)
        return out

    return repo.cached(("pipeline", "workflows"), build)


def resolver(repo: Any, max_depth: int = 8) -> Resolver:
    return Resolver(repo, mise_model(repo), max_depth)


def uses_name(uses: str) -> str:
    """`owner/repo/path@ref` -> `owner/repo/path` (lower case: GitHub's names are case-insensitive)."""
    return uses.split("@", 1)[0].strip().lower()


def _step_commands(res: Resolver, wf_path: str, step: Step, chain: tuple[Link, ...]) -> list[RunCommand]:
    if step.run is None or not step.runs_shell:
        return []
    link = Link(step.label, wf_path, step.line)
    cwd = (step.working_directory or "").removeprefix("./").strip("/")
    return res.script(step.run, wf_path, step.run_line, chain + (link,), cwd)


def _local_workflow(repo: Any, uses: str) -> Workflow | None:
    if not uses.startswith("./"):
        return None
    path = uses[2:].split("@", 1)[0]
    if not is_workflow_path(path) or not repo.exists(path):
        return None
    return next((w for w in workflows(repo) if w.path == path), None)


MAX_ACTION_NESTING = 4


def local_action(repo: Any, uses: str) -> tuple[str, tuple[Step, ...]] | None:
    """A local composite action (`uses: ./.github/actions/x`): its file and steps."""
    if not uses.startswith("./"):
        return None
    folder = uses[2:].split("@", 1)[0].strip("/")
    for name in ACTION_FILES:
        path = f"{folder}/{name}" if folder else name
        if repo.exists(path):
            steps = repo.cached(("pipeline", "action", path), lambda p=path: load_composite_action(repo, p))
            return (path, steps) if steps is not None else None
    return None


def composite_actions(repo: Any) -> list[tuple[str, tuple[Step, ...]]]:
    """Every tracked composite action file with its steps (CL205 judges their pins too)."""
    out = []
    for path in repo.files:
        if path.rsplit("/", 1)[-1] in ACTION_FILES:
            steps = repo.cached(("pipeline", "action", path), lambda p=path: load_composite_action(repo, p))
            if steps:
                out.append((path, steps))
    return out


def expand_steps(repo: Any, steps: Iterable[Step], path: str, chain: tuple[Link, ...],
                 seen: frozenset[str] = frozenset()) -> list[tuple[Step, str, tuple[Link, ...]]]:
    """Steps with the steps of the local composite actions they use, each with its file and chain."""
    out: list[tuple[Step, str, tuple[Link, ...]]] = []
    for step in steps:
        out.append((step, path, chain))
        action = local_action(repo, step.uses) if step.uses else None
        if action and action[0] not in seen and len(seen) < MAX_ACTION_NESTING:
            inner = chain + (Link(step.label, path, step.line),)
            out.extend(expand_steps(repo, action[1], action[0], inner, seen | {action[0]}))
    return out


def job_runs(repo: Any, max_depth: int = 8, triggers: Iterable[str] | None = None) -> list[JobRun]:
    """Every job of every workflow (or of those with one of `triggers`), reusable workflows followed one level."""
    key = ("pipeline", "job_runs", max_depth, tuple(sorted(triggers)) if triggers is not None else None)

    def build() -> list[JobRun]:
        res = resolver(repo, max_depth)
        wanted = set(triggers) if triggers is not None else None
        out: list[JobRun] = []
        for wf in workflows(repo):
            if wanted is not None and not (wf.triggers & wanted):
                continue
            for job in wf.jobs:
                base = (Link("workflow", wf.path, wf.triggers_line), Link(f"job {job.id}", wf.path, job.line))
                callee = _local_workflow(repo, job.uses) if job.uses else None
                if callee is None:
                    steps = tuple(expand_steps(repo, job.steps, wf.path, base))
                    cmds = [c for s, path, chain in steps for c in _step_commands(res, path, s, chain)]
                    out.append(JobRun(wf, job, job.check_names, steps, tuple(cmds)))
                    continue
                for inner in callee.jobs:
                    chain = base + (Link(f"job {inner.id}", callee.path, inner.line),)
                    steps = tuple(expand_steps(repo, inner.steps, callee.path, chain))
                    cmds = [c for s, path, ch in steps for c in _step_commands(res, path, s, ch)]
                    names = tuple(f"{outer} / {name}" for outer in job.check_names for name in inner.check_names)
                    out.append(JobRun(wf, job, names, steps, tuple(cmds)))
        return out

    return repo.cached(key, build)


def command_matches(words: tuple[str, ...], spec: Iterable[str], window: int = 2) -> bool:
    """Whether argv `words` is the command `spec` (e.g. ["terraform", "plan"], ["terraform", "fmt", "-check"]).

    The first word matches by base name. Other plain words are subcommands: they must follow each other among
    the non-option arguments, starting within the first `window` of them (`terraform -chdir=x plan`,
    `terragrunt run-all plan`, `terragrunt --terragrunt-working-dir infra plan`; not `terraform workspace
    select plan`). Words starting with `-` in the spec are options that must be present (`-check`,
    `-check=true`, `--check`).
    """
    spec = list(spec)
    if not spec or not words or words[0].rsplit("/", 1)[-1] != spec[0]:
        return False
    subs = [s for s in spec[1:] if not s.startswith("-")]
    opts = [s for s in spec[1:] if s.startswith("-")]
    args = [w for w in words[1:] if not w.startswith("-")]
    if subs:
        starts = range(min(window, len(args)))
        if not any(args[i:i + len(subs)] == subs for i in starts):
            return False
    for opt in opts:
        bare = opt.lstrip("-")
        if not any(w.startswith("-") and w.lstrip("-").split("=", 1)[0] == bare for w in words[1:]):
            return False
    return True


def mise_check_jobs(repo: Any, task: str = "check", triggers: Iterable[str] = ("pull_request",)) -> list[CheckJob]:
    """Jobs of workflows triggered by pull_request that run `mise run check` (directly or through what they call)."""
    out: list[CheckJob] = []
    for run in job_runs(repo, triggers=triggers):
        if any(task in c.mise_tasks for c in run.commands):
            out.extend(CheckJob(name, run.workflow.path, run.job.line) for name in run.check_names)
    return list(dict.fromkeys(out))
