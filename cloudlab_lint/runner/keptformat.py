"""The file `treememo` keeps: its columns of reads, and the checks that keep a damaged or hostile file from
ever reaching the engine (it is then ignored, and replaced whole and atomically by the next result)."""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

from ..views import VIEWS_READ
from .codeid import code_identity
from .keptfile import dump_pickled, load_pickled

FORMAT = 7
NAME = "tree-result"
MAX_BYTES = 256 << 20  # a bigger file is not ours
NONE = -1
MISSING = (NONE, NONE, NONE, NONE)  # no stamp: the digest decides

_ALLOWED = frozenset({("cloudlab_lint.model", "Hit"), ("cloudlab_lint.model", "Location"), ("array", "array"),
                      ("array", "_array_reconstructor")})


class Reads:
    """What the kept outcomes read, in columns, a row for each way a file was read: the path, how it was read (the
    bits of `views.VIEWS_READ`, 0: whole), four stamp numbers, a 16-byte digest of what was read. A file that
    rules read in different ways has a row for each (a workflow the pipeline rules read whole, the Flux rules only
    for the folder it pushes): an edit changes only the rows that see it. Stored as four strings: unpickling
    5,000 tuples would cost more than the rest of a hook run."""

    def __init__(self, paths: list[str], viewed: bytes, stamps: array, digests: bytes) -> None:
        self.paths, self.viewed, self.stamps, self.digests = paths, viewed, stamps, digests

    def state(self) -> tuple[str, bytes, bytes, bytes]:
        return "\0".join(self.paths), self.viewed, self.stamps.tobytes(), self.digests

    @classmethod
    def of(cls, state: Any) -> Reads | None:
        """From `state()`; None when it is not what `state()` gives."""
        if not (isinstance(state, tuple) and len(state) == 4 and isinstance(state[0], str)
                and all(isinstance(x, bytes) for x in state[1:])):
            return None
        paths = state[0].split("\0") if state[0] else []
        stamps = array("q")
        n = len(paths)
        if (len(state[1]) != n or len(state[2]) != 4 * n * stamps.itemsize or len(state[3]) != 16 * n
                or max(state[1], default=0) >= 1 << len(VIEWS_READ)):
            return None
        stamps.frombytes(state[2])
        return cls(paths, state[1], stamps, state[3])

    def rows(self) -> dict[tuple[str, int], tuple[array, bytes]]:
        """(path, how it was read) -> (its stamp, its digest)."""
        return {(p, self.viewed[i]): (self.stamps[4 * i:4 * i + 4], self.digests[16 * i:16 * i + 16])
                for i, p in enumerate(self.paths)}


def load(path: Path) -> dict[str, Any] | None:
    """The stored result, or None when there is none that this code wrote."""
    return load_pickled(path, MAX_BYTES, _ALLOWED, (FORMAT, identity()), _well_formed)


def write(path: Path, stored: dict[str, Any]) -> None:
    dump_pickled(path, (FORMAT, identity()), stored)


def _hit_ok(hit: Any) -> bool:
    from ..model import Hit, Location

    loc = getattr(hit, "location", None)
    return (isinstance(hit, Hit) and isinstance(hit.message, str) and isinstance(hit.key, (str, type(None)))
            and isinstance(loc, Location) and isinstance(loc.path, str)
            and isinstance(hit.related, tuple) and isinstance(hit.commit, (str, type(None)))
            and all(isinstance(m, str) and isinstance(r, Location) for m, r in hit.related)
            and all(isinstance(n, int) for n in (loc.line, loc.column))
            and all(isinstance(n, (int, type(None))) for n in (loc.end_line, loc.end_column)))


def _well_formed(stored: Any) -> bool:
    """Only what `write` stores reaches the runner (the reads are checked by `Reads.of`, the indices here)."""
    try:
        reads = Reads.of(stored["reads"])
        if not isinstance(stored["key"], bytes) or reads is None or not isinstance(stored["rules"], dict):
            return False
        count = len(reads.paths)
        return (all(isinstance(rid, str) and isinstance(key, str) and isinstance(hits, list)
                    and all(_hit_ok(h) for h in hits) and isinstance(indices, array) and indices.typecode == "I"
                    and max(indices, default=-1) < count and isinstance(notes, list)
                    and all(isinstance(n, str) and isinstance(p, (str, type(None))) for n, p in notes)
                    for rid, (key, hits, indices, notes) in stored["rules"].items())
                and all(len(p) == 4 and all(isinstance(x, t) for x, t in zip(p, (str, str, int, int), strict=True))
                        for p in stored["problems"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        return False


def identity() -> tuple[Any, ...]:
    """This tool's code and the parser."""
    return code_identity()
