"""Parsers that keep line marks: YAML, TOML, JSON, INI, dotenv, shell command lines."""

from __future__ import annotations

from ..record import record


@record
class ParseError(Exception):
    """A file that cannot be parsed; becomes one CL000 finding at `line`."""

    message: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return self.message
