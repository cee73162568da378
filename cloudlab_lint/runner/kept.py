"""Tree rules' outcomes kept between commit-hook runs, each for as long as what that rule read is unchanged.

A hook on one staged manifest judges the whole Flux tree (and the pipeline, and Terraform) whenever the change
may matter to it. Even with every parse cached, loading 5,000 manifests and building the model costs about a
second, while most commits change nothing a tree rule reads (a ConfigMap's data, a Deployment's image, a
HelmRelease's values), and a hook often runs again on an unchanged tree (another hook failed, `--amend`).

So a hook run keeps, in `<git-dir>/cloudlab-lint/tree-result`, every tree rule's hits with what it read:

- every file it read, and a digest of what it read of it: the whole file, or the named views it read
  (`views.VIEWS_READ`: a manifest's Flux facts, lines included, kept with the facts in `store` so an unchanged
  file is never extracted again; the folder a workflow pushes as an OCI artifact). A file read in two ways (a
  workflow: whole by the pipeline rules, a view by the Flux rules) has a row for each;
- keyed by the list of tracked files, the configuration, the rule with its parameters, and this tool's code.

A later hook run serves a rule's hits when none of the files it read changed, and tells the gate what it read
(`Gate.reaches`). A file whose stamp (size, times, inode; a staged file's blob id) is unchanged is not read
again; a changed one is read and its digest compared. `--all` and `--no-cache` never use it. The file format
and its checks are in `keptformat`.
"""

from __future__ import annotations

import operator
import os
import re
import time
from array import array
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

try:  # BLAKE2 without hashlib, whose import loads OpenSSL (~4 ms of a hook run)
    from _blake2 import blake2b
except ImportError:  # an interpreter built without it
    from hashlib import blake2b

from ..files import REGULAR_MODES, cache_dir
from ..repo import Repo, blob_stamps
from ..views import NEEDS, OF_TEXT, views_in
from .keptformat import MISSING, NAME, NONE, Reads, identity, load, write
from .settings import Settings

if TYPE_CHECKING:
    from ..config import Config
    from ..model import Hit, Rule

# What a rule computed: its key, hits, what it read (path -> the bits of the views it read, 0: whole), its notes.
Entry = tuple[str, list["Hit"], dict[str, int], list[tuple[str, str | None]]]
# The same as stored: what it read as the indices of rows of `Reads`.
Stored = tuple[str, list["Hit"], array, list[tuple[str, str | None]]]
_NONZERO = re.compile(rb"[^\x00]")
_STAMP = operator.attrgetter("st_size", "st_mtime_ns", "st_ctime_ns", "st_ino")


class KeptResults:
    """One hook run's use of the kept tree results: `served(rule)` before running a rule, `keep(...)` after,
    `finish()` at the end."""

    def __init__(self, repo: Repo, config: Config, settings: Settings, path: Path) -> None:
        self.repo, self.settings, self.path = repo, settings, path
        self.key = _key(repo, config)
        self.started_ns = time.time_ns()
        self.prefix = os.path.join(repo.root, "")
        self.loaded = False
        self.reads: Reads | None = None  # the stored reads (their stamps refreshed where the content held)
        # rule id -> (rule key, hits, read indices, notes said with the file each is about)
        self.entries: dict[str, tuple[str, list[Hit], array, list[tuple[str, str | None]]]] = {}
        self.changed: set[int] = set()  # indices of stored reads whose content changed
        self.read_sets: dict[bytes, set[str]] = {}  # the paths of a rule's read indices, by those indices
        self.problems: list[tuple[str, str, int, int]] = []
        self.refreshed = 0
        self.new: dict[str, Entry] = {}  # computed this run
        self.savable = True

    def _load(self) -> None:
        self.loaded = True
        stored = load(self.path)
        if stored is None or stored["key"] != self.key:
            return
        reads = Reads.of(stored["reads"])
        if reads is None:
            return
        # The hot path of a hook run on a big tree: one lstat per file, all compared at once. A stored MISSING
        # stamp vouches for nothing (a file changed moments before it was kept, or gone from the work tree and
        # read from the index): equal to MISSING now, its digest still decides.
        now = self._stamps(reads.paths, racy=False)
        if now != reads.stamps or NONE in reads.stamps[0::4]:
            for i, path in enumerate(reads.paths):
                if now[4 * i:4 * i + 4] == reads.stamps[4 * i:4 * i + 4] and reads.stamps[4 * i] != NONE:
                    continue
                stamp = self._stamps([path])  # before the digest, as in save()
                if _digest(self.repo, path, reads.viewed[i]) != reads.digests[16 * i:16 * i + 16]:
                    self.changed.add(i)
                    continue
                reads.stamps[4 * i:4 * i + 4] = stamp
                self.refreshed += 1
        self.reads = reads
        self.entries = stored["rules"]
        self.problems = stored["problems"]

    def served(self, rule: Rule) -> tuple[list[Hit], set[str], bool] | None:
        """The rule's kept hits, the files it read, and whether none of them changed; None: nothing kept."""
        if not self.loaded:
            self._load()
        entry = self.entries.get(rule.id)
        if entry is None or self.reads is None or entry[0] != _rule_key(rule):
            return None
        indices = entry[2]
        # The Flux rules read the same files: their sets are made once.
        shared = indices.tobytes()
        read = self.read_sets.get(shared)
        if read is None:
            paths = self.reads.paths
            read = self.read_sets[shared] = {paths[i] for i in indices}
        if not self.changed.isdisjoint(indices):
            return [], read, False
        return list(entry[1]), read, True

    def say_again(self, rule: Rule, read: set[str]) -> None:
        """Say again what a served rule said when it ran: the parse problems of what it read, and its notes.
        Only with its hits reported: a rule whose outcome this run drops says nothing, as when it runs."""
        for problem in self.problems:
            if problem[0] in read:
                self.repo.problem(*problem)
        self.repo.diagnostics.again(self.entries[rule.id][3])

    def keep(self, rule: Rule, hits: list[Hit], reads: dict[str, int], notes: list[tuple[str, str | None]],
             clean: bool) -> None:
        """Keep what `rule` computed this run (`clean`: no error, no edit), with what it read and noted."""
        if not clean:
            self.savable = False
            return
        self.new[rule.id] = (_rule_key(rule), list(hits), reads, notes)

    def finish(self) -> None:
        """Keep what this run computed beside what it served, or the refreshed stamps of what held."""
        if not self.savable or not self.new and (self.refreshed < self.settings.save_after or self.reads is None):
            return
        # Only results that still hold: a rule whose reads changed and that did not run this time (nothing it
        # judges was staged) is dropped, never kept with the new content's digests.
        served = {rid: entry for rid, entry in self.entries.items()
                  if rid not in self.new and self.changed.isdisjoint(entry[2])}
        self._save(served, self.new)

    def _save(self, served: dict[str, Stored], new: dict[str, Entry]) -> None:
        """Write the rules' results: `served`, kept from the stored result (their row indices hold), and `new`.
        The stored rows keep their places, new ways of reading a file are added after them, so a run that
        re-ran a few rules does not rebuild every rule's row list; rows no rule reads any more are dropped."""
        old = self.reads
        paths = list(old.paths) if old is not None else []
        viewed = bytearray(old.viewed) if old is not None else bytearray()
        index_of: dict[tuple[str, int], int] | None = None
        stored: dict[str, Stored] = dict(served)
        for rid, (key, hits, reads, notes) in new.items():
            if index_of is None:
                index_of = {row: i for i, row in enumerate(zip(paths, viewed, strict=True))}
            indices = []
            for row in reads.items():
                i = index_of.get(row)
                if i is None:
                    i = index_of[row] = len(paths)
                    paths.append(row[0])
                    viewed.append(row[1])
                indices.append(i)
            stored[rid] = (key, hits, array("I", sorted(indices)), notes)
        used: set[int] = set()
        for indices in {e[2].tobytes(): e[2] for e in stored.values()}.values():  # the Flux rules share theirs
            used.update(indices)
        if len(used) < len(paths):  # rows no rule reads any more: renumbered without them
            keep = sorted(used)
            renumber = {i: n for n, i in enumerate(keep)}
            stored = {rid: (key, hits, array("I", [renumber[i] for i in indices]), notes)
                      for rid, (key, hits, indices, notes) in stored.items()}
            paths, viewed = [paths[i] for i in keep], bytearray(viewed[i] for i in keep)
            was = keep
        else:
            was = range(len(paths))
        stamps = self._stamps(paths)  # before the digests: a write in between is seen next time
        known = len(old.paths) if old is not None else 0
        if old is not None and isinstance(was, range):  # the stored rows in their places: redo the few that moved
            digests = bytearray(old.digests)
            for i in _moved(old.stamps, stamps[:4 * known]) | self.changed:
                digest = _digest(self.repo, paths[i], viewed[i])
                if digest is None:
                    return
                digests[16 * i:16 * i + 16] = digest
            start = known
        else:
            digests, start = bytearray(), 0
        for n in range(start, len(was)):
            i = was[n]
            stamp = stamps[4 * n:4 * n + 4]
            if i < known and stamp[0] != NONE and i not in self.changed and old.stamps[4 * i:4 * i + 4] == stamp:
                digests += old.digests[16 * i:16 * i + 16]
                continue
            digest = _digest(self.repo, paths[n], viewed[n])
            if digest is None:
                return
            digests += digest
        reads = Reads(paths, bytes(viewed), stamps, bytes(digests))
        # The parse problems of what was read, whichever rule read it first: a later run must report them again.
        # Those kept from earlier runs only for files whose content held: a changed file's are this run's own.
        # Only where what was read shows the problem: a view left empty unparsed says nothing of the file's YAML.
        by_how: dict[int, bool | None] = {}
        shown = set()
        for path, how in zip(paths, viewed, strict=True):
            if how not in by_how:
                by_how[how] = _always_shows_parse(how)
            always = by_how[how]
            if always or always is None and _shows_parse(self.repo, path, how):
                shown.add(path)
        changed_paths = {old.paths[i] for i in self.changed} if old is not None else set()
        problems = dict.fromkeys((p.path, p.message, p.line, p.column) for p in
                                 (self.repo.problems.get(path) for path in shown) if p is not None)
        problems.update(dict.fromkeys(p for p in self.problems if p[0] in shown and p[0] not in changed_paths))
        write(self.path, {"key": self.key, "reads": reads.state(), "problems": list(problems), "rules": stored})

    def _stamps(self, paths: list[str], *, racy: bool = True) -> array:
        """Four numbers per file (size, mtime, ctime, inode); MISSING when it is gone, or (`racy`) changed
        too recently for its stamp to vouch for its content (git's racy case). A hook reading the index
        stamps each file by its staged blob's id instead."""
        if self.repo.staged:
            index = self.repo.index or {}
            entries = [index.get(path) for path in paths]
            regular = [e if e is not None and e[:6] in REGULAR_MODES else None for e in entries]
            present = [e for e in regular if e is not None]
            if len(present) == len(paths):
                return blob_stamps(present)
            stamps, out, k = blob_stamps(present), array("q"), 0
            for entry in regular:
                if entry is None:
                    out.extend(MISSING)
                else:
                    out.extend(stamps[4 * k:4 * k + 4])
                    k += 1
            return out
        try:
            out = array("q", chain.from_iterable(map(_STAMP, map(os.lstat, map(self.prefix.__add__, paths)))))
        except (OSError, ValueError):  # a file gone, or a name no file can have: one by one
            out = array("q")
            for path in paths:
                try:
                    out.extend(_STAMP(os.lstat(self.prefix + path)))
                except (OSError, ValueError):
                    out.extend(MISSING)
        if racy:
            limit = self.started_ns - self.settings.racy_ns
            for i in range(0, len(out), 4):
                if out[i + 1] >= limit or out[i + 2] >= limit:
                    out[i:i + 4] = array("q", MISSING)
        return out


def open_kept(repo: Repo, config: Config, settings: Settings) -> KeptResults | None:
    """The kept tree results of this hook run, or None where nothing may be kept."""
    if repo.all_mode or not settings.keep:
        return None
    folder = cache_dir(repo.root)
    return KeptResults(repo, config, settings, folder / NAME) if folder is not None else None


def _rule_key(rule: Rule) -> str:
    return repr(rule)


def _key(repo: Repo, config: Config) -> bytes:
    """What every kept result depends on besides the files read: the configuration, the tracked files, this code."""
    h = blake2b(digest_size=16)
    for part in (identity(), repr(config), repo.max_bytes, repo.exclude, repo.is_git):
        h.update(repr(part).encode("utf-8", "surrogateescape") + b"\0")
    h.update("\0".join(repo.files).encode("utf-8", "surrogateescape"))
    return h.digest()


def _moved(before: array, now: array) -> set[int]:
    """The rows whose stamps differ between two equally long stamp arrays, or that have none: compared as two
    big numbers, their difference's non-zero bytes found by one search."""
    size = 4 * before.itemsize
    diff = (int.from_bytes(before.tobytes(), "little") ^ int.from_bytes(now.tobytes(), "little"))
    moved = {m.start() // size for m in _NONZERO.finditer(diff.to_bytes(len(before) * before.itemsize, "little"))}
    return moved | {i for i, first in enumerate(now[0::4]) if first == NONE}


def _always_shows_parse(how: int) -> bool | None:
    """Whether what a rule read of a file depends on whether the file parses: the whole file, a view made from
    its documents (True), but not a view of its text (`views.OF_TEXT`, False); None for views `views.NEEDS` may
    leave empty without parsing: that depends on the file (`_shows_parse`)."""
    if not how:
        return True
    names = [name for name in views_in(how) if name not in OF_TEXT]
    if any(name not in NEEDS for name in names):
        return True
    return None if names else False


def _shows_parse(repo: Repo, path: str, how: int) -> bool:
    """`_always_shows_parse`, for this file: a view `views.NEEDS` left empty unparsed (its text lacks what it
    looks for) shows nothing."""
    always = _always_shows_parse(how)
    if always is not None:
        return always
    return any(repo.view(path, name) is None for name in views_in(how) if name not in OF_TEXT)  # parsed, failed


def _digest(repo: Repo, path: str, how: int) -> bytes | None:
    """What a rule read of `path`: the digest of the views it read (`how`, their bits; each kept with its view,
    by content), or of its bytes (0). None: cannot say."""
    if how:
        digests = [repo.view_digest(path, name) for name in views_in(how)]
        if None in digests:
            return None
        if len(digests) == 1:
            return digests[0]
        return blake2b(b"".join(digests), digest_size=16).digest()  # type: ignore[arg-type]
    data = repo.read_bytes(path)
    return blake2b(b"-" if data is None else b"b" + data, digest_size=16).digest()
