"""Gating by declared scope (`Rule.scope`): which files a rule judges, and whether a commit hook runs it at all.

With `--all` (or named paths judged as a whole) every rule judges everything. In a commit hook a `files` rule
judges the staged files (every file when a change matches its `rejudge_all`), and a `tree` rule runs when a
change matches its `triggers` or reaches a file it read the last time (`runner.kept`), or, where nothing says
what it read, when its `prefilter` cannot rule the change out.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..globs import glob_test

if TYPE_CHECKING:
    from ..config import Config
    from ..model import Rule
    from ..repo import Repo


def resolved(patterns: Iterable[str], rule: Rule, config: Config) -> list[str]:
    """`patterns` with `{gitops_root}` and `{param:NAME}` replaced from the configuration."""
    root = posixpath.normpath(config.gitops_root or ".")
    out = []
    for pattern in patterns:
        if "{gitops_root}" in pattern:
            pattern = pattern.replace("{gitops_root}/", "" if root == "." else root + "/")
            pattern = pattern.replace("{gitops_root}", root)
        while "{param:" in pattern:
            start = pattern.index("{param:")
            end = pattern.find("}", start)
            if end < 0:
                break
            value = rule.params.get(pattern[start + 7:end])
            pattern = pattern[:start] + (str(value) if value is not None else "") + pattern[end + 1:]
        out.append(pattern)
    return out


class Gate:
    """One run's answers: `files(rule)` for a `files` rule, `triggered(rule)` and `reaches(reads)` for a tree rule."""

    def __init__(self, repo: Repo, config: Config) -> None:
        self.repo = repo
        self.config = config
        self.whole = repo.all_mode
        self.changed = () if self.whole else (*repo.targets, *repo.deleted)

    def _matches(self, patterns: Iterable[str], rule: Rule) -> bool:
        tests = [glob_test(p) for p in resolved(patterns, rule, self.config)]
        return any(test(path) for path in self.changed for test in tests)

    def files(self, rule: Rule) -> tuple[str, ...]:
        """The files a `files` rule judges in this run."""
        repo, scope = self.repo, rule.scope
        if self.whole or (scope.rejudge_all and self._matches(scope.rejudge_all, rule)):
            files = repo.files
            return tuple(sorted({*files, *repo.untracked})) if scope.untracked and repo.untracked else files
        return repo.content_targets if scope.untracked else repo.targets

    def triggered(self, rule: Rule) -> bool:
        """Whether a change matches a tree rule's triggers (always with --all)."""
        return self.whole or self._matches(rule.scope.triggers, rule)

    def reaches(self, reads: Iterable[str]) -> bool:
        """Whether a change is one of the files a tree rule read."""
        read = reads if isinstance(reads, (set, frozenset, dict)) else set(reads)
        return any(path in read for path in self.changed)
