"""Which commits `--history` (CL006) scans, as gitleaks users expect.

- every commit of every ref (the gate before the first push): the default;
- `--history-range BASE..HEAD`: the blobs that the commits of that range added (a pull request's commits, as
  `gitleaks git --log-opts BASE..HEAD` scans them);
- `--pre-push`: what `git push` is about to send, from the lines git hands a pre-push hook on stdin
  (`<local ref> <local sha> <remote ref> <remote sha>`): each ref's new commits, those no remote-tracking ref
  holds (a new branch has remote sha 0000…);
- under pre-commit's pre-push stage (which reads git's stdin itself): the range pre-commit passes in
  `PRE_COMMIT_FROM_REF`/`PRE_COMMIT_TO_REF`, or, when the push sends a new root (pre-commit sets no range
  then), `PRE_COMMIT_LOCAL_BRANCH` less what the remote-tracking refs hold.

A scope is git log's revision arguments, made of full object ids and git's own options only, so nothing a
user typed can reach git as an option.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from .gitcmd import GitError, git
from .record import record

_OID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


class ScopeError(ValueError):
    """A range or pre-push input that names no commit here: a usage error (exit 2)."""


@record
class Scope:
    revs: tuple[str, ...] | None  # git log's revision arguments; None: every ref; (): nothing to scan
    what: str  # for the run's note: what was scanned

    @property
    def whole(self) -> bool:
        return self.revs is None


EVERY_REF = Scope(None, "every ref")


def commit_id(root: Path, rev: str, what: str) -> str:
    """The full id of the commit `rev` names, or ScopeError saying which `what` is not here."""
    if not rev or rev.startswith("-"):
        raise ScopeError(f"{what}: {rev!r} is not a revision")
    try:
        out = git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    except GitError:
        raise ScopeError(f"{what}: no commit {rev!r} in this clone (fetch it, or check out with full history: "
                         "`fetch-depth: 0`)") from None
    return out.decode("ascii", "replace").strip()


def from_range(root: Path, text: str) -> Scope:
    """`BASE..HEAD`: the commits reachable from HEAD and not from BASE."""
    base, dots, tip = text.partition("..")
    if not dots or tip.startswith("."):
        raise ScopeError(f"--history-range: {text!r} is not BASE..HEAD")
    base_id = commit_id(root, base, "--history-range BASE")
    tip_id = commit_id(root, tip or "HEAD", "--history-range HEAD")
    return Scope((f"{base_id}..{tip_id}",), f"the commits of {text}")


def from_pre_push(root: Path, lines: str) -> Scope:
    """git's pre-push input: every pushed ref's commits that neither the remote's old value nor any
    remote-tracking ref holds. A deletion pushes nothing; a remote sha this clone lacks excludes nothing."""
    tips: list[str] = []
    known: list[str] = []
    refs: list[str] = []
    for line in lines.splitlines():
        if not line.strip():
            continue
        parts = line.rsplit(maxsplit=3)
        if len(parts) != 4 or not all(_OID.fullmatch(p) for p in parts[1::2]):
            raise ScopeError(f"--pre-push: not a line git gives a pre-push hook: {line[:80]!r}")
        local_ref, local_sha, _remote_ref, remote_sha = parts
        if not local_sha.strip("0"):
            continue  # a deletion
        tips.append(commit_id(root, local_sha, "--pre-push"))
        refs.append(local_ref)
        if remote_sha.strip("0"):
            try:
                known.append(commit_id(root, remote_sha, "--pre-push"))
            except ScopeError:
                pass  # the remote moved since our last fetch: the remote-tracking refs still exclude
    if not tips:
        return Scope((), "a push of no new commits")
    return Scope((*tips, "--not", *known, "--remotes"), f"the commits pushed ({', '.join(refs)})")


def from_pre_commit(root: Path, env: Mapping[str, str]) -> Scope | None:
    """pre-commit's pre-push stage (it passes the range in its environment; `pre-commit run --from-ref A
    --to-ref B` does too), else None."""
    start, end = env.get("PRE_COMMIT_FROM_REF"), env.get("PRE_COMMIT_TO_REF")
    if start and end:
        return Scope((f"{commit_id(root, start, 'PRE_COMMIT_FROM_REF')}..{commit_id(root, end, 'PRE_COMMIT_TO_REF')}",),
                     f"the commits {start[:12]}..{end[:12]} (pre-commit)")
    branch, remote = env.get("PRE_COMMIT_LOCAL_BRANCH"), env.get("PRE_COMMIT_REMOTE_NAME")
    if branch and remote:
        # A push of a new root: pre-commit sets no range (it would run on all files).
        return Scope((commit_id(root, branch, "PRE_COMMIT_LOCAL_BRANCH"), "--not", "--remotes"),
                     f"the commits pushed ({branch}, pre-commit)")
    return None


def history_scope(root: Path, history_range: str | None, pre_push: bool, stdin: str | None,
                  env: Mapping[str, str]) -> Scope:
    """The scope a run asks for: explicit options first, then pre-commit's pre-push environment."""
    if history_range:
        return from_range(root, history_range)
    if pre_push:
        if stdin is None:
            raise ScopeError("--pre-push reads the lines git gives a pre-push hook on standard input, and it is a "
                             "terminal: run it from the hook, or use --history-range BASE..HEAD")
        return from_pre_push(root, stdin)
    return from_pre_commit(root, env) or EVERY_REF
