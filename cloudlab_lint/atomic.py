"""Write files whole or not at all: temp file in the same folder, fsync, rename; keep the mode."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: str | bytes, *, encoding: str = "utf-8") -> None:
    payload = data.encode(encoding) if isinstance(data, str) else data
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# Names that mean "this process's own stream", as the shell reads them: written there, never opened anew
# (a fresh open of /proc/self/fd/1 would start at offset 0 of a file the shell opened for appending).
_STREAMS = {"/dev/stdout": 1, "/dev/fd/1": 1, "/proc/self/fd/1": 1,
            "/dev/stderr": 2, "/dev/fd/2": 2, "/proc/self/fd/2": 2}


def write_output(path: Path, data: bytes) -> None:
    """A report to `path`: atomically onto a regular file or a new name; onto anything else (a device, a
    FIFO, a link, /dev/stdout) written directly, so the node itself is never replaced (as root, renaming a
    temporary file over /dev/null would make it a regular file)."""
    path = Path(path)
    fd_no = _STREAMS.get(os.path.normpath(os.fspath(path)) if os.path.isabs(path) else "")
    if fd_no is not None:
        _write_all(fd_no, data)
        return
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        write_atomic(path, data)
        return
    if stat.S_ISREG(st.st_mode):
        write_atomic(path, data)
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "Is a directory", str(path))
    # No O_CREAT: the node exists (a dangling link is an error, not a new file somewhere else).
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
