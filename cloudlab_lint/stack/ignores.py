"""The committed ignore rules, judged exactly as git judges them.

Only the tracked `.gitignore` files count: `.git/info/exclude` and a user's
global excludes file are not shared, and a laptop's global `*.tfstate` must not
make CI and laptop disagree. So we copy the committed `.gitignore` files into a
scratch repository (no template, `core.excludesFile` off) and ask git itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..gitcmd import git
from ..record import record
from ..repo import Repo


@record
class Verdict:
    path: str
    ignored: bool
    source: str | None = None  # the .gitignore whose pattern decided, if any
    line: int = 1
    pattern: str | None = None


def ignore_files(repo: Repo) -> list[str]:
    return [p for p in repo.files if p == ".gitignore" or p.endswith("/.gitignore")]


def judge(repo: Repo, paths: Iterable[str]) -> dict[str, Verdict]:
    """For each path, whether the committed .gitignore files ignore it (paths need not exist)."""
    wanted = sorted(set(paths))
    if not wanted:
        return {}
    import shutil
    import tempfile  # here: a commit hook that finds nothing to judge never pays for either import

    scratch = Path(tempfile.mkdtemp(prefix="cloudlab-ignores-"))
    try:
        _init(scratch)
        for name in ignore_files(repo):
            data = repo.read_bytes(name)
            if data is None:
                continue
            target = scratch / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        out = git(scratch, "-c", f"core.excludesFile={os.devnull}", "check-ignore", "--no-index", "-v", "-n", "-z",
                  "--stdin", input=b"\0".join(p.encode("utf-8", "surrogateescape") for p in wanted) + b"\0",
                  check=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    fields = out.decode("utf-8", "surrogateescape").split("\0")
    verdicts: dict[str, Verdict] = {}
    for i in range(0, len(fields) - 3, 4):
        source, line, pattern, path = fields[i:i + 4]
        if not source:
            verdicts[path] = Verdict(path, False)
        else:
            verdicts[path] = Verdict(path, not pattern.startswith("!"), source, int(line or 1), pattern)
    for path in wanted:
        verdicts.setdefault(path, Verdict(path, False))
    return verdicts


def _init(scratch: Path) -> None:
    """An empty repository at `scratch`, what `git init --template=` makes of it, without a git process: the
    folders and HEAD that make a folder a repository, and the one setting git's probe of the file system would
    write that check-ignore reads (`core.ignoreCase`, where names differing in case are one file)."""
    git_dir = scratch / ".git"
    (git_dir / "objects").mkdir(parents=True)
    (git_dir / "refs").mkdir()
    (git_dir / "HEAD").write_bytes(b"ref: refs/heads/main\n")
    config = b"[core]\n\trepositoryformatversion = 0\n\tbare = false\n"
    if (git_dir / "head").exists():  # the same file: a case-insensitive file system
        config += b"\tignorecase = true\n"
    (git_dir / "config").write_bytes(config)
