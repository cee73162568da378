"""The runner's tuning, as one value a caller (or a test) sets, never as module constants patched from outside."""

from __future__ import annotations

import os

from ..record import record


@record
class Settings:
    """How a run may use what earlier runs left and a second core.

    `keep`: a commit hook keeps parses and whole-tree results in the git folder for later hook runs (never
    `--all`, `--no-cache` or a plain folder). `jobs`: None decides by the work; 1 runs everything in this
    process; 2 forks whenever there is something to overlap (tests). The rest are thresholds a test may lower.
    """

    keep: bool = False
    jobs: int | None = None
    # The work each half of a fork must hold (`fork._work`: the YAML files' bytes, the other files' bytes), each
    # file also counting `file_cost` (its open, stat and dispatch). Measured on real homelab repositories on 2
    # cores: with less in either half a fork saves nothing.
    fork_min_work: int = 1 << 20
    file_cost: int = 2048
    steal: bool = True  # this process takes queued rules too once its own are done
    racy_ns: int = 3_000_000_000  # a file changed this recently when read is not vouched for by its stamp
    open_after: int = 40  # files a run reads itself before it opens the fact store
    # The fact store's journal holds up to max(journal_min, 1/journal_share of the store) new entries before
    # the store is written whole again.
    journal_min: int = 256
    journal_share: int = 8
    save_after: int = 16  # refreshed stamps (same content) worth rewriting the kept result for

    @classmethod
    def from_env(cls, *, keep: bool) -> Settings:
        """`CLOUDLAB_LINT_JOBS=1` keeps a run in one process (a user's escape hatch, as documented)."""
        jobs = os.environ.get("CLOUDLAB_LINT_JOBS", "").strip()
        return cls(keep=keep, jobs=1 if jobs == "1" else None)
