"""The whole-tree rules' outcomes kept between commit-hook runs, for as long as what they read is unchanged.

A hook on one staged manifest judges the whole Flux tree. Even with every parse cached, loading
5,000 manifests and building the model costs about a second, while most commits change nothing the
Flux rules read (a ConfigMap's data, a Deployment's image), and a hook often runs again on an
unchanged tree (another hook failed, `--amend`).

So a hook run keeps the outcomes of the rules whose checks are registered `whole_tree` in
`<git-dir>/cloudlab-lint/tree-result`, with everything they depended on:

- every file they read, and a digest of what they read of it: the whole file, or, for a manifest
  read only through the Flux model's view (`stack/gitops_view.py`), that view, lines included;
- the list of tracked files, the configuration, the rules with their parameters, and this tool's code.

A later hook run takes the outcomes only when all of that is unchanged. A file whose stamp (size,
times, inode, as in `parsecache`) is unchanged is not read again; a changed one is read and its
digest compared. Editing a ConfigMap's data keeps the result; editing a Kustomization does not.
`--all` and `--no-cache` never use it. A damaged or foreign file is ignored and replaced.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import parsecache
from .config import Config
from .model import Rule
from .parsecache import Stamp, cache_dir, stamp_of
from .repo import Repo

FORMAT = 1
NAME = "tree-result"
SAVE_AFTER = 16  # changed stamps with unchanged digests before the refreshed stamps are worth a write
Read = tuple[bool, Stamp | None, bytes]  # (read through the view only, stamp when read or None, digest)

_ALLOWED = {("cloudlab_lint.model", "Hit"), ("cloudlab_lint.model", "Location")}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the tree result")
        return super().find_class(module, name)


class TreeMemo:
    """One run's use of the kept result: `outcome()` per whole-tree rule, then `finish()`."""

    def __init__(self, repo: Repo, key: bytes, path: Path, rule_ids: frozenset[str]) -> None:
        self.repo = repo
        self.key = key
        self.rule_ids = rule_ids
        self.path = path
        self.started_ns = time.time_ns()
        self.prefix = os.path.join(repo.root, "")
        self.kept: dict[str, Any] | None = None  # the stored result, once judged still valid
        self.judged = False
        self.reads: dict[str, bool] = {}
        self.outcomes: dict[str, list[Any]] = {}
        self.problems: list[tuple[str, str, int, int]] = []
        self.notes: list[str] = []
        self.savable = True
        self.refreshed = 0
        self.earlier: dict[str, Read] = {}  # the stored reads, valid or not: digests of unchanged files hold

    def outcome(self, rule: Rule, compute: Callable[[], Any]) -> Any:
        """The rule's Outcome: kept from an earlier run when still valid, else computed (and recorded)."""
        from .engine import Outcome

        if not self.judged:
            self.judged = True
            self.kept = self._valid()
            if self.kept is not None:
                for problem in self.kept["problems"]:
                    self.repo.problem(*problem)
                self.repo.notes.extend(self.kept["notes"])
        if self.kept is not None:
            return Outcome(list(self.kept["outcomes"][rule.id]))
        repo = self.repo
        before_problems, before_notes = set(repo.problems), len(repo.notes)
        repo.reads = self.reads
        try:
            outcome = compute()
        finally:
            repo.reads = None
        if outcome.error is not None or outcome.fixes:
            self.savable = False
        self.outcomes[rule.id] = list(outcome.hits)
        self.problems.extend((p.path, p.message, p.line, p.column) for k, p in repo.problems.items()
                             if k not in before_problems)
        self.notes.extend(repo.notes[before_notes:])
        return outcome

    def finish(self) -> None:
        """Keep what this run computed, or the refreshed stamps of what it found unchanged."""
        if self.kept is not None:
            if self.refreshed >= SAVE_AFTER:
                self._write(self.kept)
            return
        if not self.savable or not self.outcomes:
            return
        reads: dict[str, Read] = {}
        for path, viewed in self.reads.items():
            stamp = self._stamp(path)  # before the digest: a write in between is seen next time
            earlier = self.earlier.get(path)
            if stamp is not None and earlier is not None and earlier[:2] == (viewed, stamp):
                reads[path] = earlier
                continue
            digest = _digest(self.repo, path, viewed)
            if digest is None:
                return
            reads[path] = (viewed, stamp, digest)
        self._write({"key": self.key, "reads": reads, "outcomes": self.outcomes, "problems": self.problems,
                     "notes": list(dict.fromkeys(self.notes))})

    # -- validity ------------------------------------------------------------------------

    def _valid(self) -> dict[str, Any] | None:
        stored = _load(self.path)
        if stored is None:
            return None
        reads: dict[str, Read] = stored["reads"]
        self.earlier = reads
        if stored["key"] != self.key or set(stored["outcomes"]) != self.rule_ids:
            return None
        prefix = self.prefix
        lstat = os.lstat
        try:
            # The hot loop of a hook run on a big tree (5,000 files): one lstat and a compare each.
            for path, (viewed, stamp, digest) in reads.items():
                try:
                    st = lstat(prefix + path)
                    if (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino) == stamp:
                        continue
                except OSError:
                    pass
                now = self._stamp(path)  # before the digest, as in finish()
                if _digest(self.repo, path, viewed) != digest:
                    return None
                reads[path] = (viewed, now, digest)
                self.refreshed += 1
        except (TypeError, ValueError):  # a damaged file: not what this module wrote
            self.earlier = {}
            return None
        return stored

    def _stamp(self, path: str) -> Stamp | None:
        """The file's stamp; None when it is missing or changed too recently to trust (git's racy case)."""
        try:
            st = os.lstat(self.prefix + path)
        except OSError:
            return None
        limit = self.started_ns - parsecache.RACY_NS
        return None if st.st_mtime_ns >= limit or st.st_ctime_ns >= limit else stamp_of(st)

    def _write(self, stored: dict[str, Any]) -> None:
        from .atomic import write_atomic

        try:
            data = pickle.dumps((_identity(), stored), protocol=pickle.HIGHEST_PROTOCOL)
            self.path.parent.mkdir(exist_ok=True)
            write_atomic(self.path, data)
        except (OSError, pickle.PicklingError):
            pass  # a read-only git folder: the next run computes again


def open_memo(repo: Repo, config: Config, rules: list[Rule], fix: bool) -> TreeMemo | None:
    """The kept result for `rules` in this hook run, or None where none may be used."""
    from .checks.flux_common import touches_tree

    if repo.all_mode or repo.parse_cache is None or fix or not rules or not touches_tree(repo, config):
        return None
    folder = cache_dir(repo.root)
    if folder is None:
        return None
    return TreeMemo(repo, _key(repo, config, rules), folder / NAME, frozenset(r.id for r in rules))


def _key(repo: Repo, config: Config, rules: list[Rule]) -> bytes:
    """What the outcomes depend on besides the files read: configuration, rules, tracked files, code."""
    h = hashlib.blake2b(digest_size=16)
    for part in (_identity(), repr(config), [repr(r) for r in rules], repo.max_bytes, repo.exclude, repo.is_git):
        h.update(repr(part).encode("utf-8", "surrogateescape") + b"\0")
    h.update("\0".join(repo.files).encode("utf-8", "surrogateescape"))
    return h.digest()


@functools.cache
def _identity() -> tuple[Any, ...]:
    """This tool's code (every module's size and time), the format and the parser."""
    from .parsecache import _parser_identity

    stamps = []
    base = Path(__file__).parent
    for folder in (base, *(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("__"))):
        for entry in os.scandir(folder):
            if entry.name.endswith(".py"):
                st = entry.stat()
                stamps.append((folder.name, entry.name, st.st_size, st.st_mtime_ns))
    return FORMAT, _parser_identity(), tuple(sorted(stamps))


def _digest(repo: Repo, path: str, viewed: bool) -> bytes | None:
    """What a check read of `path`: the model's view of its documents, or its bytes. None: cannot say.

    Where the view leaves nothing out (Flux's own objects), the bytes stand for it: equal bytes mean an
    equal view, and hashing them costs far less than serialising the documents."""
    if viewed:
        from .stack.gitops_view import document_view

        view, docs = repo.yaml_view(path, document_view), repo.yaml(path)
        if view is not None and docs is not None and any(v is not d for v, d in zip(view, docs, strict=True)):
            buf = io.BytesIO()
            pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.fast = True  # no memo: equal views give equal bytes whichever objects they share
            try:
                pickler.dump(view)
            except (RecursionError, ValueError, pickle.PicklingError):
                return None
            return hashlib.blake2b(b"v" + buf.getvalue(), digest_size=16).digest()
    data = repo.read_bytes(path)
    return hashlib.blake2b(b"-" if data is None else b"b" + data, digest_size=16).digest()


def _load(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    try:
        identity, stored = _Unpickler(io.BytesIO(raw)).load()
    except Exception:  # noqa: BLE001 - any damage at all: computed again
        return None
    if identity != _identity() or not _well_formed(stored):
        return None
    return stored


def _hit_ok(hit: Any) -> bool:
    from .model import Hit, Location

    loc = getattr(hit, "location", None)
    return (isinstance(hit, Hit) and isinstance(hit.message, str) and isinstance(hit.key, (str, type(None)))
            and isinstance(loc, Location) and isinstance(loc.path, str)
            and all(isinstance(n, int) for n in (loc.line, loc.column))
            and all(isinstance(n, (int, type(None))) for n in (loc.end_line, loc.end_column)))


def _well_formed(stored: Any) -> bool:
    """Only what this module writes reaches the engine (`reads` is checked as it is used)."""
    try:
        return (isinstance(stored["key"], bytes) and isinstance(stored["reads"], dict)
                and all(isinstance(hits, list) and all(_hit_ok(h) for h in hits)
                        for hits in stored["outcomes"].values())
                and all(len(p) == 4 and all(isinstance(x, t) for x, t in zip(p, (str, str, int, int), strict=True))
                        for p in stored["problems"])
                and all(isinstance(n, str) for n in stored["notes"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
