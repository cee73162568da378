"""Reading and writing what a commit hook keeps in `<git-dir>/cloudlab-lint/`, whatever is found there.

Anything can be in its place: a FIFO (a plain `open` would wait forever), a link to a file elsewhere or to a
device, a file of any size, or a folder that is itself a link. A kept file is read only when it is a regular
file, opened without following a link or waiting, no bigger than its cap; otherwise it counts as absent, and
the next write replaces it whole (a temporary file renamed over whatever node holds the name). Callers still
check what they read: a kept file may be truncated, of another version, or forged.
"""

from __future__ import annotations

import io
import os
import pickle
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def _folder_ok(folder: Path) -> bool:
    """The kept files' folder is a real folder (not a link that sends reads and writes elsewhere)."""
    try:
        return stat.S_ISDIR(os.lstat(folder).st_mode)
    except OSError:
        return False


def read_kept(path: Path, max_bytes: int) -> bytes | None:
    """The file's bytes; None when it is absent, not a regular file, a link, too big, or unreadable."""
    if not _folder_ok(path.parent):
        return None
    try:
        fd = os.open(path, _FLAGS)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            return None
        chunks, left = [], st.st_size + 1  # one byte more: a file growing while read is refused
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        return data if len(data) <= max_bytes else None
    except OSError:
        return None
    finally:
        os.close(fd)


def write_kept(path: Path, data: bytes | str) -> bool:
    """Replace `path` whole and atomically (whatever node held the name); False when it cannot be kept."""
    from ..atomic import write_atomic

    try:
        path.parent.mkdir(exist_ok=True)
        if not _folder_ok(path.parent):
            return False
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                os.unlink(path)  # a link, FIFO or device in its place: never written through, never kept
        except FileNotFoundError:
            pass
        write_atomic(path, data)
    except OSError:
        return False  # a read-only git folder: the next run computes again
    return True


class _Restricted(pickle.Unpickler):
    """Builds only the classes a kept file's format names: a forged file cannot run code."""

    def __init__(self, data: bytes, allowed: frozenset[tuple[str, str]]) -> None:
        super().__init__(io.BytesIO(data))
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.allowed:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a kept file")
        return super().find_class(module, name)


def load_pickled(path: Path, max_bytes: int, allowed: frozenset[tuple[str, str]], header: Any,
                 well_formed: Callable[[Any], bool]) -> Any:
    """What `dump_pickled(path, header, payload)` wrote: the payload, or None when the file is absent, damaged,
    of another header (format, code) or of another shape (`well_formed` false)."""
    raw = read_kept(path, max_bytes)  # a FIFO, a link, a giant: absent (and replaced by the next write)
    if raw is None:
        return None
    try:
        found, payload = _Restricted(raw, allowed).load()
    except Exception:  # noqa: BLE001 - any damage at all: computed again
        return None
    if found != header or not well_formed(payload):
        return None
    return payload


def dump_pickled(path: Path, header: Any, payload: Any) -> bool:
    """Replace `path` with `payload` under `header` (`write_kept`); False when it cannot be kept."""
    try:
        data = pickle.dumps((header, payload), protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, RecursionError, TypeError):
        return False
    return write_kept(path, data)
