"""Two cores for `--all` on a big tree: the file-by-file rules run in a forked process.

Most of an `--all` run is two independent halves: the Flux model (parse the tree, build every
cluster) and the rules that read each file once (CL001-CL007, the pipeline and docs rules). On a
tree of 5,000 manifests each half takes a second or more, so a forked process works through the
second half while this one builds the model, and this one helps with what is left of it once the
Flux rules are done (a small tree's model is quick). The child sends back its rules' outcomes and
what it could not read or parse (CL000 runs last, here, and reports both halves).

Forking copies the state reached so far (imports, config, catalog), so nothing is set up twice.
When the child fails in any way its rules simply run here afterwards: the result never depends on
whether it worked. Trees with little to read (`MIN_WORK`), `--fix` (it writes files), single-core
machines, platforms without fork and `CLOUDLAB_LINT_JOBS=1` run everything here.
"""

from __future__ import annotations

import os
import pickle
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..checks import Options, Registry
    from ..config import Config
    from ..engine import Outcome
    from ..model import Rule
    from ..repo import Repo

# The work a fork must be worth, in bytes to read and parse, each file also counting FILE_COST (its open,
# stat and dispatch). Measured on four real homelab repositories (2 cores, shared): 313 KB in 404 files
# gained 4.5% wall, 1.6-2.3 MB in 590-1,079 files 10-15%; 400 small files below it (by count they forked).
MIN_WORK = 1 << 20
FILE_COST = 2048
STEAL = True  # this process takes queued rules too once its own are done (tests switch it off)
MAX_QUEUED = 1024  # 2 bytes each: the queue fits in a pipe's buffer (4 KiB at the very least)
# Families whose checks neither build nor need the Flux model.
FORKED_MODULES = frozenset(("hygiene", "secrets", "sops", "pipeline", "docs"))


def plan(rules: list[Rule], repo: Repo, options: Options) -> tuple[list[Rule], list[Rule]]:
    """(rules to run in this process, rules for a forked one)."""
    if not _worth_it(repo, options):
        return rules, []
    from ..checks import MODULE_OF

    forked = [r for r in rules if MODULE_OF.get(r.check) in FORKED_MODULES]
    if not forked or len(forked) == len(rules) or len(forked) > MAX_QUEUED:
        return rules, []  # nothing to overlap with (or a queue too long for one pipe write)
    return [r for r in rules if r not in forked], forked


def _worth_it(repo: Repo, options: Options) -> bool:
    if os.environ.get("CLOUDLAB_LINT_JOBS", "").strip() == "1" or not hasattr(os, "fork"):
        return False
    return _cores() >= 2 and not options.fix and _work(repo) >= MIN_WORK


def _work(repo: Repo) -> int:
    """The bytes the targets hold plus FILE_COST each, counted only until MIN_WORK is reached (a few stat
    calls on a big tree: the decision stays cheap)."""
    total = 0
    for path in repo.targets:
        if total >= MIN_WORK:
            break
        try:
            total += os.lstat(repo.root / path).st_size + FILE_COST
        except OSError:
            total += FILE_COST  # a sparse checkout's file: read from git all the same
    return total


def _cores() -> int:
    """Cores this process may use (a CI container's CPU set, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class Forked:
    """A forked process taking rules from a queue both processes share; this one takes what is left once
    its own rules are done, so neither idles while the other has a queue to work through.

    The queue is a pipe holding one 2-byte token per rule, written whole before the fork and closed for
    writing: a read of two bytes takes one rule (pipe reads are atomic), an empty read means none is left.
    """

    def __init__(self, rules: list[Rule], registry: Registry, repo: Repo, config: Config,
                 options: Options, debug: bool) -> None:
        from ..engine import check_rule

        self.rules, self.args = rules, (registry, config, options, debug)
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
                    outcomes[rules[index].id] = check_rule(rules[index], registry, repo, config, options, debug)
                payload = pickle.dumps((outcomes, repo.problems, repo.notes, repo.file_notes),
                                       protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as out:
                    out.write(payload)
                code = 0
            finally:
                os._exit(code)  # no atexit handlers, no flushing of the parent's buffers
        os.close(write)
        self.queue, self.read = queue, read

    def join(self, repo: Repo) -> dict[str, Outcome]:
        """Take the rules still queued, then collect the child's outcomes (or run its rules here)."""
        from ..engine import check_rule

        registry, config, options, debug = self.args
        mine: dict[str, Outcome] = {}
        while STEAL and (index := _take(self.queue)) is not None:
            mine[self.rules[index].id] = check_rule(self.rules[index], registry, repo, config, options, debug)
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
                    mine[rule.id] = check_rule(rule, registry, repo, config, options, debug)
            return mine
        outcomes, problems, notes, file_notes = got
        for path, problem in problems.items():
            repo.problems.setdefault(path, problem)
        repo.notes.extend(notes)  # the engine reports each note once
        for path, note in file_notes.items():
            repo.file_notes.setdefault(path, note)
        return {**outcomes, **mine}


def _take(queue: int) -> int | None:
    token = os.read(queue, 2)
    return int.from_bytes(token, "big") if len(token) == 2 else None


def start(rules: list[Rule], registry: Registry, repo: Repo, config: Config, options: Options,
          debug: bool) -> Forked | None:
    for rule in rules:
        registry.get(rule.check)  # imported once, before the fork: not in both processes
    try:
        return Forked(rules, registry, repo, config, options, debug)
    except OSError:  # no fork possible (process limit): the caller runs them itself
        return None
