"""The whole-tree rules' outcomes kept between commit-hook runs, for as long as what they read is unchanged.

A hook on one staged manifest judges the whole Flux tree. Even with every parse cached, loading
5,000 manifests and building the model costs about a second, while most commits change nothing the
Flux rules read (a ConfigMap's data, a Deployment's image, a HelmRelease's values), and a hook often
runs again on an unchanged tree (another hook failed, `--amend`).

So a hook run keeps the outcomes of the rules whose checks are registered `whole_tree` in
`<git-dir>/cloudlab-lint/tree-result`, with everything they depended on:

- every file they read, and a digest of what they read of it: the whole file, or, for a manifest
  read only through the Flux model's manifest facts (`stack/gitops/facts.py`), those facts, lines included;
- the list of tracked files, the configuration, the rules with their parameters, and this tool's code.

A later hook run takes the outcomes only when all of that is unchanged. A file whose stamp (size,
times, inode, as in `parsecache`) is unchanged is not read again; a changed one is read and its
digest compared. Editing a ConfigMap's data keeps the result; editing a Kustomization does not.
`--all` and `--no-cache` never use it. The file format and its checks are in `treememo_file`.

The same machinery (`Kept`) keeps smaller results: `kept_paths` holds each pipeline rule's set of
involved files (`checks/pipeline.py`). What a computation read is recorded by the `Repo` (a value
it got from the run's cache counts with everything that value read).
"""

from __future__ import annotations

import functools
import io
import operator
import os
import pickle
import time
from array import array
from collections.abc import Callable
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

try:  # BLAKE2 without hashlib, whose import loads OpenSSL (~4 ms of a hook run)
    from _blake2 import blake2b
except ImportError:  # an interpreter built without it
    from hashlib import blake2b

from ..config import Config
from ..files import REGULAR_MODES
from ..model import Rule
from ..repo import Repo, blob_stamp
from . import parsecache
from .keptformat import MISSING, NAME, NONE, Reads, load, write

_STAMP = operator.attrgetter("st_size", "st_mtime_ns", "st_ctime_ns", "st_ino")
T = TypeVar("T")
SAVE_AFTER = 16  # changed stamps with unchanged digests before the refreshed stamps are worth a write


class Kept:
    """What one run knows of a result kept in `path`: whether it is still valid (`stored`), and how to keep
    a new one (`record` the computation, then `save`)."""

    def __init__(self, repo: Repo, key: bytes, path: Path) -> None:
        self.repo = repo
        self.key = key
        self.path = path
        self.started_ns = time.time_ns()
        self.prefix = os.path.join(repo.root, "")
        self.earlier: Reads | None = None  # the stored reads, valid or not: digests of unchanged files hold
        self.refreshed = 0
        self.reads: dict[str, bool] = {}  # what the recorded computations read: path -> through the view only
        self.problems: list[tuple[str, str, int, int]] = []

    def stored(self) -> dict[str, Any] | None:
        """The kept result when nothing it read has changed (its parse problems said again), else None.

        Notes (a link not followed) are not kept: a commit hook reports them only for the files it was
        given, and reads those itself."""
        stored = load(self.path)
        if stored is None:
            return None
        reads = self.earlier = Reads.of(stored["reads"])
        if reads is None or stored["key"] != self.key:
            return None
        # The hot path of a hook run on a big tree: one lstat per file, all compared at once.
        now = self._stamps(reads.paths, racy=False)
        if now != reads.stamps:
            for i, path in enumerate(reads.paths):
                if now[4 * i:4 * i + 4] == reads.stamps[4 * i:4 * i + 4]:
                    continue
                stamp = self._stamps([path])  # before the digest, as in save()
                if _digest(self.repo, path, bool(reads.viewed[i])) != reads.digests[16 * i:16 * i + 16]:
                    return None
                reads.stamps[4 * i:4 * i + 4] = stamp
                self.refreshed += 1
            stored["reads"] = reads.state()
        for problem in stored["problems"]:
            self.repo.problem(*problem)
        return stored

    def keep_refreshed(self, stored: dict[str, Any]) -> None:
        if self.refreshed >= SAVE_AFTER:
            write(self.path, stored)

    def record(self, compute: Callable[[], T]) -> T:
        """`compute()`, with what it reads recorded, and the parse problems it gives."""
        repo = self.repo
        before_problems = set(repo.problems)
        try:
            with repo.recording(self.reads):
                return compute()
        finally:
            self.problems.extend((p.path, p.message, p.line, p.column) for k, p in repo.problems.items()
                                 if k not in before_problems)

    def save(self, result: dict[str, Any]) -> None:
        """Keep `result` with a digest of everything the recorded computations read."""
        paths = list(self.reads)
        stamps = self._stamps(paths)  # before the digests: a write in between is seen next time
        earlier = self.earlier.by_path() if self.earlier is not None else {}
        digests = []
        for i, path in enumerate(paths):
            viewed, stamp = self.reads[path], stamps[4 * i:4 * i + 4]
            known = earlier.get(path)
            if stamp[0] != NONE and known is not None and known[0] == viewed and known[1] == stamp:
                digests.append(known[2])
                continue
            digest = _digest(self.repo, path, viewed)
            if digest is None:
                return
            digests.append(digest)
        reads = Reads(paths, bytes(self.reads[p] for p in paths), stamps, b"".join(digests))
        # The parse problems of what was read, whichever check read it first (a file a commit hook stages is
        # parsed before the Flux rules run): a later run must report them again.
        repo = self.repo
        problems = [*self.problems, *((p.path, p.message, p.line, p.column) for p in
                                      (repo.problems.get(path) for path in paths) if p is not None)]
        write(self.path, {**result, "key": self.key, "reads": reads.state(), "problems": list(dict.fromkeys(problems))})

    def _stamps(self, paths: list[str], *, racy: bool = True) -> array:
        """Four numbers per file (size, mtime, ctime, inode); MISSING when it is gone, or (`racy`) changed
        too recently for its stamp to vouch for its content (git's racy case). A hook reading the index
        stamps each file by its staged blob's id instead."""
        if self.repo.staged:
            index, out = self.repo.index or {}, array("q")
            for path in paths:
                entry = index.get(path)
                out.extend(MISSING if entry is None or entry[:6] not in REGULAR_MODES else blob_stamp(entry))
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
            limit = self.started_ns - parsecache.RACY_NS
            for i in range(0, len(out), 4):
                if out[i + 1] >= limit or out[i + 2] >= limit:
                    out[i:i + 4] = array("q", MISSING)
        return out


class TreeMemo(Kept):
    """One run's use of the kept Flux result: `outcome()` per whole-tree rule, then `finish()`."""

    def __init__(self, repo: Repo, key: bytes, path: Path, rule_ids: frozenset[str]) -> None:
        super().__init__(repo, key, path)
        self.rule_ids = rule_ids
        self.kept: dict[str, Any] | None = None  # the stored result, once judged still valid
        self.judged = False
        self.outcomes: dict[str, list[Any]] = {}
        self.savable = True

    def outcome(self, rule: Rule, compute: Callable[[], Any]) -> Any:
        """The rule's Outcome: kept from an earlier run when still valid, else computed (and recorded)."""
        from ..engine import Outcome

        if not self.judged:
            self.judged = True
            kept = self.stored()
            self.kept = kept if kept is not None and set(kept.get("outcomes") or ()) == self.rule_ids else None
        if self.kept is not None:
            return Outcome(list(self.kept["outcomes"][rule.id]))
        outcome = self.record(compute)
        if outcome.error is not None or outcome.fixes:
            self.savable = False
        self.outcomes[rule.id] = list(outcome.hits)
        return outcome

    def finish(self) -> None:
        """Keep what this run computed, or the refreshed stamps of what it found unchanged."""
        if self.kept is not None:
            self.keep_refreshed(self.kept)
        elif self.savable and self.outcomes:
            self.save({"outcomes": self.outcomes})


def _kept_file(repo: Repo, name: str) -> Path | None:
    """`<git-dir>/cloudlab-lint/<name>`, where a commit hook may keep a result; None in any other run."""
    if repo.all_mode or repo.parse_cache is None:
        return None
    folder = parsecache.cache_dir(repo.root)
    return folder / name if folder is not None else None


def kept_paths(repo: Repo, name: str, key: Any, compute: Callable[[], set[str]]) -> set[str] | None:
    """A set of paths computed from the tree, kept in `<git-dir>/cloudlab-lint/<name>` by a commit hook while
    what `compute` read is unchanged (`key`: what else it depends on); None where nothing may be kept."""
    path = _kept_file(repo, name)
    if path is None:
        return None
    kept = Kept(repo, _key(repo, key), path)
    stored = kept.stored()
    if stored is not None and isinstance(stored.get("paths"), list):
        kept.keep_refreshed(stored)
        return set(stored["paths"])
    paths = kept.record(compute)
    kept.save({"paths": sorted(paths)})
    return paths


def open_memo(repo: Repo, config: Config, rules: list[Rule], fix: bool) -> TreeMemo | None:
    """The kept result for `rules` in this hook run, or None where none may be used."""
    from ..checks.flux_common import touches_tree

    path = _kept_file(repo, NAME)
    if path is None or fix or not rules or not touches_tree(repo, config):
        return None
    return TreeMemo(repo, _key(repo, (config, rules)), path, frozenset(r.id for r in rules))


def _key(repo: Repo, depends: Any) -> bytes:
    """What a kept result depends on besides the files read: `depends` (configuration, rules), the tracked
    files, this code."""
    h = blake2b(digest_size=16)
    for part in (identity(), repr(depends), repo.max_bytes, repo.exclude, repo.is_git):
        h.update(repr(part).encode("utf-8", "surrogateescape") + b"\0")
    h.update("\0".join(repo.files).encode("utf-8", "surrogateescape"))
    return h.digest()


@functools.cache
def identity() -> tuple[Any, ...]:
    """This tool's code (every module's size and time) and the parser."""
    stamps = []
    base = os.path.dirname(os.path.dirname(__file__))  # the package, every subpackage included
    folders = [base]
    while folders:
        for entry in os.scandir(folders.pop()):
            if entry.is_dir() and not entry.name.startswith("__"):
                folders.append(entry.path)
            elif entry.name.endswith(".py"):
                st = entry.stat()
                stamps.append((entry.path[len(base):], st.st_size, st.st_mtime_ns))
    return parsecache._parser_identity(), tuple(sorted(stamps))


def _digest(repo: Repo, path: str, viewed: bool) -> bytes | None:
    """What a check read of `path`: the model's view of its documents, or its bytes. None: cannot say.

    Where the view leaves nothing out (Flux's own objects), the bytes stand for it: equal bytes mean an
    equal view, and hashing them costs far less than serialising the documents."""
    if viewed:
        from ..stack.gitops.facts import manifest_facts

        view, docs = manifest_facts(repo, path), repo.yaml(path)
        if view is not None and docs is not None and (
                len(view) != len(docs) or any(v is not d for v, d in zip(view, docs, strict=True))):
            buf = io.BytesIO()
            pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.fast = True  # no memo: equal views give equal bytes whichever objects they share
            try:
                pickler.dump(view)
            except (RecursionError, ValueError, pickle.PicklingError):
                return None
            return blake2b(b"v" + buf.getvalue(), digest_size=16).digest()
    data = repo.read_bytes(path)
    return blake2b(b"-" if data is None else b"b" + data, digest_size=16).digest()
