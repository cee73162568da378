"""`--output FILE | FORMAT=FILE` (repeatable): one analysis, several reports."""

from __future__ import annotations

import argparse
from pathlib import Path

from .errors import UsageError
from .reporters import FORMATS

STDOUT = "-"


def output_spec(text: str) -> tuple[str | None, str]:
    """`sarif=out.sarif` -> ("sarif", "out.sarif"); a plain `FILE` -> (None, "FILE") (its format is --format's).

    A file whose name really starts with `sarif=` is written `./sarif=x`."""
    fmt, sep, path = text.partition("=")
    if sep and fmt in FORMATS:
        if not path:
            raise argparse.ArgumentTypeError(f"{text!r}: FORMAT=FILE needs a file name (`-` for stdout)")
        return fmt, path
    if not text:
        raise argparse.ArgumentTypeError("--output needs a file name")
    return None, text


def plan_outputs(specs: list[tuple[str | None, str]], fmt: str) -> list[tuple[str, Path | None]]:
    """(format, file or None for stdout) for every report asked for, stdout at most once.

    The `--format` report goes to the one plain `--output FILE`, else to stdout unless a `FORMAT=-` took it."""

    plain = [path for f, path in specs if f is None]
    if len(plain) > 1:
        raise UsageError("--output: give one plain FILE (it takes --format's report); more reports as FORMAT=FILE")
    out: list[tuple[str, Path | None]] = []
    seen: set[str] = set()
    for f, path in [(fmt, plain[0])] if plain else []:
        out.append((f, None if path == STDOUT else Path(path)))
    for f, path in specs:
        if f is not None:
            out.append((f, None if path == STDOUT else Path(path)))
    if not any(target is None for _, target in out) and not plain:
        out.insert(0, (fmt, None))
    for _, target in out:
        key = STDOUT if target is None else str(target)
        if key in seen:
            raise UsageError(f"--output: {'stdout' if target is None else target} is named twice")
        seen.add(key)
    return out
