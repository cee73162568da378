"""The runner: the one place that decides how the selected rules run.

It gates each rule by its declared scope (`gate`), serves a commit hook's tree rules from what an earlier hook
run kept while what they read is unchanged (`kept`, with the facts kept by `store`), runs the rules that
do not read the Flux tree in a forked process when the work is worth a second core (`fork`), and applies the
fixes checks offer, after the run and only with --fix (`edits`). Checks never know any of it: each is a plain
query over the repository and the models that yields hits (and edits). Nothing outside this package imports a
cache or the fork, and nothing in it imports a check family: checks are reached through the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..record import factory, record
from .execute import Outcome, check_rule
from .settings import Settings

if TYPE_CHECKING:
    from ..checks import Options, Registry
    from ..config import Config
    from ..model import Rule
    from ..repo import Repo
    from .gate import Gate
    from .kept import KeptResults

__all__ = ["RUNS_LAST", "Outcome", "Ran", "Settings", "run_rules"]

# CL000 reports what every other rule could not read or parse, so it runs last.
RUNS_LAST = "parse-error"


@record(mutable=True)
class Ran:
    """What the rules gave: an outcome per rule id, what --fix did (notes), and the files it wrote."""

    outcomes: dict[str, Outcome]
    fixes: list[str] = factory(list)
    modified: list[str] = factory(list)


class _Run:
    def __init__(self, registry: Registry, repo: Repo, config: Config, options: Options, gate: Gate,
                 kept: KeptResults | None, debug: bool) -> None:
        self.registry, self.repo, self.config, self.options = registry, repo, config, options
        self.gate, self.kept, self.debug = gate, kept, debug

    def check(self, rule: Rule, files: tuple[str, ...]) -> Outcome:
        return check_rule(rule, self.registry, self.repo, self.config, self.options, files, self.debug)

    def __call__(self, rule: Rule) -> Outcome:
        """The rule's outcome in this run, gated by its scope."""
        gate, repo = self.gate, self.repo
        if not rule.scope.tree:
            files = gate.files(rule)
            return self.check(rule, files) if files or gate.whole else Outcome()
        if gate.whole:
            return self.check(rule, repo.files)
        kept = self.kept if rule.requires is None else None
        served = kept.served(rule) if kept is not None else None
        triggered = gate.triggered(rule)
        if served is not None:
            hits, reads, valid = served
            if valid:
                if not (triggered or gate.reaches(reads)):
                    return Outcome()
                assert kept is not None  # it served
                kept.say_again(rule, reads)
                return Outcome(hits)
            triggered = triggered or gate.reaches(reads)  # it read a file this change touches
        if not triggered:
            prefilter = self.registry.prefilter(rule.scope.prefilter) if rule.scope.prefilter else None
            if prefilter is None or not prefilter(repo):
                return Outcome()
        if kept is None and triggered:  # nothing to keep, nothing the gate still needs to know
            return self.check(rule, repo.files)
        said = repo.diagnostics.mark()
        with repo.recording() as reads:
            outcome = self.check(rule, repo.files)
        if kept is not None:
            kept.keep(rule, outcome.hits, reads, repo.diagnostics.since(said),
                      clean=outcome.error is None and not outcome.edits)
        if triggered or outcome.error is not None or gate.reaches(reads):
            return outcome
        # Dropped, and its notes with it: whether it ran at all depends on how much the prefilter could rule out,
        # and when it is served from what was kept its notes are not said either.
        repo.diagnostics.withdraw(said)
        return Outcome()


def run_rules(rules: list[Rule], repo: Repo, config: Config, options: Options, settings: Settings,
              debug: bool = False) -> Ran:
    """Run `rules` (CL000 last, after every other rule, forked ones included) and apply their fixes with --fix."""
    from ..checks import load_checks
    from .fork import plan, start
    from .gate import Gate

    registry = load_checks()
    kept = None
    if settings.keep and not options.fix:  # what --fix computes is not kept: it may have written files
        from .kept import open_kept

        kept = open_kept(repo, config, settings)
    run = _Run(registry, repo, config, options, Gate(repo, config), kept, debug)
    last = [r for r in rules if r.check == RUNS_LAST]
    first = [r for r in rules if r.check != RUNS_LAST]
    here, elsewhere = plan(first, repo, settings, options.fix)
    for rule in elsewhere:
        registry.get(rule.check)  # imported once, before the fork: not in both processes
    forked = start(elsewhere, run, repo, settings) if elsewhere else None
    outcomes: dict[str, Outcome] = {}
    for rule in here if forked is not None else first:
        outcomes[rule.id] = run(rule)
    if forked is not None:
        outcomes.update(forked.join(repo))
    if kept is not None:
        kept.finish()
    for rule in last:
        outcomes[rule.id] = run(rule)
    ran = Ran(outcomes)
    if options.fix:
        from .edits import apply_edits

        ran.fixes, ran.modified = apply_edits(repo, rules, outcomes)
    return ran
