"""Git through one door: every call hardened against a hostile repository."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import IO

# Settings in a repository's own .git/config could run commands (fsmonitor,
# hooks, pagers, external diff drivers, textconv): switch them all off.
HARDENING = (
    "-c", "core.fsmonitor=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.pager=cat",
    "-c", "diff.external=",
    "-c", "core.untrackedCache=false",
    "-c", "protocol.allow=never",
    # `log.showSignature` makes every `git log` (the history scan too) hand signed
    # commits to `gpg.program`, whatever the output format asks for.
    "-c", "log.showSignature=false",
    "-c", "gpg.program=false", "-c", "gpg.ssh.program=false", "-c", "gpg.x509.program=false",
    "--no-pager",
)
# Not switchable here: diff drivers, textconv and filters named in .gitattributes.
# Pass --no-ext-diff/--no-textconv to diff and log, and never run a command that
# compares the work tree with the index (status, diff without --cached): that
# runs the clean filter of a hostile .gitattributes.


class GitError(RuntimeError):
    pass


def git_env(index_file: Path | None = None) -> dict[str, str]:
    """The environment of every git call: no variable of the caller's git (a hook's GIT_DIR or
    GIT_INDEX_FILE) leaks in, except the index asked for by name."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEEP}
    env.update(GIT_PAGER="cat", PAGER="cat", GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0",
               GIT_ASKPASS="/bin/false", SSH_ASKPASS="/bin/false", LC_ALL="C", GIT_NO_LAZY_FETCH="1")
    if index_file is not None:
        env["GIT_INDEX_FILE"] = str(index_file)
    return env


# Isolation variables a caller (or a test) may set on purpose.
_KEEP = {"GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
         "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"}


def git_command(root: Path | str, *args: str) -> list[str]:
    return ["git", *HARDENING, "-C", str(root), *args]


def git(root: Path | str, *args: str, input: bytes | None = None, check: bool = True,
        index_file: Path | None = None) -> bytes:
    """Run git and return stdout; raise GitError with git's own message. `index_file`: the index to
    use instead of the repository's own (a commit hook's temporary index)."""
    try:
        proc = subprocess.run(git_command(root, *args), input=input, capture_output=True,
                              env=git_env(index_file), check=False)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    if check and proc.returncode != 0:
        raise GitError(_message(proc.stderr) or f"git {args[0]} failed")
    return proc.stdout


def _message(stderr: bytes) -> str:
    """git's own reason: its `fatal:`/`error:` line (what follows is advice), else its last line."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    reason = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[-1] if lines else "")
    return reason.removeprefix("fatal: ").removeprefix("error: ")


# What git says outside a work tree (a plain folder, a bare repository, inside .git): not an error of git.
_NOT_A_WORK_TREE = ("not a git repository", "must be run in a work tree")


def toplevel_and_git_dir(start: Path) -> tuple[Path | None, Path | None]:
    """The work tree's top level and its git folder, in one call (a hook run asks for both); (None, None)
    outside a work tree; GitError, with git's own words, when git cannot tell."""
    try:
        out = git(start, "rev-parse", "--show-toplevel", "--absolute-git-dir")
    except GitError as exc:
        if any(words in str(exc) for words in _NOT_A_WORK_TREE):
            return None, None
        raise  # git cannot run here (missing, dubious ownership, a broken repository): say why, never guess
    lines = out.decode("utf-8", "surrogateescape").split("\n")
    if len(lines) < 2 or not lines[0].strip():
        return None, None
    return Path(lines[0].strip()), Path(lines[1].strip()) if lines[1].strip() else None


def discard(stream: IO[bytes], count: int) -> None:
    """Read and drop `count` bytes of a git pipe (what is left of an object), in bounded pieces."""
    while count > 0:
        chunk = stream.read(min(count, 1 << 20))
        if not chunk:
            return
        count -= len(chunk)
