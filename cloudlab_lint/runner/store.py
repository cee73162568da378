"""What a commit hook keeps of each file between runs, keyed by the file's content: its named facts.

A hook on one staged manifest still judges the whole Flux tree whenever the change may matter to it, and
reading 5,000 manifests is most of such a run. Between two commits almost none of them change, so the hook
keeps, per file, what the models asked of it (`<git-dir>/cloudlab-lint/facts`, never in the work tree):

- a named fact (`views.MANIFEST`: the Flux model's manifest facts), the one a model reads of most files,
  with a digest of it (a kept tree result compares digests, so an edit outside the facts keeps it);
- in a table of their own (`facts-whole`), the whole documents of a file a rule read whole (a workflow, a
  kustomization file), for the next run: a hook that re-judges the pipeline loads the workflows' documents, not
  the facts of every manifest.

Each entry is keyed by the bytes it was made from: the staged blob's id where the index is judged (free from
`git ls-files -s`), a digest of the work-tree file's bytes otherwise. Finding a work-tree file's digest
without reading it takes its stat (size, times, inode, as git's index does), remembered with the digest;
a file changed moments before it was read is not remembered (git's racy case), so it is read next time.

The views of a few big files that are small beside them (`views.APART`: the schemas of a gotk-components.yaml's
CRDs) are kept apart, in `facts-apart`: a hook staging one Flux object gets them without loading the facts of
every manifest.

One format: a pickle whose only classes are the YAML reader's values and the facts' markers
(`_ALLOWED`), its shape checked on load. A missing, truncated, foreign or hostile file is ignored and
replaced whole and atomically by the next save (a FIFO, link or oversized file is never opened as one, see
`keptfile`). `--all` and `--no-cache` never read or write it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Protocol

from ..files import cache_dir, stamp_of
from ..views import APART, WHOLE, digest_of
from .settings import Settings

try:  # BLAKE2 without hashlib, whose import loads OpenSSL
    from _blake2 import blake2b
except ImportError:  # an interpreter built without it
    from hashlib import blake2b



class Source(Protocol):
    """What the store asks of the repository it keys (`Repo`): where it is and how it reads a file."""

    root: Path
    all_mode: bool

    def git_entry(self, path: str) -> str | None: ...
    def stat_quietly(self, path: str) -> os.stat_result | None: ...
    def unrecorded_bytes(self, path: str) -> bytes | None: ...

FORMAT = 1
NAME = "facts"
JOURNAL = "facts-new"  # entries made since the store was last written whole
APART_FILE = "facts-apart"  # the views `views.APART` names: a few big files' small facts, read on their own
WHOLE_FILE = "facts-whole"  # the whole documents of the files rules read whole
WHOLE_JOURNAL = "facts-whole-new"
MAX_BYTES = 1 << 30  # a bigger file is not ours: ignored, and replaced by the next save
Problem = tuple[str, int, int]
# (content key, value, parse problem or None, digest of the value)
Entry = tuple[str, Any, "Problem | None", bytes]

_ALLOWED = frozenset({("cloudlab_lint.parsing.yamlx", name) for name in ("YMap", "YSeq", "Document")} | {
    ("cloudlab_lint.stack.gitops.facts", name) for name in ("OmittedSeq", "_omitted_map")} | {
    ("cloudlab_lint.stack.sops.model", name) for name in ("SopsConfig", "CreationRule")})


def identity() -> tuple[Any, ...]:
    """What every kept value depends on besides the file: the parser and the facts' extraction code."""
    from .codeid import code_identity

    return FORMAT, code_identity()


def _well_formed(table: Any) -> bool:
    """Only what `save` writes reaches a run: the entries' shape (their values are built of `_ALLOWED` only)."""
    if not (isinstance(table, tuple) and len(table) == 2 and isinstance(table[0], dict)
            and isinstance(table[1], dict)):
        return False
    stamps, entries = table
    try:
        for path, (stamp, key) in stamps.items():
            if not (isinstance(path, str) and isinstance(key, str) and isinstance(stamp, tuple)
                    and len(stamp) == 4 and all(type(n) is int for n in stamp)):
                return False
        for (name, path), (key, value, problem, digest) in entries.items():
            if not (isinstance(name, str) and isinstance(path, str) and isinstance(key, str)
                    and isinstance(digest, bytes) and len(digest) == 16 and isinstance(value, (list, type(None)))
                    and (problem is None or (isinstance(problem, tuple) and len(problem) == 3
                                             and isinstance(problem[0], str) and type(problem[1]) is int
                                             and type(problem[2]) is int))):
                return False
    except (TypeError, ValueError):
        return False
    return True


class _Table:
    """One file of entries (with the stamps that found their keys) and its journal, opened lazily: once a run
    has missed `settings.open_after` of its entries, as loading it costs as much as parsing a few dozen files."""

    def __init__(self, name: str, journal: str) -> None:
        self.name, self.journal_name = name, journal
        self.path: Path | None = None
        self.stamps: dict[str, tuple[tuple[int, int, int, int], str]] | None = None
        self.entries: dict[tuple[str, str], Entry] | None = None
        self.journal: tuple[dict[str, Any], dict[tuple[str, str], Entry]] = ({}, {})
        self.whole = False  # whether the table's file itself was read (else the next save writes it)
        self.fresh: dict[tuple[str, str], Entry] = {}
        self.misses = 0

    def open(self, root: Path) -> None:
        folder = cache_dir(root)
        self.path = folder / self.name if folder is not None else None
        self.stamps, self.entries = {}, {}
        if self.path is None:
            return
        base = _read(self.path)
        if base is None:
            return
        self.whole = True
        self.stamps, self.entries = base
        journal = _read(self.path.with_name(self.journal_name))
        if journal is not None:
            self.journal = journal
            self.stamps.update(journal[0])
            self.entries.update(journal[1])

    def save(self, files: frozenset[str], fresh_stamps: dict[str, Any], settings: Settings) -> None:
        """A few new entries go to the journal, a small file read beside the table, so a hook that changed one
        file does not rewrite every entry; once the journal grows, everything is written as one new table
        (dropping files no longer tracked)."""
        if self.entries is None or self.path is None:
            return
        entries = self.entries
        fresh = {k: e for k, e in self.fresh.items() if (old := entries.get(k)) is None or old[0] != e[0]}
        stamps = self.stamps or {}
        new_stamps = {p: s for p, s in fresh_stamps.items() if stamps.get(p) != s}
        if not fresh and not new_stamps:
            return
        journal_stamps, journal_entries = self.journal
        journal_stamps = {**journal_stamps, **new_stamps}
        journal_entries = {**journal_entries, **fresh}
        size = len(journal_entries)  # stamps are small: the entries are what costs to write
        if self.whole and size <= max(settings.journal_min, len(entries) // settings.journal_share):
            _write(self.path.with_name(self.journal_name), journal_stamps, journal_entries)
            return
        kept = {k: e for k, e in entries.items() if k[1] in files}
        kept.update(fresh)
        kept_stamps = {p: s for p, s in stamps.items() if p in files}
        kept_stamps.update(new_stamps)
        if _write(self.path, kept_stamps, kept):
            _write(self.path.with_name(self.journal_name), {}, {})  # its entries are in the table now


class FactStore:
    """Three tables, each loaded only when a run needs it: the views (`facts`: the Flux model's facts of every
    manifest), the whole documents of the files rules read whole (`facts-whole`: workflows, kustomization
    files), and the views of a few big files (`facts-apart`). A hook on a workflow reads the workflows whole and
    never loads the facts of every manifest; a run that reads a handful of files (a hook on a README) reads
    neither table."""

    def __init__(self, repo: Source, settings: Settings | None = None) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.started_ns = time.time_ns()
        self._views = _Table(NAME, JOURNAL)
        self._wholes = _Table(WHOLE_FILE, WHOLE_JOURNAL)
        self._apart: dict[tuple[str, str], Entry] | None = None
        self.fresh_apart: dict[tuple[str, str], Entry] = {}
        self.fresh_stamps: dict[str, tuple[tuple[int, int, int, int], str]] = {}
        self._keys: dict[str, str | None] = {}

    def _table(self, name: str) -> _Table:
        return self._wholes if name == WHOLE else self._views

    # -- content keys ---------------------------------------------------------------------------

    def key(self, path: str) -> str | None:
        """What names the content of `path` as this run reads it; None: unreadable."""
        if path not in self._keys:
            self._keys[path] = self._key(path)
        return self._keys[path]

    def _key(self, path: str) -> str | None:
        repo = self.repo
        entry = repo.git_entry(path)
        if entry is not None:  # read from git: the blob id names it
            return "g" + entry[7:] if entry[:6] in ("100644", "100755") else None
        st = repo.stat_quietly(path)
        if st is None:
            return None
        stamp = stamp_of(st)
        for table in (self._views, self._wholes):
            known = table.stamps.get(path) if table.stamps is not None else None
            if known is not None and known[0] == stamp:
                return known[1]
        data = repo.unrecorded_bytes(path)
        if data is None:
            return None
        key = "c" + blake2b(data, digest_size=16).hexdigest()
        limit = self.started_ns - self.settings.racy_ns
        if stamp[1] < limit and stamp[2] < limit:  # not changed moments ago: the stamp vouches for the bytes
            self.fresh_stamps[path] = (stamp, key)
        return key

    # -- entries --------------------------------------------------------------------------------

    def get(self, name: str, path: str) -> Entry | None:
        """The kept entry of `name` for `path` as it is now, or None."""
        if name in APART:
            entry = self._apart_table().get((name, path))
            return entry if entry is not None and entry[0] == self.key(path) else None
        table = self._table(name)
        if table.entries is None:
            if table.misses < self.settings.open_after:
                table.misses += 1
                return None
            table.open(self.repo.root)
        assert table.entries is not None
        entry = table.entries.get((name, path))
        if entry is None or entry[0] != self.key(path):
            return None
        return entry

    def put(self, name: str, path: str, value: Any, problem: Problem | None,
            digest: bytes | None = None) -> bytes | None:
        """Keep `value` (with the problem its parse reported) for `path`'s current content; its digest."""
        key = self.key(path)
        if digest is None:
            digest = digest_of(value)
        if key is not None and digest is not None:
            # (a view's documents, kept by the thousand, share their position pairs and short strings, as
            # `yamlx` builds them: each is pickled once)
            fresh = self.fresh_apart if name in APART else self._table(name).fresh
            fresh[(name, path)] = (key, value, problem, digest)
        return digest

    def _apart_table(self) -> dict[tuple[str, str], Entry]:
        if self._apart is None:
            folder = cache_dir(self.repo.root)
            table = _read(folder / APART_FILE) if folder is not None else None
            self._apart = table[1] if table is not None else {}
        return self._apart

    def save(self, files: frozenset[str]) -> None:
        """Keep what this run made in each table it opened; the views kept apart are written whole, when one
        changed."""
        if self.fresh_apart:
            self._save_apart(files)
        for table in (self._views, self._wholes):
            table.save(files, self.fresh_stamps, self.settings)

    def _save_apart(self, files: frozenset[str]) -> None:
        kept = self._apart_table()
        if all(kept.get(k, ("",))[0] == e[0] for k, e in self.fresh_apart.items()):
            return
        folder = cache_dir(self.repo.root)
        if folder is not None:
            _write(folder / APART_FILE, {}, {**{k: e for k, e in kept.items() if k[1] in files}, **self.fresh_apart})


def _read(path: Path) -> tuple[dict[str, Any], dict[tuple[str, str], Entry]] | None:
    """A store or journal file's table; None when there is none that this code wrote."""
    from .keptfile import load_pickled

    return load_pickled(path, MAX_BYTES, _ALLOWED, identity(), _well_formed)


def _write(path: Path, stamps: dict[str, Any], entries: dict[tuple[str, str], Entry]) -> bool:
    from .keptfile import dump_pickled

    return dump_pickled(path, identity(), (stamps, entries))


def open_store(repo: Source, settings: Settings) -> FactStore | None:
    """The fact store of this hook run, or None where nothing may be kept."""
    if not settings.keep or repo.all_mode or cache_dir(repo.root) is None:
        return None
    return FactStore(repo, settings)

