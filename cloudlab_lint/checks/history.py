"""CL006 history-secrets: the gate before the first push, over every blob reachable from any ref."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from typing import Any

from .. import linear
from ..model import Hit, Location
from ..record import record
from . import Context, check

# Content that CL002's content tests need; other blobs get only its name tests (an age key also in base64).
# A kubeconfig or talosconfig (YAML or JSON) holds `users` or `contexts` on a line of its own.
_CL002_HINTS = (b"AGE-SECRET-KEY-1", b'"terraform_version"', b"kind: Config", b"users:", b'"users"', b"contexts:",
                b'"contexts"')

_CL002_HINT = linear.lazy(b"|".join(linear.escape(h) for h in _CL002_HINTS))  # one pass, not one per hint

Found = tuple[tuple[str, ...], str, Hit]  # (what the leak is, the commit that added it, the hit)


@record(mutable=True)
class Tally:
    blobs: int = 0
    scanned: int = 0
    bytes: int = 0
    binary: int = 0
    oversize: int = 0
    missing: int = 0
    excluded: int = 0


@check("history-secrets")
def history_secrets(ctx: Context) -> Iterator[Hit]:
    from ..gitcmd import GitError
    from ..stack.history import BlobStreams, Progress, walk
    from .secrets import scanner_for

    repo = ctx.repo
    if not repo.is_git:
        yield Hit("not a git repository: there is no history to scan, so the history gate cannot pass",
                  Location(".git", 1), key="no-git")
        return
    scan = _Scan(ctx, scanner_for(ctx.params))
    max_bytes = int(ctx.params.get("max_blob_bytes") or repo.max_bytes)
    revs = ctx.options.history_revs
    judged: list[Hit] | None = None  # the hits, when the detection process judged every blob itself
    try:
        if revs is None:
            history, judged = _stream_all(ctx, scan, max_bytes)
        else:
            # A range or a push: the walk names the few blobs it added, and only those are read.
            history = walk(repo.root, revs)
            streams = BlobStreams(repo.root, 1, history.blobs)
            streams.start()
            _stream(scan, streams.read(0, max_bytes, stream=True), Progress(0, False), None)
    except GitError as exc:
        yield Hit(f"object missing/corrupt repository: git could not walk the history ({exc}), so the history "
                  "gate cannot pass; run `git fsck` and scan a sound clone", Location(".git", 1), key="corrupt")
        return
    if history.shallow:
        yield Hit("this is a shallow clone: commits before the cut were not scanned, so the history gate cannot "
                  "pass; run it on a full clone (`git fetch --unshallow`)", Location(".git/shallow", 1),
                  key="shallow")
    if history.partial:
        yield Hit("this is a partial clone: blobs that were never fetched were not scanned, so the history gate "
                  "cannot pass; run it on a full clone", Location(".git/config", 1), key="partial")
    yield from (judged if judged is not None else scan.finish(history))
    t = scan.tally
    if t.missing and not history.partial:
        oid, path = scan.missing_example
        yield Hit(f"object missing/corrupt repository: {t.missing:,} blob(s) that commits name are not in this "
                  f"clone (such as {oid[:12]} at `{path}`), and it is not a partial clone, so they were not "
                  "scanned and the history gate cannot pass; run `git fsck` and scan a sound clone",
                  Location(".git", 1), key="missing")
    why = "partial clone" if history.partial else "object missing/corrupt repository"
    scope = "" if revs is None else f" in {ctx.options.history_scope}"
    repo.notes.append(
        f"CL006{scope}: {history.commits:,} commits, {t.blobs:,} distinct blobs, {t.scanned:,} scanned "
        f"({t.bytes / 1e6:,.1f} MB), among them {t.binary:,} binary and {t.oversize:,} over {max_bytes:,} bytes "
        f"(read all the same)"
        + (f", {t.missing:,} missing ({why})" if t.missing else "")
        + (f", {t.excluded:,} only at excluded paths" if t.excluded else ""))


def _stream_all(ctx: Context, scan: _Scan, max_bytes: int) -> tuple[Any, list[Hit] | None]:
    """Every blob present, streamed while `git log` walks every ref (their work overlaps): (the walk, None),
    or, when a second process detected and judged (`_Scan.finish_there`), (the walk without its blobs, the
    hits)."""
    from ..stack.history import BlobStreams, Progress, Worker, walk
    from ..stack.novelty import Helper

    repo = ctx.repo
    # Detection on the other core while this one streams and filters (forked first: see Worker).
    # The walk goes with it: its `git log` parse would take the GIL from the stream here, and the stream
    # needs no path (the filter reads content only); `finish` needs the walk, after the stream.
    # It judges every blob too, once the stream is done: the walk (tens of thousands of paths and commits)
    # stays there, and only the hits come back.
    worker = (Worker(scan.hand, functools.partial(scan.walk_there, walk, repo.root), scan.finish_there)
              if _pipeline(repo.root) else None)
    # Optionally (parallel_min_blobs) a helper process reads and filters about half of the blobs, from its own
    # `git cat-file`, on another core; it is forked first, before any thread exists.
    parts = 2 if _parallel(repo.root, int(ctx.params.get("parallel_min_blobs") or 0)) else 1
    streams = BlobStreams(repo.root, parts)
    helper = (Helper(scan.filter, streams.output(1), streams.foreign(1), max_bytes, scan.scanner.scan_chunks)
              if parts > 1 else None)
    if helper is not None:
        streams.output(1).close()  # the helper's now
    streams.start()
    walked: list[Any] = []
    walker = None
    if worker is None:
        walker = threading.Thread(target=_walk_into, args=(walk, repo.root, walked), daemon=True)
        walker.start()
    try:
        # Every blob whatever its size: one over `max_bytes` is scanned as it streams, never held whole.
        _stream(scan, streams.read(0, max_bytes, stream=True), Progress(0, ctx.options.progress), walked, parts,
                worker)
        if helper is not None:
            more_kinds, more_flagged, more_streamed = helper.finish()
            helper = None
            scan.kinds.update(more_kinds)
            scan.flagged.update(more_flagged)
            scan.streamed.update(more_streamed)
            if worker is not None:
                for oid, data in more_flagged.items():
                    worker.put(oid, data)
        if worker is not None:
            done = worker.results((scan.kinds, scan.streamed))
            worker = None
            if isinstance(done, BaseException):
                raise done
            history, hits, scan.tally, scan.missing_example = done
            return history, hits
    finally:
        if helper is not None:
            helper.abort()
        if worker is not None:
            worker.close()
    if walker is not None:
        walker.join()
    history = walked[0]
    if isinstance(history, BaseException):
        raise history
    return history, None


def _stream(scan: _Scan, blobs: Iterator[tuple[str, Any, int]], progress: Any, walked: list[Any] | None,
            parts: int = 1, worker: Any = None) -> None:
    """What each streamed blob is, and the text blobs whose new lines need a content test (`walked`: the walk,
    once done, in a list; None when it is done before the stream starts)."""
    from ..stack.novelty import take

    # The filter compares each blob with the last clean version at its path, known once the walk is done
    # (before that, with the last clean blob that starts with the same bytes).
    uses: dict[str, list[Any]] | None = None
    kinds, flagged, streamed, filt = scan.kinds, scan.flagged, scan.streamed, scan.filter  # once per blob
    judged = scan.judged
    scan_stream = scan.scanner.scan_chunks
    try:
        for oid, data, size in blobs:
            if progress.enabled:
                progress.step(size)
            # What each blob is; counted in `finish` once the walk says it is wanted.
            if uses is None and walked:
                uses = _uses(walked[0])
                progress.total = len(uses) // parts  # with the helper, about our share
            at = uses.get(oid) if uses is not None else None
            take(oid, data, size, at[0].path if at else None, filt, scan_stream, kinds, flagged, streamed, judged)
            if worker is not None and oid in flagged:
                # Normalised, as `finish` would scan it; judged there, and scanned unless no detector can
                # find anything in it (`judged`).
                worker.put(oid, flagged.pop(oid), oid not in judged)
    finally:
        progress.close()


def _uses(history: Any) -> dict[str, list[Any]]:
    """oid -> its uses, from the walk (nothing when the walk failed: its error is raised later)."""
    from ..stack.history import History

    return history.blobs if isinstance(history, History) else {}


def _walk_into(walk: Any, root: Any, out: list[Any]) -> None:
    try:
        out.append(walk(root))
    except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
        out.append(exc)


PIPELINE_MIN_BYTES = 8 << 20  # packed objects: below this, the fork and the handing over cost more than they save


def _pipeline(root: Any) -> bool:
    """Whether detection runs in a second process: two cores, not refused (CLOUDLAB_LINT_JOBS=1), and a
    history large enough to pay, by its packed bytes (the work), not by its count of commits or files."""
    from ..gitcmd import git

    if os.environ.get("CLOUDLAB_LINT_JOBS", "").strip() == "1" or (os.cpu_count() or 1) < 2:
        return False
    counts = dict(line.split(b": ", 1) for line in git(root, "count-objects", "-v").splitlines() if b": " in line)
    return (int(counts.get(b"size", 0)) + int(counts.get(b"size-pack", 0))) * 1024 >= PIPELINE_MIN_BYTES


def _parallel(root: Any, threshold: int) -> bool:
    """Whether a helper process reads half of the blobs: asked for, two cores, and enough objects to pay."""
    from ..gitcmd import git

    if threshold <= 0 or (os.cpu_count() or 1) < 2:
        return False
    counts = dict(line.split(b": ", 1) for line in git(root, "count-objects", "-v").splitlines() if b": " in line)
    objects = int(counts.get(b"count", 0)) + int(counts.get(b"in-pack", 0))
    return objects >= 2 * threshold  # about half of the objects are blobs


def history_filter(scanner: Any) -> Any:
    """CL006's filter for `scanner`: every keyword of every test, all within a line (a blob that holds none
    needs no content test). What only the judge needs (CL002's content hints, `sops`) is kept apart: a blob
    that holds none of the detectors' keywords is judged whole but never scanned."""
    from ..stack.detectors import B64_LITERALS, FILTER_LITERALS, FILTER_PATTERNS
    from ..stack.novelty import NoveltyFilter

    return NoveltyFilter((*FILTER_LITERALS, *B64_LITERALS, *scanner.line_literals),
                         (*FILTER_PATTERNS, *scanner.line_patterns), scanner.ds_always,
                         judge=(*_CL002_HINTS, b"sops"))


class _Scan:
    """What CL006 asks of each blob: CL002 and CL005 on it, and the plaintext-before-encrypted test."""

    def __init__(self, ctx: Context, scanner: Any) -> None:
        from ..stack.secrets import load_baseline
        from ..stack.sops.model import sops_config

        self.ctx = ctx
        self.scanner = scanner
        self.exclude = tuple(ctx.config.exclude)
        self.baseline = load_baseline(ctx.repo, str(ctx.params.get("baseline_file") or ""))
        self.sops = sops_config(ctx.repo) if ctx.params.get("check_encryption", True) else None
        self.check_encryption = bool(ctx.params.get("check_encryption", True))
        self.tally = Tally()
        self.missing_example: tuple[str, str] = ("", "")  # a blob the walk names that is not here, and its path
        self.order: dict[str, int] = {}  # commit -> topological place, once the walk is done
        self.kinds: dict[str, tuple[str, int]] = {}  # oid -> (kind, size) of every streamed blob
        self.flagged: dict[str, bytes] = {}  # blobs whose content needs testing (normalised)
        self.detections: dict[str, list[Any]] = {}  # oid -> what the detectors found, when found beforehand
        self.secretish: dict[str, bool] = {}  # oid -> whether it may be a Secret (`secret_kind`), likewise
        self.judged: set[str] = set()  # flagged blobs in which no detector can find anything (never scanned)
        # In the pipeline's second process: the walk once done, the flagged blobs judged as they came.
        self.walked: Any = None
        self.unjudged: list[str] = []
        self.prejudged: set[str] = set()
        self.streamed: dict[str, Any] = {}  # oid -> the scan of a blob over the size limit or binary (`Scanned`)
        # Blobs arrive in pack order: keep, for each leak, the hit at the earliest commit.
        self.best: dict[tuple[str, ...], tuple[int, Hit]] = {}
        # Every keyword of every test, all within a line: a blob whose new lines hold none needs no content test.
        self.filter = history_filter(scanner)
        self.by_name: dict[str, tuple[str, int] | None] = {}  # CL002 by name alone, per path
        self.required: dict[str, str | None] = {}  # CL004 by path alone, per path
        self.quiet: dict[str, bool] = {}  # neither of the two, per path

    def wanted(self, uses: list[Any]) -> bool:
        from ..globs import match_any

        return not self.exclude or any(not match_any(u.path, self.exclude) for u in uses)

    def hits(self) -> Iterator[Hit]:
        for _order, hit in self.best.values():
            yield hit

    def finish(self, history: Any) -> Iterator[Hit]:
        """Judge every wanted blob at its paths: the flagged ones whole, the others by their paths alone."""
        self.order = history.order
        t = self.tally
        kinds, flagged, quiet, prejudged = self.kinds, self.flagged, self.quiet, self.prejudged
        for oid, uses in history.blobs.items():
            if self.exclude and not self.wanted(uses):
                t.excluded += 1
                continue
            kind, size = kinds.get(oid, ("missing", 0))
            t.blobs += 1
            if kind == "missing":
                t.missing += 1
                if not self.missing_example[0]:
                    self.missing_example = (oid, uses[0].path)
                continue
            t.scanned += 1
            t.bytes += size
            if kind in ("oversize", "binary"):  # content scanned as it streamed: its detections only
                t.oversize += kind == "oversize"
                t.binary += kind == "binary"
                scanned = self.streamed.get(oid)
                self.judge(b"", True, uses, detections=scanned.detections if scanned is not None else [])
            else:
                data = flagged.get(oid)
                if data is not None:
                    if oid not in prejudged:
                        self.judge(data, False, uses, oid=oid)
                elif len(uses) == 1 and quiet.get(uses[0].path):
                    continue  # the common case (judge's first test, inlined: it runs for nearly every blob)
                else:
                    self.judge(b"", True, uses, path_only=True)  # no keyword of any test: what the path says
        yield from self.hits()

    def judge(self, data: bytes, binary: bool, uses: list[Any], *, path_only: bool = False,
              detections: list[Any] | None = None, oid: str = "") -> None:
        """Every test on one blob; `path_only` when its content holds no keyword of any test. `binary`: a
        binary blob or one over the size limit, given with its `detections` (its content is not text)."""
        if path_only and all(self._quiet_path(use.path) for use in uses):
            return  # the common case: nothing to say about this path by its name
        if detections is None and not path_only:
            # Found in the pipeline's second process, or now.
            if oid in self.detections:
                detections = self.detections[oid]
            else:
                detections = [] if oid in self.judged else self.detect(oid, data)
        for hit_key, commit, hit in self._forbidden(data, binary, uses, detections or [], path_only):
            self._offer(hit_key, commit, hit)
        if self.check_encryption:
            for hit_key, commit, hit in self._plaintext_before_encrypted(data, binary, uses, oid):
                self._offer(hit_key, commit, hit)
        if detections:
            for hit_key, commit, hit in self._secrets(detections, uses):
                self._offer(hit_key, commit, hit)

    def hand(self, oid: str, data: bytes, scan: bool) -> None:
        """In the pipeline's second process: a flagged blob, `scan`ned by the detectors unless no detector
        can find anything in it, and whether it may be a Secret; judged at once when the walk is done (it
        says where the blob is), else once it is (`finish` judges the rest)."""
        from ..stack.novelty import secret_kind

        self.flagged[oid] = data
        if scan:
            self.detections[oid] = self.detect(oid, data)
        else:
            self.judged.add(oid)
        self.secretish[oid] = secret_kind(data)
        self.unjudged.append(oid)
        walked = self.walked
        if walked is None:
            return
        self.order = walked.order
        blobs, flagged, unjudged = walked.blobs, self.flagged, self.unjudged
        while unjudged:
            oid = unjudged.pop()
            uses = blobs.get(oid)
            if uses is None or self.exclude and not self.wanted(uses):
                continue  # no ref reaches it, or only excluded paths: `finish` says so
            self.judge(flagged[oid], False, uses, oid=oid)
            self.prejudged.add(oid)

    def walk_there(self, walk: Any, root: Any) -> Any:
        """In the pipeline's second process (a thread of its own): the walk, then what each of its paths
        says by its name alone (asked of nearly every blob), while the stream still goes on."""
        history = walk(root)
        self.walked = history
        seen: set[str] = set()
        for uses in history.blobs.values():
            for use in uses:
                if use.path not in seen:
                    seen.add(use.path)
                    self._quiet_path(use.path)
        return history

    def finish_there(self, final: Any, history: Any) -> tuple[Any, list[Hit], Tally, tuple[str, str]]:
        """In the pipeline's second process, once every blob is in: `finish` on the walk (`history`, or the
        exception it raised), given what the stream found (`final`: kinds and the streamed scans). Returns
        the walk without its blobs, the hits, the tally and a missing blob's example."""
        from ..stack.history import History

        if isinstance(history, BaseException):
            raise history
        self.kinds, self.streamed = final
        hits = list(self.finish(history))
        bare = History(commits=history.commits, shallow=history.shallow, partial=history.partial)
        return bare, hits, self.tally, self.missing_example

    def detect(self, oid: str, data: bytes) -> list[Any]:
        """What the detectors find in one blob (whole: context such as `kind: Config` may be anywhere)."""
        return self.scanner.scan(data)

    def _quiet_path(self, path: str) -> bool:
        """Neither CL002 by name nor CL004 by path says anything about `path` (asked once per path)."""
        quiet = self.quiet.get(path)
        if quiet is None:
            from ..stack.sops.model import encryption_required
            from .hygiene import classify_text

            quiet = classify_text(path, None) is None and (
                not self.check_encryption or encryption_required(path, None, self.sops) is None)
            self.quiet[path] = quiet
        return quiet

    def _text(self, data: bytes) -> str:
        from ..repo import decode

        try:
            return decode(data)
        except UnicodeDecodeError:
            return data.decode("utf-8", "replace")

    def _forbidden(self, data: bytes, binary: bool, uses: list[Any], detections: list[Any],
                   path_only: bool = False) -> Iterator[Found]:
        from .hygiene import AGE_KEY_FILE, classify_text, needs_content

        hinted = not binary and _CL002_HINT.search(data) is not None
        # An age key in a binary blob, one over the size limit, or base64-encoded: what the detectors found.
        age = next((d.line for d in detections if d.detector == "age-secret-key"), None)
        text: str | None = None
        for use in uses:
            if path_only and needs_content(use.path):
                continue  # no `users`/`contexts`/key keyword in it: no credential in clear, whatever its name
            if use.path not in self.by_name:
                self.by_name[use.path] = classify_text(use.path, None)
            verdict = self.by_name[use.path]
            if verdict is not None or hinted:
                if text is None and not binary:
                    text = self._text(data)
                verdict = classify_text(use.path, text, age_line=age)
            elif age is not None:
                verdict = AGE_KEY_FILE, age
            if verdict is None:
                continue
            what, line = verdict
            yield ("CL002", what, use.path), use.commit, Hit(
                f"{what} in history: commit {use.commit[:12]} added `{use.path}`; it must never be committed: "
                f"rotate what it held and rewrite history before pushing",
                Location(use.path, line), key=f"CL002:{what}:{use.commit}", commit=use.commit)

    def _plaintext_before_encrypted(self, data: bytes, binary: bool, uses: list[Any], oid: str = ""
                                    ) -> Iterator[Found]:
        from ..stack.novelty import secret_kind
        from ..stack.sops.model import encryption_required, is_sops_text

        is_secret = not binary and (self.secretish[oid] if oid in self.secretish else secret_kind(data))
        if not is_secret:
            for use in uses:
                if use.path not in self.required:
                    self.required[use.path] = encryption_required(use.path, None, self.sops)
            if all(self.required[use.path] is None for use in uses):
                return  # by path alone nothing to say: whether it is a SOPS file does not matter
        text = self._text(data) if not binary and (is_secret or b"sops" in data) else None
        if text is not None and "sops" in text and is_sops_text(text):
            return
        content = text if is_secret else None
        for use in uses:
            if content is None:
                # By path alone: the same answer for every version, so asked once per path.
                if use.path not in self.required:
                    self.required[use.path] = encryption_required(use.path, None, self.sops)
                reason = self.required[use.path]
            else:
                reason = encryption_required(use.path, content, self.sops, files=self.ctx.repo.file_set)
            if reason is None:
                continue
            yield ("CL004", use.path), use.commit, Hit(
                f"`{use.path}` must be SOPS-encrypted ({reason}) but commit {use.commit[:12]} added it in "
                f"plaintext; the plaintext stays in history: rotate what it held and rewrite history before "
                f"pushing", Location(use.path, 1), key=f"plaintext:{use.commit}", commit=use.commit)

    def _secrets(self, detections: list[Any], uses: list[Any]) -> Iterator[Found]:
        from ..stack.secrets import secret_hash

        # A keyword in a new line: the whole blob was scanned (context such as `kind: Config` may be elsewhere).
        for detection in detections:
            digest = secret_hash(detection.value)
            for use in uses:
                if self.baseline.excluded(use.path) or self.baseline.known(use.path, detection):
                    continue
                # The same secret in later versions of the file is the same leak: its first commit only.
                yield ("CL005", detection.detector, digest, use.path), use.commit, Hit(
                    f"plaintext {detection.title} (detector `{detection.detector}`) in history: commit "
                    f"{use.commit[:12]} added it to `{use.path}`; rotate it and rewrite history before pushing",
                    Location(use.path, detection.line, detection.column),
                    key=f"{detection.detector}:{digest}:{use.commit}", commit=use.commit)

    def _offer(self, key: tuple[str, ...], commit: str, hit: Hit) -> None:
        """Keep the hit from the earliest commit (topological order) for each leak."""
        rank = self.order.get(commit, len(self.order))
        if key not in self.best or rank < self.best[key][0]:
            self.best[key] = (rank, hit)
