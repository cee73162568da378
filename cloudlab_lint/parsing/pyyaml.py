"""PyYAML, imported for the whole tool here, without its one slow import-time step.

`yaml.reader` compiles, when it is imported, a regular expression of every non-printable character
for its pure-Python reader: ~10 ms, a twentieth of a commit hook. We parse with libyaml's reader,
so that expression is compiled when first used instead (only where libyaml is missing). Should
PyYAML ever spell it differently, it is simply compiled at import again.
"""

from __future__ import annotations

import re
import sys
from types import ModuleType
from typing import Any

SLOW = "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]"


class Deferred:
    """A pattern compiled on first use."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._args = (pattern, flags)
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:
            self._compiled = re.compile(*self._args)
        return getattr(self._compiled, name)


def _load() -> ModuleType:
    if "yaml" in sys.modules:
        return sys.modules["yaml"]
    compile_ = re.compile

    def deferring(pattern: Any, flags: int = 0) -> Any:
        return Deferred(pattern, flags) if pattern == SLOW else compile_(pattern, flags)

    re.compile = deferring  # type: ignore[assignment]
    try:
        import yaml
    finally:
        re.compile = compile_
    return yaml


yaml = _load()
