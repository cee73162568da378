"""Parsers that keep line marks: YAML (yamlx; yamlnodes with comments), TOML and JSON (structured), INI, dotenv,
HCL2 (hcl), shell command lines (shell). Pure text in, values with their lines out, no knowledge of what the
file is for; a text a parser refuses raises `ParseError`."""

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
