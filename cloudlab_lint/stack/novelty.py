"""Which history blobs need their content tested: only lines new to history can hold a new keyword.

Successive versions of a file share most of their lines. A line that was seen
holding no keyword of any test is remembered, and a later blob is tested only on
its other lines (the saving a diff-based scanner gets, without diffs). Every
keyword lies within one line, so a blob whose new lines hold none holds none at
all. A blob that does is judged whole (its context matters: `kind: Config`,
`users:`, a PEM body).

On two or more cores half of the paths can be filtered in a forked process,
which gets each blob's bytes through a pipe and returns the few it flags.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from typing import Any

MAX_CLEAN_LINES = 2_000_000  # bounds memory on huge histories; past it, fewer lines are skipped


def secret_kind(data: bytes) -> bool:
    """A Kubernetes Secret (top-level `kind`): its literal data makes its path one that must be encrypted.
    Only top-level: `- kind: Secret` under valuesFrom is a reference."""
    return (b"\nkind: Secret" in data or data.startswith(b"kind: Secret") or b'"kind": "Secret"' in data
            or b'"kind":"Secret"' in data)


class NoveltyFilter:
    def __init__(self, keywords: Iterable[bytes], patterns: Iterable[re.Pattern[bytes]], always: bool) -> None:
        self.keywords = tuple(dict.fromkeys(keywords))
        self.patterns = tuple(patterns)
        self.always = always  # a plugin without keywords: every blob is tested
        # On a few lines one regex beats many `in` tests (their set-up dominates); on a whole file the
        # `in` tests win (sre cannot skip ahead on an alternation).
        self.regex = re.compile(b"|".join(re.escape(k) for k in self.keywords))
        self.clean: set[bytes] = set()

    def flagged(self, data: bytes) -> bool:
        """Whether the blob needs its content tested; remembers its lines as clean when not."""
        if self.always:
            return True
        clean = self.clean
        lines = data.split(b"\n")
        new = [line for line in lines if line not in clean]
        chunk = data if len(new) == len(lines) else b"\n".join(new)
        if len(chunk) < 2048:
            hit = self.regex.search(chunk) is not None
        else:
            hit = any(keyword in chunk for keyword in self.keywords)
        if hit or secret_kind(chunk) or any(p.search(chunk) for p in self.patterns):
            return True
        if len(clean) < MAX_CLEAN_LINES:
            clean.update(new)  # none of these lines holds a keyword
        return False


def partition(path: str) -> int:
    """Versions of one path go to the same filter (they share lines)."""
    return zlib.crc32(path.encode("utf-8", "surrogateescape")) & 1


class Helper:
    """A forked process running a NoveltyFilter on the blobs submitted to it."""

    def __init__(self, filt: NoveltyFilter) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, filt), daemon=True)
        self.process.start()
        child.close()
        self.sent: list[str] = []

    def submit(self, oid: str, data: bytes) -> None:
        self.sent.append(oid)
        key = oid.encode("ascii")
        self.conn.send_bytes(bytes([len(key)]) + key + data)  # SHA-1 or SHA-256 object names

    def finish(self) -> tuple[list[str], dict[str, bytes]]:
        """(oids that need no content test, {oid: bytes} of those that do)."""
        self.conn.send_bytes(b"")
        flagged: dict[str, bytes] = {}
        while True:
            message = self.conn.recv_bytes()
            if not message:
                break
            size = message[0]
            flagged[message[1:1 + size].decode("ascii")] = message[1 + size:]
        self.conn.close()
        self.process.join()
        return [o for o in self.sent if o not in flagged], flagged

    def abort(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


def _serve(conn: Any, filt: NoveltyFilter) -> None:
    flagged: list[bytes] = []
    while True:
        message = conn.recv_bytes()
        if not message:
            break
        if filt.flagged(message[1 + message[0]:]):
            flagged.append(message)
    for message in flagged:
        conn.send_bytes(message)
    conn.send_bytes(b"")
    conn.close()
