"""Applying the fixes checks offer (`model.Edit`), after the run and only with --fix: the one place that writes
into the work tree."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..atomic import write_atomic

if TYPE_CHECKING:
    from ..model import Edit, Rule
    from ..repo import Repo
    from .execute import Outcome


def apply_edits(repo: Repo, rules: list[Rule], outcomes: dict[str, Outcome]) -> tuple[list[str], list[str]]:
    """Apply every rule's edits in order, drop the hits they resolve; (what the report says, files written)."""
    notes: list[str] = []
    modified: list[str] = []
    for rule in rules:
        outcome = outcomes.get(rule.id)
        if outcome is None or outcome.error is not None:
            continue
        for edit in outcome.edits:
            tracked = repo.exists(edit.path)
            refused = _append(repo, edit)
            if refused:
                notes.append(f"{rule.id}: not fixed: {refused}")
                continue
            untracked = "" if tracked else f" (a new file: `git add {edit.path}`)"
            staged = f"; the index is what is judged: `git add {edit.path}` to commit the fix" if repo.staged else ""
            notes.append(f"{rule.id}: added to {edit.path}{untracked}: {edit.says}{staged}")
            if edit.path not in modified:
                modified.append(edit.path)
            if not repo.staged:  # a hook judges the index, which the edit has not changed
                resolved = set(edit.resolves)
                outcome.hits = [h for h in outcome.hits if h.key not in resolved]
    return notes, modified


def _append(repo: Repo, edit: Edit) -> str | None:
    """Append `edit.append` to its file atomically, keeping the file's line endings; or say why not."""
    path = repo.root / edit.path
    if path.is_symlink() or (path.exists() and not path.is_file()):
        # git does not follow a linked file either; never read or write through it.
        return f"{edit.path} is not a regular file (a link?): replace it with one, then run --fix again"
    try:
        old = path.read_bytes() if path.exists() else b""
    except OSError as exc:
        return f"{edit.path} cannot be read ({exc.strerror})"
    newline = b"\r\n" if b"\r\n" in old else b"\n"
    body = old if not old or old.endswith(b"\n") else old + newline
    write_atomic(path, body + newline.join(line.encode() for line in edit.append) + newline)
    repo.invalidate(edit.path)
    return None
