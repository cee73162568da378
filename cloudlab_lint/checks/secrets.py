"""CL005 no-plaintext-secrets: tracked or staged files hold no plaintext secret."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..model import Hit, Location
from . import Context, check

if TYPE_CHECKING:
    from ..stack.detectors import Detection

FIX = "remove it (rotate it if it was ever pushed) and keep it in a SOPS-encrypted file"


def scanner_for(params: Any) -> Any:
    """The scanner the rule's parameters ask for (shared by CL005 and CL006)."""
    from ..stack.secrets import Scanner

    detectors = params.get("detectors")
    return Scanner(detectors=list(detectors) if detectors is not None else None,
                   plugins=list(params.get("detect_secrets_plugins") or ()))


def message(detection: Detection) -> str:
    """Names the detector, never the value (the location gives the file and line)."""
    return f"plaintext {detection.title} (detector `{detection.detector}`): {FIX}"


def fingerprint_key(detection: Detection) -> str:
    """Stable when the line moves or is re-indented; the engine hashes it again, the value never shows."""
    from ..stack.secrets import secret_hash

    return f"{detection.detector}:{secret_hash(detection.value)}"


@check("no-plaintext-secrets")
def no_plaintext_secrets(ctx: Context) -> Iterator[Hit]:
    from ..stack.secrets import load_baseline

    repo = ctx.repo
    scanner = scanner_for(ctx.params)
    baseline_name = str(ctx.params.get("baseline_file") or "")
    baseline = None
    for path in ctx.files:
        if path == baseline_name:
            continue
        chunks = repo.stream(path)  # every byte, whatever the size or encoding; None: missing, a link (noted)
        if chunks is None:
            continue
        scanned = scanner.scan_chunks(chunks)
        if scanned.truncated:
            repo.notes.append(f"{path}: CL005 stopped counting at {len(scanned.detections):,} secrets in this file")
        if not scanned.detections:
            continue
        if baseline is None:
            baseline = load_baseline(repo, baseline_name)
        if baseline.excluded(path):
            continue
        for detection in scanned.detections:
            if baseline.known(path, detection):
                continue
            yield Hit(message(detection), Location(path, detection.line, detection.column),
                      key=fingerprint_key(detection))
