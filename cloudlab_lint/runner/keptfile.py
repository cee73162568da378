"""Reading and writing what a commit hook keeps in `<git-dir>/cloudlab-lint/`, whatever is found there.

Anything can be in its place: a FIFO (a plain `open` would wait forever), a link to a file elsewhere or to a
device, a file of any size, or a folder that is itself a link. A kept file is read only when it is a regular
file, opened without following a link or waiting, no bigger than its cap; otherwise it counts as absent, and
the next write replaces it whole (a temporary file renamed over whatever node holds the name). Callers still
check what they read: a kept file may be truncated, of another version, or forged.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

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
