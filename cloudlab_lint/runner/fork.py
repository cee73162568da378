"""Two cores for `--all` on a big tree: the rules that do not read the Flux tree run in a forked process.

Most of an `--all` run is two independent halves: the Flux model (parse the tree, build every cluster, and the
rules parsing manifests themselves, which share its parses) and the rules that read each file once (CL001-CL007,
the pipeline, Terraform and docs rules). On a big tree each half takes a second or more, so a forked process
works through the second half while this one builds the model, and this one helps with what is left of it once
its own rules are done. The child sends back its rules' outcomes and its diagnostics (CL000 runs last, here,
and reports both halves).

Forking copies the state reached so far (imports, config, catalog), so nothing is set up twice. When the child
fails in any way its rules simply run here afterwards: the result never depends on whether it worked. Trees with
little to read (`Settings.fork_min_work`), `--fix` (it writes files), single-core machines, platforms without
fork and `CLOUDLAB_LINT_JOBS=1` run everything here; so do trees where either half has little of its own to do
(`_work`: manifests alone give the forked rules nothing the parse does not already read).
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model import Rule
    from ..repo import Repo
    from .execute import Outcome
    from .settings import Settings

MAX_QUEUED = 1024  # 2 bytes each: the queue fits in a pipe's buffer (4 KiB at the very least)
# What keeps a rule in this process: it reads the Flux tree (whose parses this process makes), or it forks
# workers of its own (history), or it talks to the network under its own deadline (GitHub).
STAYS = frozenset(("gitops", "manifests", "history", "github"))

Run = Callable[["Rule"], "Outcome"]


def plan(rules: list[Rule], repo: Repo, settings: Settings, fix: bool) -> tuple[list[Rule], list[Rule]]:
    """(rules to run in this process, rules for a forked one)."""
    if not _worth_it(repo, settings, fix):
        return rules, []
    forked = [r for r in rules if not STAYS.intersection(r.scope.uses)]
    if not forked or len(forked) == len(rules) or len(forked) > MAX_QUEUED:
        return rules, []  # nothing to overlap with (or a queue too long for one pipe write)
    return [r for r in rules if r not in forked], forked


def _worth_it(repo: Repo, settings: Settings, fix: bool) -> bool:
    if settings.jobs == 1 or not hasattr(os, "fork") or fix:
        return False
    if settings.jobs is not None and settings.jobs >= 2:
        return True
    return cores() >= 2 and _work(repo, settings) >= settings.fork_min_work


def _work(repo: Repo, settings: Settings) -> int:
    """The smaller of the two halves' own work: the bytes of the YAML files (this process parses them; the forked
    rules scan them too) and the bytes of every other file (only the forked rules read those), each file also
    counting `file_cost`. Measured on nine real repositories and the generated 5k one (2 cores, paired): the fork
    cost 14-40% more CPU and saved no wall time at the median, also where the other files were 0.7 MB (xunholy,
    toboshii); on a tree of manifests alone it has nothing of its own to overlap. Each half is counted only until
    the threshold (a few stat calls on a big tree: the decision stays cheap)."""
    need = settings.fork_min_work
    yaml_bytes = other = 0
    for path in repo.targets:
        manifest = path.endswith((".yaml", ".yml"))
        if manifest and yaml_bytes >= need or not manifest and other >= need:
            continue
        try:
            size = os.lstat(repo.root / path).st_size + settings.file_cost
        except OSError:
            size = settings.file_cost  # a sparse checkout's file: read from git all the same
        if manifest:
            yaml_bytes += size
        else:
            other += size
        if yaml_bytes >= need and other >= need:
            break
    return min(yaml_bytes, other)


def cores() -> int:
    """Cores this process may use (a CI container's CPU set, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class Forked:
    """A forked process taking rules from a queue both processes share; this one takes what is left once
    its own rules are done, so neither idles while the other has a queue to work through.

    The queue is a pipe holding one 2-byte token per rule, written whole before the fork and closed for
    writing: a read of two bytes takes one rule (pipe reads are atomic), an empty read means none is left.
    """

    def __init__(self, rules: list[Rule], run: Run, repo: Repo, settings: Settings) -> None:
        self.rules, self.run, self.settings = rules, run, settings
        queue, tokens = os.pipe()
        try:
            os.write(tokens, b"".join(i.to_bytes(2, "big") for i in range(len(rules))))
        finally:
            os.close(tokens)
        read, write = os.pipe()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # or the child would print what is buffered again
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            os.close(read)
            repo.forget_blob_reader()  # the parent's git pipe is the parent's: the child starts its own
            code = 1
            try:
                outcomes = {}
                while (index := _take(queue)) is not None:
                    outcomes[rules[index].id] = run(rules[index])
                payload = pickle.dumps((outcomes, repo.diagnostics), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as out:
                    out.write(payload)
                code = 0
            finally:
                os._exit(code)  # no atexit handlers, no flushing of the parent's buffers
        os.close(write)
        self.queue, self.read = queue, read

    def join(self, repo: Repo) -> dict[str, Outcome]:
        """Take the rules still queued, then collect the child's outcomes (or run its rules here)."""
        mine: dict[str, Outcome] = {}
        while self.settings.steal and (index := _take(self.queue)) is not None:
            mine[self.rules[index].id] = self.run(self.rules[index])
        os.close(self.queue)
        with os.fdopen(self.read, "rb") as fh:
            data = fh.read()
        _, status = os.waitpid(self.pid, 0)
        got = None
        if os.waitstatus_to_exitcode(status) == 0 and data:
            try:
                got = pickle.loads(data)
            except Exception:  # noqa: BLE001 - whatever went wrong, the rules run here instead
                got = None
        if got is None:
            for rule in self.rules:
                if rule.id not in mine:
                    mine[rule.id] = self.run(rule)
            return mine
        outcomes, diagnostics = got
        repo.diagnostics.merge(diagnostics)
        return {**outcomes, **mine}


def _take(queue: int) -> int | None:
    token = os.read(queue, 2)
    return int.from_bytes(token, "big") if len(token) == 2 else None


def start(rules: list[Rule], run: Run, repo: Repo, settings: Settings) -> Forked | None:
    try:
        return Forked(rules, run, repo, settings)
    except OSError:  # no fork possible (process limit): the caller runs them itself
        return None
