"""Parsed YAML kept between runs, so a commit hook does not parse the whole Flux tree every time.

A hook on one staged manifest still judges the whole tree (the Flux graph is a property of all of
it), and parsing 5,000 manifests is most of such a run. Between two commits almost none of them
change, so their parses are kept in the git folder (`<git-dir>/cloudlab-lint/yaml-cache`, never in
the work tree, never tracked).

An entry is used only when the file is exactly as it was: same size, modification and change time
(in nanoseconds) and inode, like git's own index. Any write changes the change time, which no user
can set back. A file changed in the last seconds before it was read is not kept (git's "racy"
case: a file system clock ticks coarsely, so a second write in the same tick could keep its
stamp). The whole cache is dropped when the parser or the tool changes.

Reading the cache never fails a run: a missing, truncated, foreign or hostile file is ignored
(only our own classes can be unpickled; a FIFO, link or oversized file is never opened as one, see
`keptfile`) and rewritten whole, atomically. `--all` never reads it (nor any kept file): CI runs on
a fresh clone, where there is nothing to reuse, and a forged entry must never hide a finding there.
"""

from __future__ import annotations

import io
import os
import pickle
import time
from pathlib import Path
from typing import Any

from ..files import cache_dir
from .settings import Settings

FORMAT = 1
NAME = "yaml-cache"
MAX_BYTES = 1 << 30  # a bigger file is not ours: ignored, and replaced by the next save
Stamp = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
Outcome = tuple[Any, tuple[str, int, int] | None]  # (documents or None, parse problem or None)

_ALLOWED = {("cloudlab_lint.parsing.yamlx", name) for name in ("YMap", "YSeq", "Document")}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the parse cache")
        return super().find_class(module, name)


def _loads(data: bytes) -> Any:
    return _Unpickler(io.BytesIO(data)).load()


def parser_identity() -> tuple[Any, ...]:
    """What the cached parses depend on besides the file: the parser's code (the YAML reader and the JSON
    reading of `stack/kinds`) and the installed PyYAML, with or without libyaml. Asked of the files, not by
    importing them: a commit hook that parses nothing never loads PyYAML."""
    from importlib.util import find_spec

    from .. import __version__

    here = os.path.dirname(os.path.dirname(__file__))  # the package
    code = tuple((name, st.st_size, st.st_mtime_ns) for name in ("parsing/yamlx.py", "stack/kinds.py")
                 for st in (os.stat(os.path.join(here, name)),))
    spec = find_spec("yaml")  # finds the package without running it
    yaml_files: tuple[Any, ...] = ()
    if spec is not None and spec.submodule_search_locations:
        folder = list(spec.submodule_search_locations)[0]
        with os.scandir(folder) as entries:
            yaml_files = tuple(sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in entries
                                      if e.name == "__init__.py" or e.name.startswith("_yaml")))
    return FORMAT, __version__, code, yaml_files


class ParseCache:
    """Opened lazily, once a run has parsed `settings.open_after` files itself: loading it costs as much as
    parsing a few dozen files, so a run that parses a handful (a hook on a README reads the
    workflows) never reads or writes it; a run over the Flux tree opens it early on."""

    def __init__(self, root: Path, *, write_new: bool, settings: Settings | None = None) -> None:
        self.root = root
        self.settings = settings or Settings()
        self.write_new = write_new  # create the file when it does not exist yet
        self.started_ns = time.time_ns()
        self.path: Path | None = None
        self.existed = False
        self._entries: dict[str, tuple[Stamp, bytes]] | None = None
        self.fresh: dict[str, tuple[Stamp, Outcome]] = {}
        self.misses = 0

    @property
    def entries(self) -> dict[str, tuple[Stamp, bytes]]:
        if self._entries is None:
            self.path = _cache_path(self.root)
            self._entries = self._load() if self.path is not None else {}
        return self._entries

    def _load(self) -> dict[str, tuple[Stamp, bytes]]:
        assert self.path is not None
        from .keptfile import read_kept

        raw = read_kept(self.path, MAX_BYTES)  # a FIFO, a link, a giant: absent (and replaced by the next save)
        if raw is None:
            self.existed = os.path.lexists(self.path)
            return {}
        self.existed = True
        try:
            header, entries = _loads(raw)
        except Exception:  # noqa: BLE001 - any damage at all: start again
            return {}
        if header != parser_identity() or not isinstance(entries, dict):
            return {}
        return entries

    def get(self, path: str, stamp: Stamp) -> Outcome | None:
        if self._entries is None and self.misses < self.settings.open_after:
            self.misses += 1
            return None
        entry = self.entries.get(path)
        if entry is None or entry[0] != stamp:
            return None
        try:
            outcome = _loads(entry[1])
        except Exception:  # noqa: BLE001 - a damaged entry is a miss
            return None
        return outcome

    def put(self, path: str, stamp: Stamp, outcome: Outcome) -> None:
        limit = self.started_ns - self.settings.racy_ns
        if stamp[1] >= limit or stamp[2] >= limit:
            return  # changed moments ago: a later change in the same clock tick would keep this stamp
        self.fresh[path] = (stamp, outcome)

    def save(self, files: frozenset[str]) -> None:
        """Write what this run parsed, keeping unchanged entries of files that still exist."""
        if self._entries is None or self.path is None or not (self.existed or self.write_new):
            return
        # The files parsed before the cache was opened are mostly in it already.
        fresh = {p: e for p, e in self.fresh.items() if p not in self._entries or self._entries[p][0] != e[0]}
        if not fresh:
            return
        from .keptfile import write_kept

        entries = {p: e for p, e in self._entries.items() if p in files and p not in fresh}
        for path, (stamp, outcome) in fresh.items():
            entries[path] = (stamp, pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
        write_kept(self.path, pickle.dumps((parser_identity(), entries), protocol=pickle.HIGHEST_PROTOCOL))


def _cache_path(root: Path) -> Path | None:
    folder = cache_dir(root)
    return folder / NAME if folder is not None else None
