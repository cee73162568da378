"""What the tree is: the index git will commit, listed and read through git itself.

A commit hook judges the index (`GIT_INDEX_FILE`, which git sets for every hook it runs: under
`git commit -a` or `git commit PATH` it names a temporary index, and the work tree may differ from
it), so the file list comes from `git ls-files -s` and the content of each file from its staged blob,
read through one long-lived `git cat-file --batch`. The change a commit makes is the index against
`HEAD`, compared entry by entry (a pathspec'd `git diff --cached` fails under `git commit --only`,
whose temporary index names a tree not written yet).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .gitcmd import GitError, discard, git, git_command, git_env

REGULAR_MODES = ("100644", "100755")
LINK_MODE = "120000"


# One path of the index (or of a tree): "<mode> <blob id>" as git prints them. A plain string: a hook
# builds thousands, and comparing two compares both parts.
Entry = str


def mode_of(entry: Entry) -> str:
    return entry[:6]


def oid_of(entry: Entry) -> str:
    return entry[7:]


def index_file_from_env(cwd: Path) -> Path | None:
    """The index a running git hook names, resolved against the directory the hook started in (git
    passes `.git/index` relative in the main work tree and an absolute path in linked ones)."""
    value = os.environ.get("GIT_INDEX_FILE")
    if not value:
        return None
    return Path(os.path.normpath(os.path.join(cwd, value)))


def list_index(root: Path, index_file: Path | None) -> dict[str, Entry]:
    """Every path of the index with its staged blob (a conflicted path: one of its stages)."""
    return read_index(root, index_file)[0]


def read_index(root: Path, index_file: Path | None) -> tuple[dict[str, Entry], frozenset[str]]:
    """`list_index`, and the paths a sparse checkout leaves out of the work tree (`skip_worktree`): one git
    call answers both."""
    raw = git(root, "ls-files", "-s", "-t", "-z", "--full-name", index_file=index_file)
    # "<tag> <mode> <oid> <stage>\t<path>\0" (tag: S skip-worktree, H or M otherwise): the part before the
    # path has one length for every entry of a repository (its hash's), so slices of one decoded string
    # take it apart.
    items = raw.decode("utf-8", "surrogateescape").split("\0")
    items.pop()  # after the last \0
    if not items:
        return {}, frozenset()
    tab = items[0].index("\t")
    return ({item[tab + 1:]: item[2:tab - 2] for item in items},
            frozenset(item[tab + 1:] for item in items if item[0] == "S"))


def list_head(root: Path) -> dict[str, Entry] | None:
    """Every path of the commit `HEAD` names, or None before the first commit."""
    try:
        raw = git(root, "ls-tree", "-r", "-z", "--full-tree", "HEAD")
    except GitError:
        return None
    # "<mode> <type> <oid>\t<path>\0"; linear: every part is bounded by the separator after it.
    return {path.decode("utf-8", "surrogateescape"): f"{mode.decode()} {oid.decode()}"
            for mode, oid, path in _TREE_ITEM.findall(raw)}


_TREE_ITEM = re.compile(rb"([0-7]{6}) [a-z]+ ([0-9a-f]+)\t([^\0]*)\0")


def diff_index(root: Path, index_file: Path | None) -> tuple[list[str], list[str]] | None:
    """(paths added or changed, paths deleted) against `HEAD`, as git compares them (its cache of trees
    skips unchanged folders); None when git cannot say (no commit yet: everything staged is new)."""
    try:
        raw = git(root, "diff-index", "--cached", "-z", "--name-status", "--no-renames", "HEAD",
                  index_file=index_file)
    except GitError:
        return None
    words = raw.split(b"\0")
    changed, deleted = [], []
    for status, path in zip(words[0::2], words[1::2], strict=False):
        name = path.decode("utf-8", "surrogateescape")
        (deleted if status == b"D" else changed).append(name)
    return sorted(changed), sorted(deleted)


def staged_change(index: dict[str, Entry], head: dict[str, Entry] | None) -> tuple[list[str], list[str]]:
    """(paths added or changed, paths deleted) by the commit the index would make. A rename is both."""
    if head is None:
        return sorted(index), []
    changed = [p for p, e in index.items() if head.get(p) != e]
    deleted = [p for p in head if p not in index]
    return sorted(changed), sorted(deleted)


def skip_worktree(root: Path, index_file: Path | None) -> frozenset[str]:
    """Paths a sparse checkout leaves out of the work tree (their content is in git only)."""
    raw = git(root, "ls-files", "-t", "-z", "--full-name", index_file=index_file)
    return frozenset(r[2:].decode("utf-8", "surrogateescape") for r in raw.split(b"\0") if r[:2] == b"S ")


class BlobReader:
    """Blobs by id through one `git cat-file --batch`, started on the first read and ended by `close`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending: _Chunks | None = None  # a blob being read in chunks: finished before the next

    def _process(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            # protocol.allow=never (in the hardening) keeps a partial clone from fetching a missing blob:
            # it is reported missing instead.
            self._proc = subprocess.Popen(git_command(self.root, "cat-file", "--batch"), stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=git_env())
        return self._proc

    def _ask(self, oid: str) -> tuple[IO[bytes], int] | None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.drain()
        proc = self._process()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(oid.encode("ascii") + b"\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise GitError("git cat-file stopped") from exc
        header = proc.stdout.readline().split()
        if not header:
            raise GitError("git cat-file stopped")
        if len(header) != 3:  # "<oid> missing"
            return None
        return proc.stdout, int(header[2])

    def size(self, oid: str) -> int | None:
        """The blob's size, or None when the repository does not have it (a partial clone)."""
        raw = git(self.root, "cat-file", "-s", oid, check=False).strip()
        return int(raw) if raw.isdigit() else None

    def read(self, oid: str, limit: int | None = None) -> bytes | None:
        """The blob's bytes (None when missing); past `limit`, only its first `limit + 1` bytes."""
        asked = self._ask(oid)
        if asked is None:
            return None
        out, size = asked
        keep = size if limit is None else min(size, limit + 1)
        data = out.read(keep)
        discard(out, size - keep + 1)  # the rest, and the newline after the content
        return data

    def chunks(self, oid: str, chunk: int = 1 << 20) -> Iterator[bytes] | None:
        """The blob in chunks of at most `chunk` bytes (memory stays bounded), or None when missing.
        Asking for another blob first skips what is left of this one."""
        asked = self._ask(oid)
        if asked is None:
            return None
        stream = _Chunks(*asked, chunk)
        self._pending = stream
        return iter(stream)

    def close(self) -> None:
        if self._proc is not None:
            proc, self._proc = self._proc, None
            for end in (proc.stdin, proc.stdout):
                if end is not None:
                    try:
                        end.close()
                    except OSError:
                        pass
            proc.wait()


class _Chunks:
    """The rest of one blob on the pipe, read in chunks; `drain` skips what was not read."""

    def __init__(self, out: IO[bytes], size: int, chunk: int) -> None:
        self.out, self.left, self.chunk = out, size, chunk
        self.done = False

    def __iter__(self) -> Iterator[bytes]:
        while self.left > 0:
            data = self.out.read(min(self.chunk, self.left))
            if not data:
                self.left = 0
                break
            self.left -= len(data)
            yield data
        self.drain()

    def drain(self) -> None:
        if not self.done:
            self.done = True
            discard(self.out, self.left + 1)  # the rest, and the newline after the content
            self.left = 0


def stamp_of(st: os.stat_result) -> tuple[int, int, int, int]:
    """What identifies a work-tree file's content between runs without reading it, as git's index does."""
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def cache_dir(root: Path) -> Path | None:
    """Where the repository at `root` keeps what runs leave for later ones: inside its git folder, or
    nowhere (asked once per run: the parse cache and the kept results both use it)."""
    key = str(root)
    if key not in _CACHE_DIRS:
        try:
            out = git(root, "rev-parse", "--absolute-git-dir").decode("utf-8", "surrogateescape").strip()
        except GitError:
            out = ""
        _CACHE_DIRS[key] = Path(out) / "cloudlab-lint" if out else None
    return _CACHE_DIRS[key]


_CACHE_DIRS: dict[str, Path | None] = {}


def know_cache_dir(root: Path, git_dir: Path) -> None:
    """`cache_dir(root)` from a git folder already asked for (`locate_root`)."""
    _CACHE_DIRS[str(root)] = git_dir / "cloudlab-lint"
