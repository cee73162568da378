"""What everything a commit hook keeps depends on besides the files: this tool's code and the YAML parser.

Asked of the files, not by importing them: a hook that parses nothing never loads PyYAML."""

from __future__ import annotations

import functools
import os
from typing import Any


@functools.cache
def code_identity() -> tuple[Any, ...]:
    """Every module of the package (size and time) and the installed PyYAML, with or without libyaml."""
    from importlib.util import find_spec

    from .. import __version__

    stamps = []
    base = os.path.dirname(os.path.dirname(__file__))  # the package, every subpackage included
    folders = [base]
    while folders:
        for entry in os.scandir(folders.pop()):
            if entry.is_dir() and not entry.name.startswith("__"):
                folders.append(entry.path)
            elif entry.name.endswith(".py"):
                st = entry.stat()
                stamps.append((entry.path[len(base):], st.st_size, st.st_mtime_ns))
    spec = find_spec("yaml")  # finds the package without running it
    yaml_files: tuple[Any, ...] = ()
    if spec is not None and spec.submodule_search_locations:
        folder = list(spec.submodule_search_locations)[0]
        with os.scandir(folder) as entries:
            yaml_files = tuple(sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in entries
                                      if e.name == "__init__.py" or e.name.startswith("_yaml")))
    return __version__, tuple(sorted(stamps)), yaml_files
