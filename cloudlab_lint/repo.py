"""The repository: root, tracked and target files, guarded reads, parse-once caches.

The tree is what git tracks (the index, so staged files count and untracked
files never do). Where content comes from depends on what is judged
(`files.py`): a commit hook reads each file's staged blob, so the commit is
judged as git will write it, whatever the work tree holds; `--all` and named
paths outside a hook read the work tree (a file a sparse checkout leaves out is
read from git). Files named on the command line that git does not track are
read from disk for the content rules, but are never part of the tree.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .diagnostics import Diagnostics, Problem
from .files import (
    LINK_MODE,
    REGULAR_MODES,
    BlobReader,
    Entry,
    diff_index,
    list_head,
    mode_of,
    oid_of,
    read_index,
    skip_worktree,
    staged_change,
)
from .gitcmd import GitError, toplevel_and_git_dir
from .globs import match_any
from .parsing import ParseError

if TYPE_CHECKING:
    from .runner.store import FactStore

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
STREAM_CHUNK = 1 << 20  # what `Repo.stream` reads at a time from a file over the cap
T = TypeVar("T")


class RepoError(RuntimeError):
    """The repository cannot be opened at all (exit 2)."""


class MissingPaths(RepoError):
    """Paths named on the command line that neither exist nor are staged (exit 2)."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        super().__init__(f"{shown}: no such file in the work tree or the index")


# What `decode` does not read as plain UTF-8 (a BOM, UTF-16): such bytes are held as they are.
_NOT_PLAIN = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_HELD_AS_TEXT: Any = object()  # in place of the bytes of a file whose text is held


def decode(data: bytes) -> str:
    """Text from bytes: UTF-8 (BOM stripped) or UTF-16 with BOM; raise UnicodeDecodeError."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8")


def is_binary(data: bytes) -> bool:
    head = data[:8000]
    return b"\0" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff"))


class Repo:
    def __init__(self, root: Path, files: Iterable[str], targets: Iterable[str] | None = None,
                 *, is_git: bool = True, exclude: tuple[str, ...] = (),
                 max_bytes: int = DEFAULT_MAX_BYTES, index: dict[str, Entry] | None = None,
                 staged: bool = False, deleted: Iterable[str] = (), untracked: Iterable[str] = (),
                 sparse: frozenset[str] = frozenset()) -> None:
        self.root = root
        self.real_root = root.resolve()
        self.is_git = is_git
        self.exclude = tuple(exclude)
        self.max_bytes = max_bytes
        self.excluded = frozenset(p for p in files if exclude and match_any(p, exclude))
        self.files: tuple[str, ...] = tuple(sorted(p for p in files if p not in self.excluded))
        self.file_set = frozenset(self.files)
        self.all_mode = targets is None
        self.targets: tuple[str, ...] = self.files if targets is None else tuple(
            sorted(p for p in targets if p in self.file_set))
        # The index entries (mode, blob) of the tracked files; `staged`: content is the staged blob.
        self.index = index
        self.staged = staged and index is not None
        self.sparse = sparse  # tracked files a sparse checkout keeps out of the work tree: read from git
        # Paths the commit deletes (a rename deletes its old name): a change like any other.
        self.deleted: tuple[str, ...] = tuple(sorted(p for p in deleted if p not in self.excluded
                                                     and not (exclude and match_any(p, exclude))))
        # Files named on the command line that git does not track: content for the content rules only.
        self.untracked: tuple[str, ...] = tuple(sorted(p for p in untracked if not (exclude and match_any(p, exclude))))
        self.content_targets: tuple[str, ...] = tuple(sorted((*self.targets, *self.untracked)))
        self._blobs: BlobReader | None = None
        self._over_cap: dict[str, int] = {}  # path -> size, for files left unread by the size cap
        self._binary: set[str] = set()  # files left unread as binary
        self.diagnostics = Diagnostics()
        self._bytes: dict[str, bytes | None] = {}
        self._cache: dict[Any, Any] = {}
        self._dirs: frozenset[str] | None = None
        # Real paths of folders, resolved once each (not once per file: realpath costs an lstat
        # per path component, the largest cost of reading 5,000 manifests).
        self._real_dirs: dict[str, str] = {}
        self._real_root = str(self.real_root)
        self.store: FactStore | None = None  # facts kept between hook runs, by content (`runner/store`)
        # Which files are read, and how: only through views (`view`: a bit each, `views.BIT`) or whole (0),
        # for each computation that asked (`recording`): what a result kept between runs depends on (`runner/kept.py`).
        self._recorders: list[dict[str, int]] = []
        self._cached_reads: dict[Any, dict[str, int]] = {}  # what each `cached` value read to be made
        self._yaml_parsed: set[str] = set()  # YAML files parsed in this run, held or not

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, root: Path, *, is_git: bool, paths: list[str] | None, all_files: bool, cwd: Path,
             exclude: tuple[str, ...] = (), max_bytes: int = DEFAULT_MAX_BYTES, staged: bool = False,
             index_file: Path | None = None, index: dict[str, Entry] | None = None,
             sparse: frozenset[str] | None = None) -> Repo:
        """The repository at `root` (from `locate_root`), judging `paths`, all files, or what is staged.

        The index is what is judged (`staged`) in a commit hook (`index_file`: the index git named),
        with `--staged`, or when neither paths nor `--all` are given. `index` and `sparse`: the index's entries and
        its skip-worktree paths, when the caller listed them already (`files.read_index`)."""
        if not is_git:
            files = list(_walk(root))
            targets = None if all_files or not paths else _expand_dirs(_relative(paths, cwd, root), files)
            repo = cls(root, files, targets, is_git=False, exclude=exclude, max_bytes=max_bytes)
            repo.notes.append(f"{root} is not a git work tree: linting every file below it")
            return repo
        staged = staged or index_file is not None or (not paths and not all_files)
        try:
            if index is None:
                index, sparse = read_index(root, index_file)
            if staged:
                sparse = frozenset()
            elif sparse is None:
                sparse = skip_worktree(root, index_file)
            if staged or paths:
                change = diff_index(root, index_file)
                # git could not compare (no commit yet, or a temporary index it cannot diff): entry by entry.
                changed, deleted = change if change is not None else staged_change(index, list_head(root))
            else:
                changed, deleted = [], []
        except GitError as exc:
            raise RepoError(f"cannot list the files git tracks: {exc}") from None
        files = list(index)
        untracked: list[str] = []
        outside: list[str] = []
        if all_files:
            targets = None
        elif paths:
            named = _relative(paths, cwd, root, outside)
            targets = _expand_dirs(named, files)
            gone = set(deleted)
            deleted = [p for p in named if p in gone] if not staged else deleted
            missing = []
            for path in named:
                if path in index or path in gone or any(f.startswith(path.rstrip("/") + "/") for f in files):
                    continue
                if os.path.isfile(os.path.join(root, path)) and not os.path.islink(os.path.join(root, path)):
                    untracked.append(path)
                elif not os.path.isdir(os.path.join(root, path)):
                    missing.append(path)
            if missing:
                raise MissingPaths(missing)
            if outside:
                raise RepoError(f"{outside[0]}: outside the repository at {root}, not judged "
                                "(run cloudlab-lint in that file's repository, or give --root)")
        else:
            targets = changed
        repo = cls(root, files, targets, exclude=exclude, max_bytes=max_bytes, index=index, staged=staged,
                   deleted=deleted if staged or paths else (), untracked=untracked, sparse=sparse)
        return repo

    def close(self) -> None:
        """End the git process that reads blobs, if one was started."""
        if self._blobs is not None:
            self._blobs.close()

    def forget_blob_reader(self) -> None:
        """In a forked process: leave the parent's `git cat-file` alone; a read starts another."""
        self._blobs = None

    def _blob_reader(self) -> BlobReader:
        if self._blobs is None:
            self._blobs = BlobReader(self.root)
        return self._blobs

    def _from_git(self, path: str) -> Entry | None:
        """The index entry to read `path` from, where its content comes from git rather than the disk."""
        if self.index is None or not (self.staged or path in self.sparse):
            return None
        return self.index.get(path)

    # -- queries -------------------------------------------------------------------------

    def exists(self, path: str) -> bool:
        return path in self.file_set

    def is_dir(self, path: str) -> bool:
        if self._dirs is None:
            dirs: set[str] = set()
            for f in self.files:
                parent = f.rpartition("/")[0]
                while parent and parent not in dirs:
                    dirs.add(parent)
                    parent = parent.rpartition("/")[0]
            self._dirs = frozenset(dirs)
        return path.rstrip("/") in self._dirs or path in ("", ".")

    def files_under(self, folder: str) -> list[str]:
        folder = folder.strip("/")
        if folder in ("", "."):
            return list(self.files)
        prefix = folder + "/"
        return [f for f in self.files if f.startswith(prefix)]

    def cached(self, key: Any, factory: Callable[[], T]) -> T:
        """`factory()` once per run. In a commit hook, what it read is remembered and counted as read again by
        every recording computation that gets the value (what a tree rule read gates it: `runner.gate`)."""
        if key in self._cache:
            if self._recorders and key in self._cached_reads:
                for path, how in self._cached_reads[key].items():
                    self._record(path, how)
            return self._cache[key]
        if self.all_mode:  # every rule runs, nothing is kept between runs: nothing to remember
            self._cache[key] = factory()
            return self._cache[key]
        with self.recording() as reads:
            self._cache[key] = factory()
        self._cached_reads[key] = reads
        return self._cache[key]

    @contextlib.contextmanager
    def recording(self, reads: dict[str, int] | None = None) -> Iterator[dict[str, int]]:
        """Which files the code inside reads (path -> the bits of the views it read, or 0: whole), `cached`
        values included; added to `reads` when given."""
        reads = {} if reads is None else reads
        self._recorders.append(reads)
        try:
            yield reads
        finally:
            # By identity: two recordings that read nothing yet are equal dicts.
            self._recorders[:] = [r for r in self._recorders if r is not reads]

    def _record(self, path: str, how: int = 0) -> None:
        """`how`: the views read (bits), or 0: the whole file, which then says what was read."""
        for reads in self._recorders:
            before = reads.get(path)
            reads[path] = how if before is None else (before | how if before and how else 0)

    def invalidate(self, path: str) -> None:
        """Forget what was read of `path` (after --fix rewrote it)."""
        self._bytes.pop(path, None)
        self._yaml_parsed.discard(path)
        for key in [k for k in self._cache if isinstance(k, tuple) and path in k[1:]]:
            del self._cache[key]

    @property
    def problems(self) -> dict[str, Problem]:
        return self.diagnostics.problems

    @property
    def notes(self) -> list[str]:
        return self.diagnostics.notes

    @property
    def file_notes(self) -> dict[str, str]:
        return self.diagnostics.file_notes

    def problem(self, path: str, message: str, line: int = 1, column: int = 1) -> None:
        self.diagnostics.problem(path, message, line, column)

    def _note(self, path: str, message: str) -> None:
        self.diagnostics.note(path, message)

    # -- guarded reads -------------------------------------------------------------------

    def read_bytes(self, path: str) -> bytes | None:
        """The file's bytes, or None when it is missing, a link, too big or binary."""
        self._record(path)
        return self._bytes_of(path)

    def unrecorded_bytes(self, path: str) -> bytes | None:
        """`read_bytes` not counted as a rule's read: what the runner reads to key what it keeps."""
        return self._bytes_of(path)

    def readable(self, path: str) -> bool:
        """Whether `path` may be read at all (a regular file inside the repository, under the cap), asked
        without a note."""
        entry = self._from_git(path)
        if entry is not None:
            return mode_of(entry) in REGULAR_MODES
        if self._guarded_stat(path, note=False) is not None:
            return True
        gone = self._gone(path)  # a tracked file gone from the work tree is read from the index (`_read_guarded`)
        return gone is not None and mode_of(gone) in REGULAR_MODES

    # The private readers below record nothing: a file is recorded by what a check asked for.

    def _bytes_of(self, path: str) -> bytes | None:
        if path in self._bytes:
            data = self._bytes[path]
            # Valid UTF-8 decoded to text is held as that text only (a run over the tree holds every file's):
            # encoded again, it gives the same bytes.
            return self._cache[("text", path, True)].encode("utf-8") if data is _HELD_AS_TEXT else data
        data = self._read_guarded(path)
        self._bytes[path] = data
        return data

    def _real_dir(self, folder: str) -> str:
        real = self._real_dirs.get(folder)
        if real is None:
            real = os.path.realpath(os.path.join(self.root, folder)) if folder else self._real_root
            self._real_dirs[folder] = real
        return real

    def _guarded_stat(self, path: str, *, note: bool = True, cap: bool = True) -> os.stat_result | None:
        """The file's lstat when it may be read: a regular file, inside the repository, under the cap (unless
        `cap` is false)."""
        full = os.path.join(self.root, path)
        try:
            st = os.lstat(full)
        except OSError:
            return None
        if stat.S_ISLNK(st.st_mode):
            if note:
                self._note(path, "symbolic link, not followed")
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        # The file is no link (lstat): only its folders can lead elsewhere.
        real_dir = self._real_dir(os.path.dirname(path))
        if real_dir != self._real_root and not real_dir.startswith(self._real_root.rstrip(os.sep) + os.sep):
            if note:
                self._note(path, "lies outside the repository through a link, not read")
            return None
        if cap and st.st_size > self.max_bytes:
            self._over_cap[path] = st.st_size
            if note:
                self._note(path, f"{st.st_size:,} bytes, over the {self.max_bytes:,}-byte cap, skipped")
            return None
        return st

    def _read_blob(self, path: str, entry: Entry) -> bytes | None:
        mode, oid = mode_of(entry), oid_of(entry)
        if mode == LINK_MODE:
            self._note(path, "symbolic link, not followed")
            return None
        if mode not in REGULAR_MODES:
            return None  # a submodule
        data = self._blob_reader().read(oid, self.max_bytes)
        if data is None:
            self.problem(path, "cannot be read: its blob is missing from this clone (a partial clone?); "
                               "fetch it, then run again")
            return None
        if len(data) > self.max_bytes:
            self._over_cap[path] = len(data)
            self._note(path, f"over the {self.max_bytes:,}-byte cap, skipped")
            return None
        return self._screened(path, data)

    def _screened(self, path: str, data: bytes) -> bytes | None:
        """`data` when it is text; None for binary content (remembered: a rule that must parse it says so)."""
        if is_binary(data):
            self._binary.add(path)
            return None
        return data

    def _gone(self, path: str) -> Entry | None:
        """The index entry of a tracked file gone from the work tree (deleted, not staged): git still holds
        what is tracked, so that is read instead."""
        if self.index is None or path not in self.index or os.path.lexists(os.path.join(self.root, path)):
            return None
        return self.index[path]

    def _read_guarded(self, path: str) -> bytes | None:
        entry = self._from_git(path)
        if entry is not None:
            return self._read_blob(path, entry)
        if self._guarded_stat(path) is None:
            gone = self._gone(path)
            return self._read_blob(path, gone) if gone is not None else None
        try:
            fd = os.open(os.path.join(self.root, path), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as fh:
                data = fh.read(self.max_bytes + 1)
        except OSError as exc:
            self._note(path, f"cannot be read ({exc.strerror})")
            return None
        return self._screened(path, data)

    def stream(self, path: str) -> Iterator[bytes] | None:
        """Every byte of the file, whatever its size or content (binary too), in chunks of bounded size; None
        when it is missing or may not be read (a link, outside the repository: noted as for `read_bytes`).
        For the secret detectors, which read every file whole; the size cap is for parsing. A file under
        the cap is read once and shared with `read_bytes`."""
        self._record(path)
        cached = self._bytes_of(path) if self._bytes.get(path) is not None else None
        if cached is not None:
            return iter((cached,))
        entry = self._from_git(path)
        if entry is not None:
            return self._blob_chunks(path, entry)
        st = self._guarded_stat(path, cap=False)
        if st is None:
            gone = self._gone(path)
            if gone is not None:
                return self._blob_chunks(path, gone)
            self._irregular(path)
            return None
        return self._chunks(path, st.st_size)

    def _irregular(self, path: str) -> None:
        """A note for a tracked path that is a FIFO, a socket or a device (never opened: it could block)."""
        try:
            mode = os.lstat(os.path.join(self.root, path)).st_mode
        except OSError:
            return
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            self._note(path, "not a regular file, not read")

    def _chunks(self, path: str, size: int) -> Iterator[bytes]:
        """The file's bytes: whole (and kept for `read_bytes`) under the cap, else in STREAM_CHUNK pieces."""
        try:
            fd = os.open(os.path.join(self.root, path), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    return
                if size <= self.max_bytes:
                    data = fh.read(self.max_bytes + 1)
                    if len(data) <= self.max_bytes:
                        self._keep(path, data)
                        yield data
                        return
                    yield data  # it grew since it was measured: the rest follows
                while chunk := fh.read(STREAM_CHUNK):
                    yield chunk
        except OSError as exc:
            self._note(path, f"cannot be read ({exc.strerror})")

    def _blob_chunks(self, path: str, entry: Entry) -> Iterator[bytes] | None:
        """`stream` of a file whose content is its blob (a commit hook, a sparse checkout)."""
        reader, oid = self._blob_reader(), oid_of(entry)
        data = reader.read(oid, self.max_bytes) if mode_of(entry) in REGULAR_MODES else None
        if data is None:
            self._read_blob(path, entry)  # says why: a link (a note), missing from the clone (a problem)
            return None
        if len(data) <= self.max_bytes:
            self._keep(path, data)
            return iter((data,))
        return reader.chunks(oid, STREAM_CHUNK)

    def _keep(self, path: str, data: bytes) -> None:
        """A whole file read by `stream`, kept for `read_bytes` as `_read_guarded` would have."""
        if path not in self._bytes:
            self._bytes[path] = self._screened(path, data)

    def read_text(self, path: str, *, strict: bool = True) -> str | None:
        """Decoded text; undecodable bytes are a CL000 problem when `strict`, replaced otherwise."""
        self._record(path)
        return self._text(path, strict)

    def _text(self, path: str, strict: bool = True) -> str | None:
        key = ("text", path, strict)
        if key in self._cache:
            return self._cache[key]
        data = self._bytes_of(path)
        text = None
        if data is not None:
            try:
                text = decode(data)
                # valid UTF-8 reads the same either way: one copy held for both (a run holds every file's text)
                self._cache[("text", path, not strict)] = text
                if self._bytes.get(path) is data and not data.startswith(_NOT_PLAIN):
                    self._bytes[path] = _HELD_AS_TEXT
            except UnicodeDecodeError as exc:
                if strict:
                    line = data.count(b"\n", 0, exc.start) + 1
                    self.problem(path, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8", line)
                else:
                    text = data.decode("utf-8", "replace")
        self._cache[key] = text
        return text

    def lines(self, path: str) -> list[str]:
        # Cached: the engine asks once per finding (fingerprint, inline suppression).
        key = ("lines", path)
        if key not in self._cache:
            text = self.read_text(path, strict=False)
            self._cache[key] = text.splitlines() if text is not None else []
        return self._cache[key]

    # -- parse once ----------------------------------------------------------------------

    def _parsed(self, kind: str, path: str, parse: Callable[[str], T],
                excuse: Callable[[str], bool] | None = None) -> T | None:
        """Parse once per run; a ParseError becomes a CL000 problem unless `excuse(text)` says it is expected."""
        key = (kind, path)
        if key not in self._cache:
            self._cache[key] = self._parse(path, parse, excuse)[0]
        return self._cache[key]

    def _parse(self, path: str, parse: Callable[[str], T],
               excuse: Callable[[str], bool] | None) -> tuple[T | None, tuple[str, int, int] | None, bool]:
        """(value, the problem reported, whether the text could be read at all)."""
        text = self._text(path)
        if text is None:
            if self.all_mode and path in self._over_cap:
                # CI must not pass what it did not read: a file a rule must parse and could not is CL000.
                self.problem(path, f"over the {self.max_bytes:,}-byte parse cap, not parsed; raise `max_file_size` "
                                   "in .cloudlab-lint.yaml or exclude the file")
            elif path in self._binary:
                self.problem(path, "binary content (a NUL byte near the start), not parsed")
            return None, None, False
        try:
            return parse(text), None, True
        except ParseError as exc:
            if excuse is not None and excuse(text):
                return None, None, True
            self.problem(path, exc.message, exc.line, exc.column)
            return None, (exc.message, exc.line, exc.column), True

    def yaml(self, path: str) -> list[Any] | None:
        """The documents of a YAML file, or None (unreadable, a Helm template, or a CL000 problem)."""
        self._record(path)
        return self._yaml(path, keep=True)

    def view(self, path: str, name: str) -> Any:
        """The named view (`views`) of the file's documents (or text), once per run: what a model reads of them
        when it never needs the rest. Recorded as such, so a result kept between runs survives edits outside it
        (`runner/kept.py` digests the view)."""
        from .views import BIT

        self._record(path, BIT[name])
        key = ("yaml-view", name, path)
        if key not in self._cache:
            self._cache[key] = self._view(name, path)[0]
        return self._cache[key]

    def view_digest(self, path: str, name: str) -> bytes | None:
        """A digest of the view `name` of `path` as this run reads it (equal exactly when the view is)."""
        key = ("view-digest", name, path)
        if key not in self._cache:
            view = ("yaml-view", name, path)
            if view not in self._cache:
                self._cache[view] = self._view(name, path)[0]
            if key not in self._cache:  # nothing kept it: taken now, when first asked
                from .views import digest_of

                self._cache[key] = digest_of(self._cache[view])
        return self._cache[key]

    def _view(self, name: str, path: str) -> tuple[Any, bytes | None]:
        """The view and its digest: kept (`store`) where the content is unchanged, else extracted and kept."""
        from .views import NEEDS, OF_TEXT, extractor

        needles = NEEDS.get(name)
        text = (self._text(path, strict=False) or "") if needles is not None or name in OF_TEXT else ""
        if needles is not None and not any(n in text for n in needles):
            value, digest = [], None  # the view is empty whatever the documents: not parsed for it
        elif name in OF_TEXT:
            value, digest = extractor(name)(text, path), None
        else:
            value, digest = self._kept(name, path, lambda: (
                extractor(name)(self._yaml(path, keep=False, hold=False), path), True))
        if digest is not None:  # else taken when asked (`view_digest`): a run that keeps nothing never takes it
            self._cache[("view-digest", name, path)] = digest
        return value, digest

    def _kept(self, name: str, path: str, make: Callable[[], tuple[Any, bool]],
              digest: bytes | None = None) -> tuple[Any, bytes | None]:
        """The value `name` of `path`: the one the fact store keeps for the file's content, else `make()`
        (the value, and whether it may be kept), kept with its digest (`digest`, else computed). Not kept, its
        digest is `digest` (None: the caller takes one if it needs it). A parse problem is kept with the value and
        said again whenever it is served."""
        store = self.store
        hit = store.get(name, path) if store is not None else None
        if hit is not None:
            _, value, problem, kept_digest = hit
            if problem is not None:
                self.problem(path, *problem)
            return value, kept_digest
        had_problem = path in self.problems  # said before this read: not this file's parse problem
        value, keepable = make()
        if store is None or not keepable or had_problem:
            return value, digest
        problem = self.problems.get(path)
        said = None if problem is None else (problem.message, problem.line, problem.column)
        return value, store.put(name, path, value, said, digest)

    def _yaml(self, path: str, *, keep: bool, hold: bool = True) -> list[Any] | None:
        """The whole documents (parsed once per run while held). `keep`: kept for later hook runs (a file a rule
        reads whole); `hold`: held for the rest of the run (not when only a view of them is wanted: a run over
        the whole tree then holds the views, not every parse tree)."""
        key = ("yaml", path)
        if key in self._cache:  # first: rules ask for the same file many times
            return self._cache[key]
        from .parsing.yamlx import load_documents, looks_templated
        from .stack.refs import is_chart_template
        from .views import WHOLE

        self._yaml_parsed.add(path)
        if is_chart_template(path, self.file_set):  # not YAML until Helm renders it
            return None
        load: Callable[[str], list[Any]] = load_documents
        if path.lower().endswith(".json"):  # JSON is YAML but for tabs, which JSON allows as whitespace
            from .parsing.yamlx import load_json_documents as load

        def parsed() -> tuple[Any, bool]:
            value, _, readable = self._parse(path, load, looks_templated)
            return value, readable

        if keep:  # no kept result compares the whole documents: no digest
            value, _ = self._kept(WHOLE, path, parsed, digest=b"\0" * 16)
        else:
            value, _ = parsed()
        if hold:
            self._cache[key] = value
        return value

    def parse_yaml(self, path: str) -> None:
        """Parse the file if nothing has in this run, so its problems are known (CL000); holds nothing of it."""
        if path not in self._yaml_parsed:
            self._yaml(path, keep=self.store is not None, hold=self.store is not None)

    def git_entry(self, path: str) -> Entry | None:
        """The index entry `path` is read from in this run, where git rather than the disk has its content."""
        return self._from_git(path)

    def stat_quietly(self, path: str) -> os.stat_result | None:
        """The stat of a work-tree file this run may read (None: unreadable, a link, over the cap), unnoted."""
        return self._guarded_stat(path, note=False)

    def toml(self, path: str) -> dict[str, Any] | None:
        from .parsing.structured import load_toml

        self._record(path)
        return self._parsed("toml", path, load_toml)

    def json(self, path: str) -> Any:
        from .parsing.structured import load_json

        self._record(path)
        return self._parsed("json", path, load_json)

    def hcl(self, path: str) -> Any:
        """A Terraform file's body (`parsing.hcl.Block`), or None (unreadable, or a CL000 problem)."""
        from .parsing.hcl import load_hcl, too_large

        self._record(path)
        if not self.all_mode and ("hcl", path) not in self._cache:
            # Over the parse's own caps: a note in a hook, CL000 in --all (as for the size cap).
            text = self._text(path)
            reason = too_large(text) if text is not None else None
            if reason is not None:
                self._note(path, reason[0])
                self._cache[("hcl", path)] = None
        return self._parsed("hcl", path, load_hcl)


def blob_stamps(entries: list[Entry]) -> array:
    """Four numbers per index entry of a regular file, made of its mode and blob id: content-addressed, so never
    "racy". Each number holds 7 bytes of them, below any clock reading in nanoseconds, so the racy test never
    discards it. All at once: a hook stamps every file a kept result read."""
    # "100644 <40 hex digits>": the mode's digits and the id read as hex, 23 bytes (a SHA-256 id, longer,
    # through a digest of the entry to as many).
    if all(len(e) == 47 for e in entries):
        raw = bytes.fromhex("".join(entries))  # the space between mode and id is skipped
    else:
        raw = bytes.fromhex("".join(e if len(e) == 47 else _digest_hex(e) for e in entries))
    n = len(entries)
    out = bytearray(32 * n)
    shift = 0 if sys.byteorder == "little" else 1  # the zero byte is the most significant one
    for field, (start, stop) in enumerate(((0, 7), (7, 14), (14, 21), (21, 23))):
        for k in range(start, stop):
            out[8 * field + k - start + shift::32] = raw[k::23]
    stamps = array("q")
    stamps.frombytes(bytes(out))
    return stamps


def _digest_hex(text: str) -> str:
    from hashlib import blake2b

    return blake2b(text.encode(), digest_size=23).hexdigest()


def locate_root(root: Path | None, cwd: Path) -> tuple[Path, bool]:
    """The git top level of `root` (or of the cwd); a plain folder only when given with --root."""
    base = (root if root.is_absolute() else cwd / root) if root else cwd
    if not base.is_dir():
        raise RepoError(f"{base}: not a directory")
    try:
        top, git_dir = toplevel_and_git_dir(base)
    except GitError as exc:  # e.g. "detected dubious ownership": never linted as a plain folder instead
        raise RepoError(f"{base}: git: {exc}") from None
    if top is not None:
        top = top.resolve()
        if git_dir is not None:
            from .files import know_cache_dir

            know_cache_dir(top, git_dir)  # spares the caches a `git rev-parse` of their own
        return top, True
    if root is None:
        raise RepoError(f"{cwd}: not inside a git work tree (use --root DIR to lint a plain folder)")
    return base.resolve(), False


def _relative(paths: list[str], cwd: Path, root: Path, outside: list[str] | None = None) -> list[str]:
    """`paths` relative to `root`; those outside it go to `outside`, never read."""
    out = []
    for p in paths:
        full = Path(os.path.normpath(cwd / p)) if not os.path.isabs(p) else Path(os.path.normpath(p))
        try:
            out.append(full.relative_to(root).as_posix())
        except ValueError:
            try:
                out.append(full.resolve().relative_to(root.resolve()).as_posix())
            except ValueError:
                if outside is not None:
                    outside.append(p)
    return out


def _expand_dirs(targets: list[str], files: list[str]) -> list[str]:
    tracked = set(files)
    out = []
    for t in targets:
        if t in tracked:
            out.append(t)
        elif t in ("", "."):
            out.extend(files)
        else:
            prefix = t.rstrip("/") + "/"
            out.extend(f for f in files if f.startswith(prefix))
    return out


def _walk(base: Path) -> Iterable[str]:
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        rel = Path(dirpath).relative_to(base)
        for name in filenames:
            yield (rel / name).as_posix()
