"""CL006 history-secrets: the gate before the first push, over every blob reachable from any ref."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..model import Hit, Location
from . import Context, check

# Content that CL002's content tests need; other blobs get only its name tests.
_CL002_HINT = re.compile(rb"AGE-SECRET-KEY-1|\"terraform_version\"|kind: Config|contexts:")


@dataclass
class Tally:
    blobs: int = 0
    scanned: int = 0
    bytes: int = 0
    binary: int = 0
    oversize: int = 0
    missing: int = 0
    excluded: int = 0
    reported: set[tuple[str, ...]] = field(default_factory=set)


@check("history-secrets")
def history_secrets(ctx: Context) -> Iterator[Hit]:
    from ..stack.history import Progress, local_objects, read_blobs, walk
    from .secrets import scanner_for

    repo = ctx.repo
    if not repo.is_git:
        yield Hit("not a git repository: there is no history to scan, so the history gate cannot pass",
                  Location(".git", 1), key="no-git")
        return
    history = walk(repo.root)
    if history.shallow:
        yield Hit("this is a shallow clone: commits before the cut were not scanned, so the history gate cannot "
                  "pass; run it on a full clone (`git fetch --unshallow`)", Location(".git/shallow", 1),
                  key="shallow")
    if history.partial:
        yield Hit("this is a partial clone: blobs that were never fetched were not scanned, so the history gate "
                  "cannot pass; run it on a full clone", Location(".git/config", 1), key="partial")
    ctx_scan = _Scan(ctx, scanner_for(ctx.params))
    oids = [oid for oid, uses in history.blobs.items() if ctx_scan.wanted(uses)]
    ctx_scan.tally.excluded = len(history.blobs) - len(oids)
    if history.partial:
        present = local_objects(repo.root)
        ctx_scan.tally.missing = sum(1 for o in oids if o not in present)
        oids = [o for o in oids if o in present]
    max_bytes = int(ctx.params.get("max_blob_bytes") or repo.max_bytes)
    progress = Progress(len(oids), ctx.options.progress)
    try:
        for oid, data, size in read_blobs(repo.root, oids, max_bytes):
            progress.step(size)
            yield from ctx_scan.blob(data, size, history.blobs[oid], max_bytes)
    finally:
        progress.close()
    t = ctx_scan.tally
    repo.notes.append(
        f"CL006: {history.commits:,} commits, {t.blobs:,} distinct blobs, {t.scanned:,} scanned "
        f"({t.bytes / 1e6:,.1f} MB); skipped {t.binary:,} binary, {t.oversize:,} over {max_bytes:,} bytes"
        + (f", {t.missing:,} missing (partial clone)" if t.missing else "")
        + (f", {t.excluded:,} only at excluded paths" if t.excluded else ""))


class _Scan:
    """What CL006 asks of each blob: CL002 and CL005 on it, and the plaintext-before-encrypted test."""

    def __init__(self, ctx: Context, scanner: Any) -> None:
        from ..stack.secrets import load_baseline
        from ..stack.sops import sops_config

        self.ctx = ctx
        self.scanner = scanner
        self.exclude = tuple(ctx.config.exclude)
        self.baseline = load_baseline(ctx.repo, str(ctx.params.get("baseline_file") or ""))
        self.sops = sops_config(ctx.repo) if ctx.params.get("check_encryption", True) else None
        self.check_encryption = bool(ctx.params.get("check_encryption", True))
        self.tally = Tally()

    def wanted(self, uses: list[Any]) -> bool:
        from ..globs import match_any

        return not self.exclude or any(not match_any(u.path, self.exclude) for u in uses)

    def blob(self, data: bytes | None, size: int, uses: list[Any], max_bytes: int) -> Iterator[Hit]:
        from ..repo import decode, is_binary

        t = self.tally
        t.blobs += 1
        text: str | None = None
        if data is None:
            if size > max_bytes:
                t.oversize += 1
            return
        if is_binary(data):
            t.binary += 1
        else:
            t.scanned += 1
            t.bytes += size
            try:
                text = decode(data)
            except UnicodeDecodeError:
                text = data.decode("utf-8", "replace")
        yield from self._forbidden(data, text, uses)
        if self.check_encryption:
            yield from self._plaintext_before_encrypted(data, text, uses)
        if text is not None and self.scanner.may_hold(data):
            yield from self._secrets(data, text, uses)

    def _forbidden(self, data: bytes, text: str | None, uses: list[Any]) -> Iterator[Hit]:
        from .hygiene import classify_text

        content = text if text is not None and _CL002_HINT.search(data) else None
        for use in uses:
            verdict = classify_text(use.path, None)
            if verdict is not None or content is not None:
                verdict = classify_text(use.path, text)
            if verdict is None:
                continue
            what, line = verdict
            if self._once("CL002", what, use.path):
                yield Hit(f"{what} in history: commit {use.commit[:12]} added `{use.path}`; it must never be "
                          f"committed: rotate what it held and rewrite history before pushing",
                          Location(use.path, line), key=f"CL002:{what}:{use.commit}")

    def _plaintext_before_encrypted(self, data: bytes, text: str | None, uses: list[Any]) -> Iterator[Hit]:
        from ..stack.sops import encryption_required, is_sops_text

        if text is not None and is_sops_text(text):
            return
        content = text if text is not None and b"Secret" in data else None
        for use in uses:
            reason = encryption_required(use.path, content, self.sops)
            if reason is None:
                continue
            if self._once("CL004", use.path):
                yield Hit(f"`{use.path}` must be SOPS-encrypted ({reason}) but commit {use.commit[:12]} added it in "
                          f"plaintext; the plaintext stays in history: rotate what it held and rewrite history "
                          f"before pushing", Location(use.path, 1), key=f"plaintext:{use.commit}")

    def _secrets(self, data: bytes, text: str, uses: list[Any]) -> Iterator[Hit]:
        from ..stack.secrets import secret_hash

        detections = self.scanner.scan(data, text)
        for detection in detections:
            digest = secret_hash(detection.value)
            for use in uses:
                if self.baseline.excluded(use.path) or self.baseline.known(use.path, detection):
                    continue
                # The same secret in later versions of the file is the same leak: name its first commit only.
                if self._once("CL005", detection.detector, digest, use.path):
                    yield Hit(f"plaintext {detection.title} (detector `{detection.detector}`) in history: commit "
                              f"{use.commit[:12]} added it to `{use.path}`; rotate it and rewrite history before "
                              f"pushing", Location(use.path, detection.line, detection.column),
                              key=f"{detection.detector}:{digest}:{use.commit}")

    def _once(self, *key: str) -> bool:
        if key in self.tally.reported:
            return False
        self.tally.reported.add(key)
        return True
