"""The error every command turns into one line on stderr and exit 2 (usage, configuration, environment)."""

from __future__ import annotations


class UsageError(RuntimeError):
    """Usage, configuration or environment error: one line on stderr, exit 2."""
