"""CL201-CL205 (the validation pipeline); the team rule kind `forbidden-command` (team.py) reuses CL201's.

All of them read one model (stack/pipeline/model.py) that follows commands through
`run:` scripts, mise tasks, scripts, make targets and lefthook, so a rule
judges what runs, never the text that mentions it.

A commit hook runs a rule only when a staged file is one it reads (the runner's gate, by the scope in its
rule file and what it read the last time); where nothing says what it read, the prefilter `pipeline`
(`may_matter`, stack/pipeline/scope.py) rules out, cheaply and never wrongly, a run whose staged files the
model cannot involve. Either way a hook on a README or a manifest does not build the model, nor import its
modules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..globs import match_any
from ..model import Hit, Location
from ..stack.pipeline.scope import ACTION_FILES, is_workflow_path, may_matter
from . import Context, check, prefilter

if TYPE_CHECKING:
    from ..repo import Repo
    from ..stack.goregex import Pattern
    from ..stack.pipeline.model import JobRun, RunCommand


def _specs(value: Any) -> list[list[str]]:
    """A list of commands, each a list of words (a string is split on spaces)."""
    out = []
    for item in value or []:
        if isinstance(item, str):
            out.append(item.split())
        elif isinstance(item, list):
            out.append([str(w) for w in item])
    return [s for s in out if s]


def _show(spec: Iterable[str]) -> str:
    return " ".join(spec)


@prefilter("pipeline")
def pipeline_may_matter(repo: Repo) -> bool:
    """False only when no staged file can be one the pipeline model involves."""
    return may_matter(repo)


def job_runs(ctx: Context, depth: int, triggers: Iterable[str] | None) -> list[JobRun]:
    """The job runs a rule judges (built once per run, `repo.cached`; the model imported only then)."""
    from ..stack.pipeline.model import job_runs

    return job_runs(ctx.repo, depth, triggers=triggers)


# -- CL201 (and the team's forbidden-command) -----------------------------------------------


def forbidden_hits(ctx: Context, commands: list[list[str]], actions: list[str], why: str) -> Iterator[Hit]:
    depth = int(ctx.params.get("max_depth", 8))
    window = int(ctx.params.get("subcommand_window", 2))
    triggers = ctx.params.get("triggers")
    runs = job_runs(ctx, depth, triggers if triggers else None)
    from ..stack.pipeline.model import command_matches, uses_name

    wanted_actions = [a.lower().rstrip("/") for a in actions]
    seen: set[tuple[str, int, str]] = set()
    for run in runs:
        for step, path, chain in run.steps:
            if step.uses and any(uses_name(step.uses) == a or uses_name(step.uses).startswith(a + "/")
                                 for a in wanted_actions):
                key = (path, step.uses_line, uses_name(step.uses))
                if key not in seen:
                    seen.add(key)
                    where = " → ".join(str(link) for link in chain)
                    yield Hit(f"the action `{uses_name(step.uses)}` runs in CI{why}: {where} → {step.label}",
                              Location(path, step.uses_line), key=f"action:{uses_name(step.uses)}",
                              related=_related(chain))
        for cmd in run.commands:
            spec = next((s for s in commands if command_matches(cmd.words, s, window)), None)
            if spec is None:
                continue
            key = (cmd.path, cmd.line, " ".join(cmd.words))
            if key in seen:
                continue
            seen.add(key)
            yield Hit(f"`{_show(spec)}` runs in CI{why}: {cmd.describe()}", Location(cmd.path, cmd.line),
                      key=f"command:{_show(spec)}:{' '.join(cmd.words)}", related=_related(cmd.chain))


def _related(chain: Iterable[Any]) -> tuple[tuple[str, Location], ...]:
    """Each place on the way to the command (workflow, job, step, task, script): SARIF relatedLocations."""
    return tuple((link.what, Location(link.path, max(1, link.line))) for link in chain)


@check("ci-no-terraform-plan")
def ci_no_terraform_plan(ctx: Context) -> Iterator[Hit]:
    yield from forbidden_hits(ctx, _specs(ctx.params.get("commands")), list(ctx.params.get("actions") or []),
                              " (plan and apply need cluster credentials, which a public repository's CI must "
                              "never hold)")


# -- CL202 -----------------------------------------------------------------------------------


def _uses_any(run: JobRun, names: list[str]) -> bool:
    from ..stack.pipeline.model import uses_name

    wanted = [n.lower() for n in names]
    return any(step.uses and uses_name(step.uses) in wanted for step, _, _ in run.steps)


def _runs_any(commands: Iterable[RunCommand], specs: list[list[str]], window: int = 2) -> bool:
    from ..stack.pipeline.model import command_matches

    return any(command_matches(c.words, s, window) for c in commands for s in specs)


@check("ci-runs-check")
def ci_runs_check(ctx: Context) -> Iterator[Hit]:
    repo = ctx.repo
    triggers = list(ctx.params.get("triggers") or ["pull_request"])
    task = str(ctx.params.get("check_task", "check"))
    mise_actions = list(ctx.params.get("mise_actions") or [])
    scan_commands = _specs(ctx.params.get("secret_scan_commands"))
    scan_actions = list(ctx.params.get("secret_scan_actions") or [])
    runs = job_runs(ctx, int(ctx.params.get("max_depth", 8)), triggers)
    from ..stack.pipeline.model import mise_model, workflows

    flows = [w for w in workflows(repo) if w.triggers & set(triggers)]
    on = " or ".join(f"`{t}`" for t in triggers)
    if not flows:
        anchor = (workflows(repo)[0].path if workflows(repo) else next(iter(mise_model(repo).configs), None))
        if anchor:
            yield Hit(f"no workflow is triggered by {on}: CI must run `mise run {task}` and a secret scan on "
                      "every pull request", Location(anchor, 1), key="no-pr-workflow")
        return
    checking = [r for r in runs if any(task in c.mise_tasks for c in r.commands)]
    if not checking:
        wf = flows[0]
        yield Hit(f"no job of a workflow triggered by {on} runs `mise run {task}` (the single source of truth "
                  "for checks)", Location(wf.path, wf.triggers_line), key=f"no-mise-run:{task}")
    for run in checking:
        if mise_actions and not _uses_any(run, mise_actions):
            yield Hit(f"job `{run.job.id}` runs `mise run {task}` without installing mise through "
                      f"{' or '.join(f'`{a}`' for a in mise_actions)}, so CI may not use the pinned tool versions",
                      Location(run.workflow.path, run.job.line), key=f"no-mise-action:{run.job.id}")
    scanning = [r for r in runs if _uses_any(r, scan_actions) or _runs_any(r.commands, scan_commands)]
    if not scanning:
        wf = checking[0].workflow if checking else flows[0]
        what = ", ".join([f"`{a}`" for a in scan_actions] + [f"`{_show(s)}`" for s in scan_commands])
        yield Hit(f"no job of a workflow triggered by {on} runs a secret scan over the pull request ({what})",
                  Location(wf.path, wf.triggers_line), key="no-secret-scan")


# -- CL203 -----------------------------------------------------------------------------------


def _tool_hit(tool: Any, pattern: Pattern, locked: dict[str, tuple[str, ...]]) -> str | None:
    """Why a tool is not pinned, or None."""
    lock_versions = locked.get(tool.name) or next((v for k, v in locked.items() if k.rsplit("/", 1)[-1].split(
        ":", 1)[-1] == tool.short), ())
    if any(pattern.match(v) for v in lock_versions):
        return None
    if not tool.versions:
        return "has no version"
    for version in tool.versions:
        if not pattern.match(version):
            if version in ("latest", "lts", "system") or ":" in version:
                return f"is `{version}`, which is not a pin"
            return f"is `{version}`, a partial version (pin all components, e.g. `1.9.8`)"
    return None


@check("mise-check-coverage")
def mise_check_coverage(ctx: Context) -> Iterator[Hit]:
    repo = ctx.repo
    task_name = str(ctx.params.get("check_task", "check"))
    depth = int(ctx.params.get("max_depth", 8))

    def closure() -> list[RunCommand]:
        from ..stack.pipeline.model import resolver

        return resolver(repo, depth).task_closure(task_name) if mise_model(repo).configs else []

    from ..stack.pipeline.model import mise_model

    mise = mise_model(repo)
    if not mise.configs:
        return
    commands = closure()
    tasks = mise.find(task_name)
    if not tasks:
        yield Hit(f"no mise `{task_name}` task: `mise run {task_name}` is the single source of truth that CI and "
                  "people run", Location(mise.configs[0], 1), key=f"no-task:{task_name}")
    else:
        task = tasks[0]
        window = int(ctx.params.get("subcommand_window", 2))
        for spec in _specs(ctx.params.get("required_commands")):
            if not _runs_any(commands, [spec], window):
                yield Hit(f"the mise `{task_name}` task (with everything it depends on) does not run "
                          f"`{_show(spec)}`", Location(task.path, task.line), key=f"missing:{_show(spec)}")
    shorts = {t.short for t in mise.tools}
    absent = [str(r) for r in ctx.params.get("required_tools") or [] if str(r) not in shorts]
    if absent:
        # One finding for the table: one edit of `[tools]` adds them all.
        path = mise.configs[0]
        from ..stack.pipeline.mise import find_line

        line = find_line(repo.lines(path), re.compile(r"^\s*\[\s*tools\s*\]")) or 1
        shown = [f"`{t}`" for t in absent]
        listed = ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else shown[0]
        yield Hit(f"mise `[tools]` does not list {listed} (any backend spelling counts, e.g. "
                  f"`aqua:...{absent[0]}`)", Location(path, line), key="tools:" + ",".join(absent))
    from ..stack.goregex import compile_re2  # the config's pattern: RE2, linear on any version string

    pattern = compile_re2(str(ctx.params.get("pin_pattern")))
    for tool in mise.tools:
        why = _tool_hit(tool, pattern, mise.locked)
        if why:
            yield Hit(f"mise tool `{tool.name}` {why}; pin a full version (or commit a `mise.lock` that pins it)",
                      Location(tool.path, tool.line), key=f"pin:{tool.name}")


# -- CL204 -----------------------------------------------------------------------------------


def _glob_matches(globs: tuple[str, ...], probe: str) -> bool:
    if not globs:
        return True
    name = probe.rsplit("/", 1)[-1]
    for glob in globs:
        for expanded in _braces(glob):
            if match_any(probe, (expanded,)) or ("/" not in expanded and match_any(name, (expanded,))):
                return True
    return False


def _braces(glob: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", glob)
    if not match:
        return [glob]
    return [x for alt in match.group(1).split(",") for x in _braces(glob[:match.start()] + alt + glob[match.end():])]


RUNNERS = ("lefthook", "pre-commit")
_IDENTIFY = {".tf": "terraform", ".tfvars": "terraform", ".yaml": "yaml", ".yml": "yaml", ".json": "json",
             ".sh": "shell", ".toml": "toml", ".md": "markdown"}


def _hook_matches(hc: Any, probe: str) -> bool:
    """Whether hook command `hc` runs on a file like `probe`: lefthook's `glob`, pre-commit's `files` regex
    and `types`/`types_or` (identify's tags for the probe's extension)."""
    if not _glob_matches(hc.glob, probe):
        return False
    if hc.files:
        try:
            if not re.search(hc.files, probe):
                return False
        except re.error:
            return False
    every, any_of = hc.types
    if every or any_of:
        ext = "." + probe.rsplit(".", 1)[-1] if "." in probe.rsplit("/", 1)[-1] else ""
        tags = {"file", "text", *([_IDENTIFY[ext]] if ext in _IDENTIFY else [])}
        if not set(every) <= tags or (any_of and not set(any_of) & tags):
            return False
    return True


@check("lefthook-fast-subset")
def lefthook_fast_subset(ctx: Context) -> Iterator[Hit]:
    repo = ctx.repo
    hook_name = str(ctx.params.get("hook", "pre-commit"))
    depth = int(ctx.params.get("max_depth", 8))
    runners = [str(r) for r in ctx.params.get("runners") or ["lefthook"]]
    for unknown in sorted(set(runners) - set(RUNNERS)):
        repo.notes.append(f"CL204: runner `{unknown}` is unknown (known: {', '.join(RUNNERS)}), ignored")
    runners = [r for r in runners if r in RUNNERS]

    def present() -> list[tuple[str, Any, list[tuple[Any, list[RunCommand]]]]]:
        """(runner, its model, what each of its hook commands runs) for each configured runner found."""
        from ..stack.pipeline.model import lefthook_model, precommit_model, resolver

        res = resolver(repo, depth)
        out = []
        for runner in runners:
            model = lefthook_model(repo) if runner == "lefthook" else precommit_model(repo)
            if model.path is not None:
                hooks = model.hooks.get(hook_name, ()) if runner == "lefthook" else model.hooks.get("pre-commit", ())
                out.append((runner, model, [(hc, res.hook_command(hc, (), 0, frozenset())) for hc in hooks]))
        return out

    from ..stack.pipeline.model import command_matches, mise_model

    found = present()
    if not found:
        if mise_model(repo).configs:
            names = " or ".join("lefthook config" if r == "lefthook" else "`.pre-commit-config.yaml`" for r in runners)
            yield Hit(f"no {names}: the fast `{hook_name}` checks (staged files only) are missing",
                      Location(mise_model(repo).configs[0], 1), key="no-lefthook")
        return
    window = int(ctx.params.get("subcommand_window", 2))
    staged_markers = [str(m) for m in ctx.params.get("staged_markers") or []]
    gitops = ctx.config.gitops_root.strip("/")
    from ..stack.pipeline.mise import find_line

    for _runner, model, _ in found:
        for source, line, what in model.unfollowed:
            repo.notes.append(f"{source}:{line}: CL204 did not follow lefthook {what}: its commands are not judged")
    verdicts = []
    for runner, model, per_command in found:
        missing = []
        for req in ctx.params.get("required") or []:
            if not isinstance(req, dict):
                continue
            spec = _specs([req.get("command")])[0] if req.get("command") else None
            if not spec:
                continue
            probe = str(req["probe"]).replace("{gitops_root}", gitops) if req.get("probe") else None
            staged = bool(req.get("staged"))
            ok = any(command_matches(c.words, spec, window) and (not probe or _hook_matches(hc, probe))
                     and (not staged or any(m in c.words for m in staged_markers))
                     for hc, cmds in per_command for c in cmds)
            if not ok:
                missing.append((spec, probe, staged))
        verdicts.append((len(missing), runner, model, missing))
    # The runners cannot all be installed at once (each owns .git/hooks/pre-commit): one must hold the subset.
    _, runner, model, missing = min(verdicts, key=lambda v: v[0])
    label = f"lefthook `{hook_name}`" if runner == "lefthook" else "pre-commit"
    pattern = rf"^\s*\[?\s*\"?{re.escape(hook_name)}\b" if runner == "lefthook" else r"^\s*repos\s*:"
    hook_line = find_line(repo.lines(model.path), re.compile(pattern)) or 1
    unread = ""
    if model.unfollowed:
        unread = (f" (not followed: {'; '.join(what for _, _, what in model.unfollowed)}; if that config runs it, "
                  "commit it to the repository or suppress this finding)")
    for spec, probe, staged in missing:
        on = f" on files like `{probe}`" if probe else (" on staged files" if staged else "")
        yield Hit(f"{label} does not run `{_show(spec)}`{on}{unread}", Location(model.path, hook_line),
                  key=f"missing:{_show(spec)}")
    slow = _specs(ctx.params.get("slow_commands"))
    for runner, _model, per_command in found:
        label = f"lefthook `{hook_name}`" if runner == "lefthook" else "pre-commit"
        for hc, cmds in per_command:
            for c in cmds:
                spec = next((s for s in slow if command_matches(c.words, s, window)), None)
                if spec and not any(m in c.words for m in staged_markers):
                    yield Hit(f"{label} runs `{_show(spec)}`, which is whole-project and slow: it belongs "
                              f"in `mise run check`, not in every commit ({c.describe()})", Location(c.path, c.line),
                              key=f"slow:{_show(spec)}:{hc.name}")


# -- CL205 -----------------------------------------------------------------------------------


def _pinned(uses: str, pattern: Pattern, allowed: list[str]) -> bool:
    from ..stack.pipeline.model import uses_name

    if uses.startswith("./"):
        return True
    if uses.startswith("docker://"):
        return "@sha256:" in uses
    name, _, ref = uses.partition("@")
    if any(uses_name(name) == a.lower() or uses_name(name).startswith(a.lower().rstrip("/") + "/") for a in allowed):
        return True
    return bool(ref) and bool(pattern.match(ref.strip()))


def _write_scopes(perms: Any) -> list[str]:
    if isinstance(perms, str):
        return [perms] if perms.strip() == "write-all" else []
    if isinstance(perms, dict):
        return [str(k) for k, v in perms.items() if str(v).strip() == "write"]
    return []


@check("actions-hardening")
def actions_hardening(ctx: Context) -> Iterator[Hit]:
    repo = ctx.repo
    allowed = [str(a) for a in ctx.params.get("allowed_unpinned") or []]
    checkout = [str(a).lower() for a in ctx.params.get("checkout_actions") or []]
    head_markers = [str(m) for m in ctx.params.get("pr_head_markers") or []]
    judged = set(ctx.files)  # the workflows and composite action files among them are judged
    if not any(is_workflow_path(p) or p.rsplit("/", 1)[-1] in ACTION_FILES for p in judged):
        return
    from ..stack.goregex import compile_re2  # the config's pattern: RE2, linear on any ref

    pattern = compile_re2(str(ctx.params.get("pin_pattern", "^[0-9a-f]{40}$")))
    from ..stack.pipeline.model import composite_actions, uses_name, workflows
    from ..stack.pipeline.workflows import MISSING

    for path, steps in composite_actions(repo):
        if path not in judged:
            continue
        for step in steps:
            if step.uses and not _pinned(step.uses, pattern, allowed):
                yield Hit(f"action `{step.uses}` (in a composite action) is not pinned to a full commit SHA; use "
                          f"`{uses_name(step.uses)}@<40-hex sha> # <version>`", Location(path, step.uses_line),
                          key=f"pin:{uses_name(step.uses)}")
    for wf in workflows(repo):
        if wf.path not in judged:
            continue
        if wf.permissions is MISSING:
            yield Hit("no top-level `permissions` block: the token gets the repository's default scopes; declare "
                      "`permissions: contents: read` and grant more per job", Location(wf.path, 1),
                      key="no-permissions")
        else:
            for scope in _write_scopes(wf.permissions):
                line = wf.permissions.line_of(scope) if hasattr(wf.permissions, "line_of") else wf.permissions_line
                yield Hit(f"top-level `permissions` grants `{scope}` write to every job: grant write scopes only on "
                          "the job that needs them", Location(wf.path, line), key=f"write:{scope}")
        target = "pull_request_target" in wf.triggers
        for job in wf.jobs:
            if job.uses and not _pinned(job.uses, pattern, allowed):
                yield Hit(f"reusable workflow `{job.uses}` is not pinned to a full commit SHA",
                          Location(wf.path, job.uses_line), key=f"pin:{uses_name(job.uses)}")
            for step in job.steps:
                if step.uses and not _pinned(step.uses, pattern, allowed):
                    yield Hit(f"action `{step.uses}` is not pinned to a full commit SHA (a tag can be moved); use "
                              f"`{uses_name(step.uses)}@<40-hex sha> # <version>`", Location(wf.path, step.uses_line),
                              key=f"pin:{uses_name(step.uses)}")
                if target and step.uses and uses_name(step.uses) in checkout:
                    for key, value in step.with_.items():
                        if isinstance(value, str) and any(m in value for m in head_markers):
                            line = step.with_.line_of(key) if hasattr(step.with_, "line_of") else step.line
                            yield Hit(f"a `pull_request_target` workflow checks out the pull request's head "
                                      f"(`{key}: {value}`): untrusted code then runs with a privileged token and "
                                      "secrets", Location(wf.path, line), key=f"prt-head:{job.id}")
