"""Every blob reachable from any ref, each read once, with the commit that introduced it at each path.

`git log --raw` over every ref lists, in `--topo-order --reverse` order
(parents before children), what each commit adds or changes against its first
parent, so each (blob, path) pair appears first at the commit that introduced
it. The blobs themselves are streamed once each, in pack order: one `git
cat-file --batch-check` lists the objects present, and a `git cat-file --batch
--buffer` is handed the blobs among them. git inflates and resolves deltas in
its own process while Python tests the previous blobs, so two cores work at
once.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from ..gitcmd import GitError, discard, git, git_command, git_env
from ..record import factory, record

NULL_OID = "0" * 40
SUBMODULE, SYMLINK = "160000", "120000"


@record
class Use:
    """A path at which a blob appeared, and the first commit (topological order) that put it there."""

    path: str
    commit: str


@record(mutable=True)
class History:
    blobs: dict[str, list[Use]] = factory(dict)  # oid -> uses, in order of first appearance
    order: dict[str, int] = factory(dict)  # commit -> its place in topological order
    commits: int = 0
    shallow: bool = False
    partial: bool = False


def completeness(root: Path) -> tuple[bool, bool]:
    """(shallow, partial): a history that is not all here cannot pass the gate."""
    shallow = git(root, "rev-parse", "--is-shallow-repository").strip() == b"true"
    out = git(root, "config", "--get-regexp", r"^(extensions\.partialclone|remote\..*\.promisor)$", check=False)
    partial = any(line.split(b" ", 1)[-1].strip() not in (b"false", b"") for line in out.splitlines())
    return shallow, partial


def walk(root: Path, revs: tuple[str, ...] | None = None) -> History:
    """Every (blob, path) pair reachable from any ref, with the commit that introduced it; with `revs` (git
    log's revision arguments, such as `BASE..HEAD` or `TIP --not --remotes`), only the blobs those commits
    added that the excluded side does not already hold (what a push would send)."""
    history = History()
    history.shallow, history.partial = completeness(root)
    if revs is None:
        if not git(root, "for-each-ref", "--count=1", "--format=%(refname)").strip():
            return history
    elif not revs:
        return history  # a push of nothing new
    raw = git(root, "log", *(revs if revs is not None else ("--all",)), "--topo-order", "--reverse",
              "--no-renames", "--diff-merges=first-parent", "--root", "--raw", "--no-abbrev", "-z",
              "--format=%x01%H", "--no-ext-diff", "--no-textconv")
    blobs = history.blobs
    seen: set[tuple[str, str]] = set()
    commit = ""
    tokens = iter(raw.split(b"\0"))
    for token in tokens:
        token = token.lstrip(b"\n")
        if not token:
            continue
        if token[:1] == b"\x01":
            commit = token[1:].decode("ascii")
            history.order.setdefault(commit, history.commits)
            history.commits += 1
            continue
        if token[:1] != b":":
            continue
        path = next(tokens, b"").decode("utf-8", "surrogateescape")
        meta = token[1:].split(b" ")
        if len(meta) < 5:
            continue
        mode, oid = meta[1].decode("ascii"), meta[3].decode("ascii")
        if oid == NULL_OID or mode in (SUBMODULE, SYMLINK) or not mode.startswith("10"):
            continue
        if (oid, path) in seen:
            continue
        seen.add((oid, path))
        blobs.setdefault(oid, []).append(Use(path, commit))
    if revs is not None:
        _keep_new(root, revs, history)
    return history


def _keep_new(root: Path, revs: tuple[str, ...], history: History) -> None:
    """Keep the blobs that the excluded side of `revs` does not hold (a merge of the base into a branch adds,
    against its first parent, blobs the base already has), and say whether the range crosses a shallow cut."""
    if any(rev.startswith("^") or rev == "--not" or ".." in rev for rev in revs):
        out = git(root, "rev-list", "--objects", "--no-object-names", *revs)
        new = {line.decode("ascii") for line in out.split()}
        history.blobs = {oid: uses for oid, uses in history.blobs.items() if oid in new}
    if history.shallow:
        # A shallow clone serves a range whose commits are all here: only a cut inside it hides commits.
        cut = git(root, "rev-parse", "--git-path", "shallow").decode("utf-8", "surrogateescape").strip()
        path = Path(cut) if Path(cut).is_absolute() else root / cut
        try:
            grafts = set(path.read_text(encoding="ascii", errors="replace").split())
        except OSError:
            grafts = set()
        history.shallow = any(commit in grafts for commit in history.order)


class BlobStreams:
    """Every blob present, each read once, in pack order, by `parts` `git cat-file --batch --buffer` processes.

    `git cat-file --batch-all-objects --batch-check --unordered` lists the objects present in pack order (a
    partial clone is never asked to fetch: only objects it has are listed); a feeder thread hands the blobs
    among them to the readers. Asking in pack order keeps delta bases in git's cache (several times faster
    than history order), and commits and trees (about a third of the bytes) are neither inflated by git nor
    read by us. With two readers each gets whole delta families (a blob goes where its base went, a new
    family to the reader with fewer bytes so far), so no base is inflated twice.

    Start the readers (the constructor), fork any helper that reads a share, then `start()` the feeder: no
    thread may exist at a fork."""

    def __init__(self, root: Path, parts: int = 1, wanted: set[str] | dict[str, object] | None = None) -> None:
        fmt = "%(objecttype) %(objectname)" + (" %(objectsize) %(deltabase)" if parts > 1 else "")
        self.lister = subprocess.Popen(git_command(root, "cat-file", "--batch-all-objects", "--unordered",
                                                   f"--batch-check={fmt}"),
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                       env=git_env())
        self.readers = [subprocess.Popen(git_command(root, "cat-file", "--batch", "--buffer"), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=git_env(),
                                         bufsize=1 << 20) for _ in range(parts)]
        self.wanted = wanted
        self.feeder: threading.Thread | None = None

    def output(self, part: int) -> IO[bytes]:
        out = self.readers[part].stdout
        assert out is not None
        return out

    def foreign(self, part: int) -> list[IO[bytes]]:
        """The pipe ends a process reading only `part` must close (git sees the end of its input only when
        every copy of the writing end is closed)."""
        ends = [self.lister.stdout, *(r.stdin for r in self.readers)]
        ends += [r.stdout for i, r in enumerate(self.readers) if i != part]
        return [end for end in ends if end is not None]

    def start(self) -> None:
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.feeder.start()

    def read(self, part: int, max_bytes: int, *, stream: bool = False) -> Iterator[tuple[str, Any, int]]:
        """(oid, content or None when over `max_bytes`, size) for each blob of `part`, then the readers end.
        `stream`: a blob over `max_bytes` comes as chunks instead of None (see read_stream)."""
        try:
            yield from read_stream(self.output(part), max_bytes, stream=stream)
        finally:
            self.close()

    def close(self) -> None:
        # Closing our ends first lets a git still writing stop (and the feeder with it).
        for reader in self.readers:
            if reader.stdout is not None:
                reader.stdout.close()
        for reader in self.readers:
            reader.wait()
        if self.feeder is not None:
            self.feeder.join()

    def _feed(self) -> None:
        lister = self.lister
        assert lister.stdout is not None
        stdins = [r.stdin for r in self.readers if r.stdin is not None]
        wanted = self.wanted
        share: dict[bytes, int] = {}  # blob -> the reader it went to
        load = [0] * len(stdins)
        try:
            rest = b""
            while True:
                chunk = lister.stdout.read1(1 << 16)
                if not chunk:
                    break
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                batches: list[list[bytes]] = [[] for _ in stdins]
                if len(stdins) == 1:
                    batches[0] = [line[5:] for line in lines if line[:5] == b"blob "]
                else:
                    for line in lines:
                        if line[:5] != b"blob ":
                            continue
                        _, oid, size, base = line.split(b" ")
                        part = share.get(base)
                        if part is None:
                            part = load.index(min(load))
                        share[oid] = part
                        load[part] += int(size)
                        batches[part].append(oid)
                for stdin, batch in zip(stdins, batches, strict=True):
                    if wanted is not None:
                        batch = [o for o in batch if o.decode("ascii") in wanted]
                    if batch:
                        stdin.write(b"\n".join(batch) + b"\n")
                        stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass
        finally:
            for stdin in stdins:
                try:
                    stdin.close()
                except (BrokenPipeError, OSError):
                    pass
            lister.stdout.close()
            lister.wait()


def read_all(root: Path, wanted: set[str] | dict[str, object] | None, max_bytes: int
             ) -> Iterator[tuple[str, bytes | None, int]]:
    """(oid, content or None when over `max_bytes`, size) for each wanted blob (None: every blob), in pack
    order, through one reader (see BlobStreams)."""
    streams = BlobStreams(root, 1, wanted)
    streams.start()
    yield from streams.read(0, max_bytes)


def read_stream(out: IO[bytes], max_bytes: int, *, stream: bool = False) -> Iterator[tuple[str, Any, int]]:
    """The objects `git cat-file --batch` writes to `out`: (oid, content or None when over `max_bytes`, size).

    `stream`: an object over `max_bytes` comes as an iterator of chunks (bounded memory) instead of None; what
    the consumer leaves of it is skipped before the next object is read."""
    _widen_pipe(out)
    readline, read = out.readline, out.read
    while True:
        header = readline()
        if not header:
            return
        parts = header.split()
        if len(parts) != 3:  # "<oid> missing": gone since it was listed
            continue
        size = int(parts[2])
        if size > max_bytes:
            if stream:
                chunks = Chunks(out, size)
                yield parts[0].decode("ascii"), chunks, size
                chunks.drain()
            else:
                discard(out, size + 1)
                yield parts[0].decode("ascii"), None, size
            continue
        # `_object`, inlined: this loop runs once per blob of the whole history.
        data = read(size)
        read(1)  # the newline after the content
        yield parts[0].decode("ascii"), data, size


class Chunks:
    """The content of one object of a `git cat-file --batch` stream, in chunks of at most 1 MiB."""

    def __init__(self, out: IO[bytes], size: int) -> None:
        self.out, self.left = out, size + 1  # the newline after the content

    def __iter__(self) -> Iterator[bytes]:
        while self.left > 1:
            chunk = self.out.read(min(self.left - 1, 1 << 20))
            if not chunk:
                raise GitError("git cat-file stopped in the middle of an object")
            self.left -= len(chunk)
            yield chunk

    def drain(self) -> None:
        discard(self.out, self.left)
        self.left = 0


def _object(out: IO[bytes], header: list[bytes], max_bytes: int) -> tuple[str, bytes | None, int]:
    """The object whose `<oid> <type> <size>` header was just read: its content, or None when over `max_bytes`."""
    oid, size = header[0].decode("ascii"), int(header[2])
    if size > max_bytes:
        discard(out, size + 1)
        return oid, None, size
    data = out.read(size)
    out.read(1)  # the newline after the content
    return oid, data, size


def read_blobs(root: Path, oids: Iterable[str], max_bytes: int) -> Iterator[tuple[str, bytes | None, int]]:
    """(oid, content or None when over `max_bytes` or missing, size) for each oid, through one `cat-file`."""
    proc = subprocess.Popen(git_command(root, "cat-file", "--batch"), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=git_env(), bufsize=1 << 20)
    assert proc.stdin is not None and proc.stdout is not None
    oid_list = list(oids)
    writer = threading.Thread(target=_feed, args=(proc.stdin, oid_list), daemon=True)
    writer.start()
    out = proc.stdout
    try:
        for _ in oid_list:
            header = out.readline()
            if not header:
                raise GitError("git cat-file stopped early")
            parts = header.split()
            if len(parts) != 3:  # "<oid> missing"
                yield parts[0].decode("ascii", "replace"), None, 0
                continue
            yield _object(out, parts, max_bytes)
    finally:
        # Closing our end first lets a git still writing stop (and the feeder with it).
        out.close()
        proc.wait()
        writer.join()


def _widen_pipe(stream: IO[bytes]) -> None:
    """Let git run up to 1 MiB ahead of us (Linux; the default 64 KiB pipe makes the two take turns)."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError, ValueError):
        pass


def _feed(stdin: IO[bytes], oids: list[str]) -> None:
    try:
        for start in range(0, len(oids), 4096):
            stdin.write("".join(f"{o}\n" for o in oids[start:start + 4096]).encode("ascii"))
        stdin.close()
    except (BrokenPipeError, ValueError, OSError):
        pass


class Progress:
    """Blobs and MB done, rate and ETA on stderr, at most a few times a second (only on a terminal)."""

    def __init__(self, total: int, enabled: bool, stream: IO[str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.enabled, self.clock = total, enabled, clock
        self.stream = stream or sys.stderr
        self.start = self.last = clock()
        self.done = self.bytes = 0

    def step(self, size: int) -> None:
        self.done += 1
        self.bytes += size
        if not self.enabled:
            return
        now = self.clock()
        if now - self.last >= 0.25 or self.done == self.total:
            self.last = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()

    def line(self, now: float) -> str:
        elapsed = max(now - self.start, 1e-9)
        rate = self.bytes / elapsed / 1e6
        # Not known yet (the walk is still running), or an estimate the stream outran (it also reads blobs no
        # ref reaches, and the helper's share is a guess): no total is better than 18,357/17,666.
        if not self.total or self.done > self.total:
            return f"cloudlab-lint: history {self.done:,} blobs, {self.bytes / 1e6:,.1f} MB, {rate:,.1f} MB/s "
        left = max(self.total - self.done, 0) * elapsed / self.done if self.done else 0.0
        return (f"cloudlab-lint: history {self.done:,}/{self.total:,} blobs, {self.bytes / 1e6:,.1f} MB, "
                f"{rate:,.1f} MB/s, ETA {left:,.0f} s ")

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


class Worker:
    """A forked process applying `work` to blobs as they are handed to it, while this process goes on
    streaming: detection on one core, `git cat-file` and the filtering on the other. Fork it before any thread
    or pipe to git exists (a git reader's input end held by the child would keep git from ever seeing its
    end).

    `work(oid, data, scan)` is called in the child for every blob handed over (`scan`: as `put` was told);
    what it keeps, it keeps in the child's own copy of the state it was forked with. `side`: a job the child
    runs in a thread of its own meanwhile (the history walk: parsing `git log` is CPU the streaming process
    cannot spare). `end(final, side)` runs in the child once every blob is in and `side` is done, given what
    `results(final)` sends and what `side` returned (or the exception it raised); its return value, or the
    exception it raised, is what `results` returns."""

    BATCH = 1 << 20  # bytes sent at once: fewer, larger messages

    def __init__(self, work: Callable[[str, bytes, bool], object], side: Callable[[], object] | None,
                 end: Callable[[object, object], object]) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_work, args=(child, work, side, end), daemon=True)
        self.process.start()
        child.close()
        self.batch: list[tuple[str, bytes, bool]] = []
        self.size = 0

    def put(self, oid: str, data: bytes, scan: bool = True) -> None:
        self.batch.append((oid, data, scan))
        self.size += len(data)
        if self.size >= self.BATCH:
            self._send()

    def _send(self) -> None:
        if self.batch:
            self.conn.send(self.batch)
            self.batch, self.size = [], 0

    def results(self, final: object = None) -> object:
        """What `end(final, side)` returned in the child (an exception it raised is returned, not raised)."""
        try:
            self._send()
            self.conn.send((final,))
            out = self.conn.recv()
        except (EOFError, OSError):
            raise RuntimeError("the history detection process failed: its blobs were not scanned") from None
        finally:
            self.close()
        return out

    def close(self) -> None:
        self.conn.close()
        if self.process.is_alive():
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _work(conn: Any, work: Callable[[str, bytes, bool], object], side: Callable[[], object] | None,
          end: Callable[[object, object], object]) -> None:
    side_out: list[object] = []
    thread = None
    if side is not None:
        thread = threading.Thread(target=_run_side, args=(side, side_out), daemon=True)
        thread.start()
    try:
        while True:
            batch = conn.recv()
            if isinstance(batch, tuple):  # (final,): every blob is in
                break
            for oid, data, scan in batch:
                work(oid, data, scan)
        if thread is not None:
            thread.join()
        try:
            out = end(batch[0], side_out[0] if side_out else None)
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            out = exc
        conn.send(out)
    except (EOFError, OSError):
        pass  # the parent stopped (it says so itself)
    except Exception:  # noqa: BLE001 - never a traceback from a child: the parent reports the failure
        pass
    finally:
        conn.close()


def _run_side(side: Callable[[], object], out: list[object]) -> None:
    try:
        out.append(side())
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        out.append(exc)
